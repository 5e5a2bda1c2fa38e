// Request duration and body size histograms, aggregated here and handed to the OpenTelemetry
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

/**
 * Upper bounds in bytes of the body size histograms: powers of four from 64 B to
 * 16 MiB, around the HTTP server's default 1 MiB body limit.
 */
export const SIZE_BOUNDARIES: readonly number[] = [
  64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216,
];

export class HistogramCell {
  readonly counts: number[];
  count = 0;
  sum = 0;
  min = Infinity;
  max = -Infinity;

  constructor(
    readonly attributes: Attributes,
    private readonly boundaries: readonly number[],
  ) {
    this.counts = new Array<number>(boundaries.length + 1).fill(0);
  }

  record(value: number): void {
    const boundaries = this.boundaries;
    let i = 0;
    while (i < boundaries.length && value > boundaries[i]!) i++;
    this.counts[i]!++;
    this.count++;
    this.sum += value;
    if (value < this.min) this.min = value;
    if (value > this.max) this.max = value;
  }
}

/** One cumulative histogram metric with a cell per attribute set. */
export class Histogram {
  private readonly cells = new Map<string, HistogramCell>();
  private readonly startTime: HrTime = hrNow();

  constructor(
    readonly name: string,
    readonly description: string,
    readonly unit: string,
    private readonly boundaries: readonly number[],
    private readonly valueType: ValueType,
  ) {}

  /** The cell for an attribute set, created on first use; keep it to record without a lookup. */
  cell(key: string, attributes: Attributes): HistogramCell {
    let cell = this.cells.get(key);
    if (!cell) this.cells.set(key, (cell = new HistogramCell(attributes, this.boundaries)));
    return cell;
  }

  snapshot(endTime: HrTime): metrics.HistogramMetricData | undefined {
    // As the SDK's histograms: an attribute set appears once something was recorded in it
    // (a stream's operation, never timed, has no empty duration series).
    const recorded = [...this.cells.values()].filter((c) => c.count > 0);
    if (recorded.length === 0) return undefined;
    return {
      descriptor: { name: this.name, description: this.description, unit: this.unit, valueType: this.valueType },
      aggregationTemporality: metrics.AggregationTemporality.CUMULATIVE,
      dataPointType: metrics.DataPointType.HISTOGRAM,
      dataPoints: recorded.map((c) => ({
        attributes: c.attributes,
        startTime: this.startTime,
        endTime,
        value: {
          buckets: { boundaries: [...this.boundaries], counts: [...c.counts] },
          count: c.count,
          sum: c.sum,
          ...(c.count > 0 ? { min: c.min, max: c.max } : {}),
        },
      })),
    };
  }
}

const durations = (side: string) =>
  new Histogram(
    `${side}_requests_seconds`,
    `${side} request duration in seconds`,
    's',
    DURATION_BOUNDARIES,
    ValueType.DOUBLE,
  );
const sizes = (side: string, body: 'request' | 'response') =>
  new Histogram(
    `${side}_requests_${body}_bytes`,
    `${side} ${body} body size in bytes`,
    'By',
    SIZE_BOUNDARIES,
    ValueType.INT,
  );

/** A side's request histograms, all with the labels kind and operation. */
export interface RequestHistograms {
  readonly duration: Histogram;
  /** The request body as sent: HTTP body bytes, or the serialized gRPC request message. */
  readonly requestSize: Histogram;
  /** The response body as sent: HTTP body bytes (the error JSON too), or the serialized gRPC response message. */
  readonly responseSize: Histogram;
}

export const requestHistograms: Record<'server' | 'client', RequestHistograms> = {
  server: {
    duration: durations('server'),
    requestSize: sizes('server', 'request'),
    responseSize: sizes('server', 'response'),
  },
  client: {
    duration: durations('client'),
    requestSize: sizes('client', 'request'),
    responseSize: sizes('client', 'response'),
  },
};

/** Hands the request histograms to a metric reader at each collection. */
export const requestMetricsProducer: metrics.MetricProducer = {
  async collect(): Promise<metrics.CollectionResult> {
    const now = hrNow();
    const histograms = [];
    for (const side of [requestHistograms.server, requestHistograms.client]) {
      for (const histogram of [side.duration, side.requestSize, side.responseSize]) {
        const data = histogram.snapshot(now);
        if (data) histograms.push(data);
      }
    }
    return {
      // Readers keep their SDK resource and take only the scope metrics from producers.
      resourceMetrics: {
        resource: resources.emptyResource(),
        scopeMetrics: histograms.length ? [{ scope: { name: 'tsk' }, metrics: histograms }] : [],
      },
      errors: [],
    };
  },
};

function hrNow(): HrTime {
  const ms = performance.timeOrigin + performance.now();
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
}
