// Request counter and duration histogram through the OpenTelemetry metrics API.
// Prometheus names: {server,client}_requests_code_total{kind,operation,code,reason}
// and {server,client}_requests_seconds{kind,operation} (Kratos's metric names).
import { metrics, type Attributes, type Histogram } from '@opentelemetry/api';
import { fromError } from '../errors/errors.js';
import type { Middleware } from '../transport/context.js';

interface Instruments {
  /** Running totals by label set, reported through an observable counter at collection time. */
  counts: Map<string, { attributes: Attributes; value: number }>;
  seconds: Histogram;
  /** Histogram label sets, reused so each record does not build a new object. */
  operations: Map<string, Attributes>;
}

function metricsMiddleware(side: 'server' | 'client'): Middleware {
  // Created on first use: the global MeterProvider is only set once telemetry starts.
  let instruments: Instruments | undefined;
  const get = (): Instruments => {
    if (instruments) return instruments;
    const meter = metrics.getMeter('tsk');
    const counts = new Map<string, { attributes: Attributes; value: number }>();
    // Counting in a Map and reporting at scrape time keeps the SDK's per-record
    // attribute hashing off the request path; the exported counter is the same.
    meter
      .createObservableCounter(`${side}_requests_code_total`, { description: `The total number of processed ${side} requests` })
      .addCallback((result) => {
        for (const { attributes, value } of counts.values()) result.observe(value, attributes);
      });
    return (instruments = {
      counts,
      seconds: meter.createHistogram(`${side}_requests_seconds`, { description: `${side} request duration in seconds` }),
      operations: new Map(),
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
      const { counts, seconds, operations } = get();
      const kind = ctx.transport.kind;
      const operation = ctx.transport.operation;
      const key = `${kind}\u0000${operation}\u0000${code}\u0000${reason}`;
      const entry = counts.get(key);
      if (entry) entry.value++;
      else counts.set(key, { attributes: { kind, operation, code: String(code), reason }, value: 1 });
      const opKey = `${kind}\u0000${operation}`;
      let attributes = operations.get(opKey);
      if (!attributes) operations.set(opKey, (attributes = { kind, operation }));
      seconds.record((performance.now() - start) / 1000, attributes);
    }
  };
}

export const metricsServer = (): Middleware => metricsMiddleware('server');
export const metricsClient = (): Middleware => metricsMiddleware('client');
