// Request counter and duration histogram through the OpenTelemetry metrics API.
// Prometheus names: {server,client}_requests_code_total{kind,operation,code,reason}
// and {server,client}_requests_seconds{kind,operation} (Kratos's metric names).
import { metrics, type Counter, type Histogram } from '@opentelemetry/api';
import { fromError } from '../errors/errors.js';
import type { Middleware } from '../transport/context.js';

interface Instruments {
  requests: Counter;
  seconds: Histogram;
}

function metricsMiddleware(side: 'server' | 'client'): Middleware {
  // Created on first use: the global MeterProvider is only set once telemetry starts.
  let instruments: Instruments | undefined;
  const get = (): Instruments => {
    if (instruments) return instruments;
    const meter = metrics.getMeter('tsk');
    return (instruments = {
      requests: meter.createCounter(`${side}_requests_code_total`, { description: `The total number of processed ${side} requests` }),
      seconds: meter.createHistogram(`${side}_requests_seconds`, { description: `${side} request duration in seconds` }),
    });
  };
  return (next) => async (ctx, req) => {
    const start = performance.now();
    let code = 200;
    let reason = '';
    try {
      return await next(ctx, req);
    } catch (err) {
      const e = fromError(err);
      code = e.code;
      reason = e.reason;
      throw err;
    } finally {
      const { requests, seconds } = get();
      const kind = ctx.transport.kind;
      const operation = ctx.transport.operation;
      requests.add(1, { kind, operation, code: String(code), reason });
      seconds.record((performance.now() - start) / 1000, { kind, operation });
    }
  };
}

export const metricsServer = (): Middleware => metricsMiddleware('server');
export const metricsClient = (): Middleware => metricsMiddleware('client');
