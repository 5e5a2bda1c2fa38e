import type { Logger } from 'pino';
import type { Middleware } from '../transport/context.js';
import { recovery } from './recovery.js';
import { telemetryClient, telemetryServer } from './telemetry.js';

export * from './recovery.js';
export * from './tracing.js';
export * from './logging.js';
export * from './metrics.js';
export * from './telemetry.js';
export * from './observe.js';
export * from './validate.js';
export * from './ratelimit.js';
export * from './circuitbreaker.js';
export * from './selector.js';

/**
 * The server chain every generated service starts with: recovery, then tracing,
 * logging and metrics, outermost first. The last three run as one layer
 * (telemetryServer); tracingServer, loggingServer and metricsServer are the same
 * steps one by one, for chains that want only some of them.
 */
export function defaultServerMiddleware(options: { logger: Logger }): Middleware[] {
  return [recovery({ logger: options.logger }), telemetryServer(options.logger)];
}

/** The client chain: trace context out, one log line and metrics per call (telemetryClient). */
export function defaultClientMiddleware(options: { logger: Logger }): Middleware[] {
  return [telemetryClient(options.logger)];
}
