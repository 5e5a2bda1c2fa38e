// Structured JSON logs with pino: one object per line, fields named as Kratos
// names them where they overlap (service.name, trace_id, span_id).
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  name: string;
  level?: string;
  /** A file path or fd; default stdout. */
  destination?: string | number;
  /** Extra fields on every line (service.version, instance id). */
  base?: Record<string, unknown>;
}

const rawWriters = new WeakMap<Logger, (line: string) => void>();

/**
 * A writer of pre-formatted JSON lines to a logger's destination, or undefined for
 * loggers not made by createLogger. The access log uses it: building its line from
 * cached pieces costs a fraction of pino's generic serialization, per request.
 */
export function rawLineWriter(logger: Logger): ((line: string) => void) | undefined {
  return rawWriters.get(logger);
}

/** The bindings pino writes on every line of this logger (`,"service.name":"x",...`). */
export function serializedBindings(logger: Logger): string {
  return ((logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '');
}

export function createLogger(options: LoggerOptions): Logger {
  // Lines are buffered and written in 4 KiB chunks (a write per line costs a syscall
  // per request); a timer flushes what a quiet service has buffered within a second.
  const destination = pino.destination({ dest: options.destination ?? 1, sync: false, minLength: 4096 });
  const logger = pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      base: { 'service.name': options.name, ...options.base },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  );
  rawWriters.set(logger, (line) => destination.write(line));
  setInterval(() => {
    try {
      destination.flush();
    } catch {
      // not open yet (a file destination) or already closed: nothing to flush
    }
  }, 1000).unref();
  return logger;
}
