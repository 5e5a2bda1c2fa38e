import type { Logger } from 'pino';
import type { Middleware } from '../transport/context.js';
import { loggingClient, loggingServer } from './logging.js';
import { metricsClient, metricsServer } from './metrics.js';
import { recovery } from './recovery.js';
import { tracingClient, tracingServer } from './tracing.js';

export * from './recovery.js';
export * from './tracing.js';
export * from './logging.js';
export * from './metrics.js';
export * from './validate.js';
export * from './ratelimit.js';
export * from './circuitbreaker.js';
export * from './selector.js';

/** The server chain every generated service starts with, outermost first. */
export function defaultServerMiddleware(options: { logger: Logger }): Middleware[] {
  return [recovery({ logger: options.logger }), tracingServer(), loggingServer(options.logger), metricsServer()];
}

/** The client chain: trace context out, one log line and metrics per call. */
export function defaultClientMiddleware(options: { logger: Logger }): Middleware[] {
  return [tracingClient(), loggingClient(options.logger), metricsClient()];
}
