// The OpenTelemetry diagnostics (bad settings, export trouble the SDK notices) go
// to the service's own logger, at OTEL_LOG_LEVEL (default warn), never to nowhere.
// OTEL_LOG_LEVEL set also sets their level in the log, so `debug` shows the SDK's
// debug lines though the service logs at info.
import { diag, DiagLogLevel, type DiagLogger } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import type { Logger } from 'pino';
import { notExported } from '../log/logger.js';

const LEVELS: Record<string, DiagLogLevel> = {
  none: DiagLogLevel.NONE,
  error: DiagLogLevel.ERROR,
  warn: DiagLogLevel.WARN,
  info: DiagLogLevel.INFO,
  debug: DiagLogLevel.DEBUG,
  verbose: DiagLogLevel.VERBOSE,
  all: DiagLogLevel.ALL,
};

/** The pino level that lets a diag level's lines through. */
const PINO_LEVELS: Record<DiagLogLevel, string> = {
  [DiagLogLevel.NONE]: 'silent',
  [DiagLogLevel.ERROR]: 'error',
  [DiagLogLevel.WARN]: 'warn',
  [DiagLogLevel.INFO]: 'info',
  [DiagLogLevel.DEBUG]: 'debug',
  [DiagLogLevel.VERBOSE]: 'trace',
  [DiagLogLevel.ALL]: 'trace',
};

/** Routes diag to `logger` (or to the console without one), at the level OTEL_LOG_LEVEL names. */
export function routeDiagnostics(logger: Logger | undefined, env: NodeJS.ProcessEnv = process.env): void {
  const named = LEVELS[(env['OTEL_LOG_LEVEL'] ?? '').trim().toLowerCase()];
  const level = named ?? DiagLogLevel.WARN;
  if (!logger) {
    diag.setLogger(consoleDiag, { logLevel: level, suppressOverrideMessage: true });
    return;
  }
  const child = logger.child({ component: 'opentelemetry' }, named === undefined ? {} : { level: PINO_LEVELS[named] });
  const line =
    (write: (obj: object, msg: string) => void) =>
    (message: string, ...args: unknown[]) =>
      // Never exported as OTLP log records: see notExported.
      notExported(() => write(args.length > 0 ? { details: args.map(describe) } : {}, message));
  const target: DiagLogger = {
    error: line((o, m) => child.error(o, m)),
    warn: line((o, m) => child.warn(o, m)),
    info: line((o, m) => child.info(o, m)),
    debug: line((o, m) => child.debug(o, m)),
    verbose: line((o, m) => child.trace(o, m)),
  };
  diag.setLogger(target, { logLevel: level, suppressOverrideMessage: true });
  // The SDK reports some failures (a metric reader's failed run, a resource detector's)
  // through its global error handler, whose default hands diag the error as one JSON
  // string; here it is the line's `err`, as the service's own errors are, with its
  // message as the line's.
  setGlobalErrorHandler((error) =>
    notExported(() =>
      child.error(
        { err: error },
        typeof error === 'string' ? error : (error.message ?? error.name ?? 'OpenTelemetry error'),
      ),
    ),
  );
}

const consoleDiag: DiagLogger = {
  error: (m, ...a) => console.error(m, ...a),
  warn: (m, ...a) => console.warn(m, ...a),
  info: (m, ...a) => console.info(m, ...a),
  debug: (m, ...a) => console.debug(m, ...a),
  verbose: (m, ...a) => console.debug(m, ...a),
};

function describe(value: unknown): unknown {
  if (value instanceof Error) return { type: value.name, message: value.message };
  return typeof value === 'object' && value !== null ? JSON.parse(safeJson(value)) : value;
}

function safeJson(value: object): string {
  try {
    return JSON.stringify(value) ?? 'null';
  } catch {
    return JSON.stringify(String(value));
  }
}
