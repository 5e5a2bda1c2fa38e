// Tracing, logging and metrics of the default observers in one. Three observers
// cost three clock-read pairs and two lookups of the call's trace context per call;
// this one times the call once and ends it in the order the three would (metrics,
// then the access line, then the span), so each sees the same outcome and the span
// encloses what the others measured.
import type { Span } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { CallObserver } from '../transport/observer.js';
import { accessLog } from './logging.js';
import { requestRecorder } from './metrics.js';
import { endCallSpan, startClientSpan, startServerSpan } from './tracing.js';

function telemetry(side: 'server' | 'client', logger: Logger): CallObserver<Span | undefined> {
  const record = requestRecorder(side);
  const log = accessLog(logger, side);
  return {
    onStart: side === 'server' ? startServerSpan : startClientSpan,
    onEnd(ctx, span, outcome) {
      record(ctx, outcome);
      log(ctx, outcome);
      if (span) endCallSpan(span, ctx, outcome.error);
    },
    // Its access line carries a failure's stack, so the runner does not log it a second time.
    logsFailures: true,
  };
}

/** tracingServer, loggingServer and metricsServer, in that order, as one observer. */
export const telemetryServer = (logger: Logger): CallObserver<Span | undefined> => telemetry('server', logger);
/** tracingClient, loggingClient and metricsClient, in that order, as one observer. */
export const telemetryClient = (logger: Logger): CallObserver<Span | undefined> => telemetry('client', logger);
