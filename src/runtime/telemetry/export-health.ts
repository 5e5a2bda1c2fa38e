// Export trouble made visible: a warn line when spans stop reaching the collector,
// a line when they reach it again (each kind at most once a minute, so a flapping
// collector never floods the log), and counters of exported and dropped spans,
// served with the other metrics on /metrics.
import { metrics } from '@opentelemetry/api';
import type { Logger } from 'pino';

/** The least time between two "export failing" lines. */
const REPORT_INTERVAL_MS = 60_000;

export type DropReason = 'queue_full' | 'export_failed';

export class ExportHealth {
  exported = 0;
  readonly dropped: Record<DropReason, number> = { queue_full: 0, export_failed: 0 };
  private failing = false;
  /** Whether the current failure was reported (and so its recovery will be). */
  private reported = false;
  private lastReport = -Infinity;
  /** Drops since the failure was reported, for the recovery line. */
  private droppedSinceReport = 0;

  constructor(
    private readonly logger: Pick<Logger, 'warn' | 'info'> | undefined,
    private readonly now: () => number = Date.now,
  ) {}

  /** Registers the counters with the global MeterProvider (call once it is set). */
  observe(): void {
    const meter = metrics.getMeter('tsk');
    meter
      .createObservableCounter('otlp_spans_exported', { description: 'Spans the collector accepted' })
      .addCallback((result) => result.observe(this.exported));
    meter
      .createObservableCounter('otlp_spans_dropped', {
        description: 'Spans lost before the collector accepted them, by reason',
      })
      .addCallback((result) => {
        for (const reason of Object.keys(this.dropped) as DropReason[])
          result.observe(this.dropped[reason], { reason });
      });
  }

  succeeded(spans: number): void {
    this.exported += spans;
    if (!this.failing) return;
    this.failing = false;
    if (this.reported) {
      this.reported = false;
      this.logger?.info(
        { droppedSpans: this.droppedSinceReport },
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
    this.droppedSinceReport = spans;
    this.logger?.warn({ err: error }, 'trace export failing: spans are dropped until the collector accepts them');
  }

  drop(reason: DropReason, spans: number): void {
    this.dropped[reason] += spans;
    if (this.reported) this.droppedSinceReport += spans;
  }
}
