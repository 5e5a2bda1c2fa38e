// Tracing, logging and metrics of the default chain in one layer. Nested, the three
// cost three async frames, three pairs of clock reads and two lookups of the call's
// trace context per call; here one frame times the call once and ends it in the order
// the nested chain would (metrics, then the access line, then the span), so each
// sees the same outcome and the span encloses what the others measured.
import type { Logger } from 'pino';
import type { Middleware } from '../transport/context.js';
import { accessLog } from './logging.js';
import { requestRecorder } from './metrics.js';
import { watching } from './observe.js';
import { endCallSpan, startClientSpan, startServerSpan } from './tracing.js';

function telemetry(side: 'server' | 'client', logger: Logger): Middleware {
  const record = requestRecorder(side);
  const log = accessLog(logger, side);
  return watching({
    start: side === 'server' ? startServerSpan : startClientSpan,
    end(ctx, span, elapsedMs, failed, error) {
      record(ctx, elapsedMs, failed, error);
      log(ctx, elapsedMs, failed, error);
      if (span) endCallSpan(span, ctx, failed, error);
    },
  });
}

/** tracingServer, loggingServer and metricsServer, in that order, as one middleware. */
export const telemetryServer = (logger: Logger): Middleware => telemetry('server', logger);
/** tracingClient, loggingClient and metricsClient, in that order, as one middleware. */
export const telemetryClient = (logger: Logger): Middleware => telemetry('client', logger);
