// Request duration histograms, aggregated here and handed to the OpenTelemetry
// readers (Prometheus /metrics, OTLP push) through a MetricProducer, the SDK's
// extension point for metrics aggregated outside it. The SDK's own histogram
// serializes and hashes the attribute set on every record, about 2 µs a request,
// most of the metrics middleware's cost; here a record is an array increment.
import { ValueType, type Attributes, type HrTime } from '@opentelemetry/api';
import * as metrics from '@opentelemetry/sdk-metrics';
import * as resources from '@opentelemetry/resources';

/**
 * Upper bounds in seconds: Kratos's latency buckets, continued past 10 s so that
 * slow calls land in finite buckets and a quantile above 1 s can be computed.
 */
export const DURATION_BOUNDARIES: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

class HistogramCell {
  readonly counts = new Array<number>(DURATION_BOUNDARIES.length + 1).fill(0);
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(readonly attributes: Attributes) {}

  record(seconds: number): void {
    let i = 0;
    while (i < DURATION_BOUNDARIES.length && seconds > DURATION_BOUNDARIES[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += seconds;
    if (seconds < this.min) this.min = seconds;
    if (seconds > this.max) this.max = seconds;
  }
}

/** One cumulative histogram metric with a cell per attribute set. */
export class DurationHistogram {
  private readonly cells = new Map<string, HistogramCell>();
  private readonly startTime: HrTime = hrNow();

  constructor(readonly name: string, readonly description: string) {}

  /** The cell for an attribute set, created on first use; keep it to record without a lookup. */
  cell(key: string, attributes: Attributes): HistogramCell {
    let cell = this.cells.get(key);
    if (!cell) this.cells.set(key, (cell = new HistogramCell(attributes)));
    return cell;
  }

  snapshot(endTime: HrTime): metrics.HistogramMetricData | undefined {
    if (this.cells.size === 0) return undefined;
    return {
      descriptor: { name: this.name, description: this.description, unit: 's', valueType: ValueType.DOUBLE },
      aggregationTemporality: metrics.AggregationTemporality.CUMULATIVE,
      dataPointType: metrics.DataPointType.HISTOGRAM,
      dataPoints: [...this.cells.values()].map((c) => ({
        attributes: c.attributes,
        startTime: this.startTime,
        endTime,
        value: {
          buckets: { boundaries: [...DURATION_BOUNDARIES], counts: [...c.counts] },
          count: c.count,
          sum: c.sum,
          ...(c.count > 0 ? { min: c.min, max: c.max } : {}),
        },
      })),
    };
  }
}

export const requestDurations = {
  server: new DurationHistogram('server_requests_seconds', 'server request duration in seconds'),
  client: new DurationHistogram('client_requests_seconds', 'client request duration in seconds'),
};

/** Hands the request histograms to a metric reader at each collection. */
export const requestMetricsProducer: metrics.MetricProducer = {
  async collect(): Promise<metrics.CollectionResult> {
    const now = hrNow();
    const histograms = [requestDurations.server.snapshot(now), requestDurations.client.snapshot(now)].filter((m) => m !== undefined);
    return {
      // Readers keep their SDK resource and take only the scope metrics from producers.
      resourceMetrics: { resource: resources.emptyResource(), scopeMetrics: histograms.length ? [{ scope: { name: 'tsk' }, metrics: histograms }] : [] },
      errors: [],
    };
  },
};

function hrNow(): HrTime {
  const ms = performance.timeOrigin + performance.now();
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
}
