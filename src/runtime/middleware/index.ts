import type { Logger } from 'pino';
import type { CallObserver } from '../transport/observer.js';
import { telemetryClient, telemetryServer } from './telemetry.js';

export type { CallObserver, CallOutcome } from '../transport/observer.js';
export * from './tracing.js';
export * from './logging.js';
export * from './metrics.js';
export * from './telemetry.js';
export * from './validate.js';
export * from './ratelimit.js';
export * from './circuitbreaker.js';
export * from './retry.js';
export * from './selector.js';
export * from './jwt.js';

/**
 * The observers every generated server starts with: tracing, the access log and
 * metrics, as one (telemetryServer); tracingServer, loggingServer and metricsServer
 * are the same steps one by one, for servers that want only some of them. Errors
 * that are not ServiceErrors need no middleware: the server answers them with
 * ErrUnknownRequest and logs them (CallRunner).
 */
export function defaultServerObservers(options: { logger: Logger }): CallObserver[] {
  return [telemetryServer(options.logger)];
}

/** The client observers: trace context out, one log line and metrics per call (telemetryClient). */
export function defaultClientObservers(options: { logger: Logger }): CallObserver[] {
  return [telemetryClient(options.logger)];
}
