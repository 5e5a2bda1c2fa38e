// Export trouble made visible: a warn line when a signal stops reaching its
// collector, a line when it reaches it again, a warn line when a collector too slow
// for the load makes the span queue drop spans (each kind at most once a minute, so a
// flapping collector never floods the log; an outage that came and went within the
// quiet minute is told once the minute is over, with what it lost), and counters of exported and dropped
// spans and log records, served with the other metrics on /metrics. One per exporter
// and signal: OTLP trace lines carry no exporter field and count as otlp_spans_*;
// Zipkin's say `exporter: "zipkin"` and count as zipkin_spans_*; log and metric export
// say which signal they are about in the message.
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { diag, metrics } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { messageWithCauses } from '../errors/causes.js';

/** The least time between two "export failing" (or two "falling behind") lines. */
const REPORT_INTERVAL_MS = 60_000;

export type DropReason = 'queue_full' | 'export_failed';

export type Signal = 'trace' | 'log' | 'metric';

/** What the lines of each signal say, the field that counts what was lost, and the counters' stem. */
const WORDING: Record<
  Signal,
  { failing: string; recovered: string; failedAgain: string; lost: string; counters?: string }
> = {
  trace: {
    failing: 'trace export failing: spans are dropped until the collector accepts them',
    recovered: 'trace export recovered: spans reach the collector again',
    failedAgain: 'trace export failed again and recovered: spans were dropped meanwhile',
    lost: 'droppedSpans',
    counters: 'spans',
  },
  log: {
    failing: 'log export failing: log records are dropped until the collector accepts them',
    recovered: 'log export recovered: log records reach the collector again',
    failedAgain: 'log export failed again and recovered: log records were dropped meanwhile',
    lost: 'droppedRecords',
    counters: 'log_records',
  },
  // A failed push loses no cumulative sum (the next one carries it), so there is nothing to count as dropped.
  metric: {
    failing: 'metric export failing: the collector gets no metrics until it accepts them',
    recovered: 'metric export recovered: metrics reach the collector again',
    failedAgain: 'metric export failed again and recovered: the collector missed metrics meanwhile',
    lost: 'failedExports',
  },
};

const DIAG_LINES: Pick<Logger, 'warn' | 'info'> = {
  warn: ((fields: object, msg: string) => diag.warn(msg, fields)) as Logger['warn'],
  info: ((fields: object, msg: string) => diag.info(msg, fields)) as Logger['info'],
};

export class ExportHealth {
  exported = 0;
  readonly dropped: Record<DropReason, number> = { queue_full: 0, export_failed: 0 };
  private failing = false;
  /** Whether the current failure was reported (and so its recovery will be). */
  private reported = false;
  private lastReport = -Infinity;
  /** Spans lost since spans last reached the collector, for the recovery line. */
  private droppedSinceSuccess = 0;
  /** Spans lost in outages that ended before a failing line could be written. */
  private droppedUnreported = 0;
  private lastBehindReport = -Infinity;
  /** Spans the full queue dropped since the last "falling behind" line. */
  private queueDropsUnreported = 0;

  /** Fields of every line: which exporter it is about, for all but OTLP. */
  private readonly fields: Record<string, string>;

  private readonly wording: (typeof WORDING)[Signal];

  private readonly logger: Pick<Logger, 'warn' | 'info'>;

  /** Without a logger the lines go to OpenTelemetry's diagnostics (the console, unless routed), never nowhere. */
  constructor(
    logger: Pick<Logger, 'warn' | 'info'> | undefined,
    private readonly now: () => number = Date.now,
    private readonly exporter: 'otlp' | 'zipkin' = 'otlp',
    signal: Signal = 'trace',
  ) {
    this.logger = logger ?? DIAG_LINES;
    this.fields = exporter === 'otlp' ? {} : { exporter };
    this.wording = WORDING[signal];
  }

  /** Registers the counters (none for metrics) with the global MeterProvider (call once it is set). */
  observe(): void {
    const stem = this.wording.counters;
    if (stem === undefined) return;
    const what = stem === 'spans' ? 'Spans' : 'Log records';
    const meter = metrics.getMeter('tsk');
    meter
      .createObservableCounter(`${this.exporter}_${stem}_exported`, { description: `${what} the collector accepted` })
      .addCallback((result) => result.observe(this.exported));
    meter
      .createObservableCounter(`${this.exporter}_${stem}_dropped`, {
        description: `${what} lost before the collector accepted them, by reason`,
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
    if (this.failing) {
      this.failing = false;
      if (this.reported) {
        this.reported = false;
        const lost = dropped + this.droppedUnreported;
        this.droppedUnreported = 0;
        this.logger.info({ ...this.fields, [this.wording.lost]: lost }, this.wording.recovered);
        return;
      }
      this.droppedUnreported += dropped;
    }
    if (this.droppedUnreported === 0 || !this.mayReport()) return;
    this.logger.warn({ ...this.fields, [this.wording.lost]: this.droppedUnreported }, this.wording.failedAgain);
    this.droppedUnreported = 0;
  }

  /** Reported as it starts, or as soon as the last line is a minute old if it is still going on then. */
  failed(spans: number, error: unknown): void {
    this.drop('export_failed', spans);
    this.failing = true;
    if (this.reported || !this.mayReport()) return;
    this.reported = true;
    this.logger.warn({ ...this.fields, err: exportError(error) }, this.wording.failing);
  }

  /** Whether a failing line (or one about an outage that went untold) may be written now; if so, it will be. */
  private mayReport(): boolean {
    const at = this.now();
    if (at - this.lastReport < REPORT_INTERVAL_MS) return false;
    this.lastReport = at;
    return true;
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
    this.logger.warn(
      { ...this.fields, droppedSpans: this.queueDropsUnreported },
      'trace export falling behind: the span queue is full and new spans are dropped (OTEL_BSP_MAX_QUEUE_SIZE, sampling)',
    );
    this.queueDropsUnreported = 0;
  }
}

/** An exporter of any signal, as far as reporting its outcomes goes. */
interface Exporter<Batch> {
  export(batch: Batch, done: (result: ExportResult) => void): void;
}

/** Methods besides `export` that the SDK's readers and processors call on their exporters, passed through. */
const PASSED = ['shutdown', 'forceFlush', 'selectAggregationTemporality', 'selectAggregation'] as const;

/**
 * `exporter` with each outcome told to `health` (`count` says how many items a batch
 * holds). The processor or reader hears only of successes: a failure would do nothing
 * there but report itself through the global error handler, once per export.
 */
export function reportedTo<E extends Exporter<never>>(
  health: ExportHealth,
  exporter: E,
  count: (batch: Parameters<E['export']>[0]) => number,
): E {
  type Batch = Parameters<E['export']>[0];
  const reported: Record<string, unknown> = {
    export(batch: Batch, done: (result: ExportResult) => void) {
      exporter.export(batch as never, (result) => {
        if (result.code === ExportResultCode.SUCCESS) health.succeeded(count(batch));
        else health.failed(count(batch), result.error);
        done({ code: ExportResultCode.SUCCESS });
      });
    },
  };
  const methods = exporter as unknown as Record<string, unknown>;
  for (const name of PASSED) {
    const method = methods[name];
    if (typeof method === 'function') reported[name] = method.bind(exporter);
  }
  return reported as unknown as E;
}

/**
 * A failed export's error as its warn line gives it: what went wrong, without the
 * exporter's stack, which is the same code path on every failure and says nothing of
 * the cause (a collector refusing the connection, say).
 */
function exportError(error: unknown): { type: string; message: string; code?: unknown } {
  if (!(error instanceof Error)) return { type: typeof error, message: String(error) };
  const code = (error as { code?: unknown }).code;
  return { type: error.name, message: messageWithCauses(error), ...(code !== undefined ? { code } : {}) };
}
