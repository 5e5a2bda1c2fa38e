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
  setInterval(() => {
    try {
      destination.flush();
    } catch {
      // not open yet (a file destination) or already closed: nothing to flush
    }
  }, 1000).unref();
  return logger;
}
