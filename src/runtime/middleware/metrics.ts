// Request counter and duration histogram, Kratos's metric names:
// {server,client}_requests_code_total{kind,operation,code,reason} and
// {server,client}_requests_seconds{kind,operation}, and the body size histograms
// {server,client}_requests_{request,response}_bytes{kind,operation}. All are counted in plain
// structures on the request path and reported at collection time: the counter
// through an OpenTelemetry observable counter, the histogram through the
// MetricProducer setupTelemetry registers with its readers (request-metrics.ts).

import { metrics, type Attributes } from '@opentelemetry/api';
import { answeredError } from '../errors/catalogue.js';
import { requestHistograms, type HistogramCell } from '../telemetry/request-metrics.js';
import type { Context, TransportKind } from '../transport/context.js';
import type { CallObserver, CallOutcome } from '../transport/observer.js';

interface Count {
  attributes: Attributes;
  value: number;
}

/** What one operation needs per call, found with one Map lookup. */
interface OperationStats {
  succeeded: Count;
  duration: HistogramCell;
  requestSize: HistogramCell;
  responseSize: HistogramCell;
}

/** Counts each ended call and records its duration and sizes in the server or client side's metrics. */
export function requestRecorder(side: 'server' | 'client'): (ctx: Context, outcome: CallOutcome) => void {
  const histograms = requestHistograms[side];
  const counts = new Map<string, Count>();
  // By kind, then operation: no key to build on the request path.
  const operations = { http: new Map<string, OperationStats>(), grpc: new Map<string, OperationStats>() };
  let observed = false;
  // Registered on first use: the global MeterProvider is only set once telemetry starts.
  const observe = () => {
    observed = true;
    metrics
      .getMeter('tsk')
      .createObservableCounter(`${side}_requests_code_total`, {
        description: `The total number of processed ${side} requests`,
      })
      .addCallback((result) => {
        for (const { attributes, value } of counts.values()) if (value > 0) result.observe(value, attributes);
      });
  };
  const count = (kind: TransportKind, operation: string, code: number, reason: string): Count => {
    const key = `${kind}\u0000${operation}\u0000${code}\u0000${reason}`;
    let entry = counts.get(key);
    if (!entry) counts.set(key, (entry = { attributes: { kind, operation, code: String(code), reason }, value: 0 }));
    return entry;
  };
  const statsFor = (kind: TransportKind, operation: string): OperationStats => {
    let stats = operations[kind].get(operation);
    if (!stats) {
      if (!observed) observe();
      const key = `${kind}\u0000${operation}`;
      const attributes = { kind, operation };
      stats = {
        succeeded: count(kind, operation, 200, ''),
        duration: histograms.duration.cell(key, attributes),
        requestSize: histograms.requestSize.cell(key, attributes),
        responseSize: histograms.responseSize.cell(key, attributes),
      };
      operations[kind].set(operation, stats);
    }
    return stats;
  };

  return (ctx, outcome) => {
    const { kind, operation } = ctx.transport;
    const stats = statsFor(kind, operation);
    if (outcome.error === undefined) stats.succeeded.value++;
    else {
      const e = answeredError(outcome.error);
      count(kind, operation, e.code, e.reason).value++;
    }
    // A stream's duration is how long its caller kept it open, not a latency: timing it
    // would put watch streams in the latency histogram (and its p99 alert) for good.
    if (!ctx.transport.stream) stats.duration.record(outcome.elapsedMs / 1000);
    // Sizes the transport did not measure (a call that never reached it) are not recorded.
    if (ctx.requestBytes !== undefined) stats.requestSize.record(ctx.requestBytes);
    if (ctx.responseBytes !== undefined) stats.responseSize.record(ctx.responseBytes);
  };
}

function recording(side: 'server' | 'client'): CallObserver<undefined> {
  const record = requestRecorder(side);
  return { onStart: () => undefined, onEnd: (ctx, _started, outcome) => record(ctx, outcome) };
}

export const metricsServer = (): CallObserver<undefined> => recording('server');
export const metricsClient = (): CallObserver<undefined> => recording('client');
