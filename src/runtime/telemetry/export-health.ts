// Export trouble made visible: a warn line when spans stop reaching the collector,
// a line when they reach it again, a warn line when a collector too slow for the
// load makes the queue drop spans (each kind at most once a minute, so a flapping
// collector never floods the log), and counters of exported and dropped spans,
// served with the other metrics on /metrics. One per exporter: OTLP's lines carry
// no exporter field and its counters are otlp_spans_*; Zipkin's say `exporter:
// "zipkin"` and count as zipkin_spans_*.
import { metrics } from '@opentelemetry/api';
import type { Logger } from 'pino';

/** The least time between two "export failing" (or two "falling behind") lines. */
const REPORT_INTERVAL_MS = 60_000;

export type DropReason = 'queue_full' | 'export_failed';

export class ExportHealth {
  exported = 0;
  readonly dropped: Record<DropReason, number> = { queue_full: 0, export_failed: 0 };
  private failing = false;
  /** Whether the current failure was reported (and so its recovery will be). */
  private reported = false;
  private lastReport = -Infinity;
  /** Spans lost since spans last reached the collector, for the recovery line. */
  private droppedSinceSuccess = 0;
  private lastBehindReport = -Infinity;
  /** Spans the full queue dropped since the last "falling behind" line. */
  private queueDropsUnreported = 0;

  /** Fields of every line: which exporter it is about, for all but OTLP. */
  private readonly fields: Record<string, string>;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'info'> | undefined,
    private readonly now: () => number = Date.now,
    private readonly exporter: 'otlp' | 'zipkin' = 'otlp',
  ) {
    this.fields = exporter === 'otlp' ? {} : { exporter };
  }

  /** Registers the counters with the global MeterProvider (call once it is set). */
  observe(): void {
    const meter = metrics.getMeter('tsk');
    meter
      .createObservableCounter(`${this.exporter}_spans_exported`, { description: 'Spans the collector accepted' })
      .addCallback((result) => result.observe(this.exported));
    meter
      .createObservableCounter(`${this.exporter}_spans_dropped`, {
        description: 'Spans lost before the collector accepted them, by reason',
      })
      .addCallback((result) => {
        for (const reason of Object.keys(this.dropped) as DropReason[])
          result.observe(this.dropped[reason], { reason });
      });
  }

  succeeded(spans: number): void {
    this.exported += spans;
    const dropped = this.droppedSinceSuccess;
    this.droppedSinceSuccess = 0;
    if (!this.failing) return;
    this.failing = false;
    if (this.reported) {
      this.reported = false;
      this.logger?.info(
        { ...this.fields, droppedSpans: dropped },
        'trace export recovered: spans reach the collector again',
      );
    }
  }

  failed(spans: number, error: unknown): void {
    this.drop('export_failed', spans);
    if (this.failing) return;
    this.failing = true;
    const at = this.now();
    if (at - this.lastReport < REPORT_INTERVAL_MS) return;
    this.lastReport = at;
    this.reported = true;
    this.logger?.warn(
      { ...this.fields, err: error },
      'trace export failing: spans are dropped until the collector accepts them',
    );
  }

  drop(reason: DropReason, spans: number): void {
    this.dropped[reason] += spans;
    this.droppedSinceSuccess += spans;
    // While exports fail, the failing line has said spans are lost.
    if (reason === 'queue_full' && !this.failing) this.fallingBehind(spans);
  }

  /** A collector that answers, but slower than spans arrive: the queue fills and drops them. */
  private fallingBehind(spans: number): void {
    this.queueDropsUnreported += spans;
    const at = this.now();
    if (at - this.lastBehindReport < REPORT_INTERVAL_MS) return;
    this.lastBehindReport = at;
    this.logger?.warn(
      { ...this.fields, droppedSpans: this.queueDropsUnreported },
      'trace export falling behind: the span queue is full and new spans are dropped (OTEL_BSP_MAX_QUEUE_SIZE, sampling)',
    );
    this.queueDropsUnreported = 0;
  }
}
