// One structured line per call: operation, code, reason, latency and the trace
// ids, so a log line leads straight to its trace.
import { isSpanContextValid, trace } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { fromError } from '../errors/errors.js';
import type { Middleware } from '../transport/context.js';
import { OTEL_CONTEXT } from './tracing.js';
import type { Context as OtelContext } from '@opentelemetry/api';

function logging(logger: Logger, component: 'server' | 'client'): Middleware {
  return (next) => async (ctx, req) => {
    const start = performance.now();
    let error: unknown;
    try {
      return await next(ctx, req);
    } catch (err) {
      error = err;
      throw err;
    } finally {
      const e = error === undefined ? undefined : fromError(error);
      const otel = ctx.values.get(OTEL_CONTEXT) as OtelContext | undefined;
      const span = (otel ? trace.getSpan(otel) : trace.getActiveSpan())?.spanContext();
      const line = {
        kind: component,
        component: ctx.transport.kind,
        operation: ctx.transport.operation,
        code: e?.code ?? 200,
        reason: e?.reason ?? '',
        latency: Number(((performance.now() - start) / 1000).toFixed(6)),
        ...(span && isSpanContextValid(span) ? { trace_id: span.traceId, span_id: span.spanId } : {}),
      };
      if (!e) logger.info(line, 'request');
      else if (e.code >= 500) logger.error({ ...line, err: error }, e.message);
      else logger.warn(line, e.message);
    }
  };
}

export const loggingServer = (logger: Logger): Middleware => logging(logger, 'server');
export const loggingClient = (logger: Logger): Middleware => logging(logger, 'client');
