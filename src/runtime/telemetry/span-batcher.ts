// A batch span processor that encodes sampled spans to OTLP protobuf soon after
// they end, a few dozen at a time, and exports the bytes in batches (for
// http/json, the SDK's JSON serializer encodes each batch as it goes out). It replaces
// the SDK's BatchSpanProcessor plus OTLP trace exporter pair, which holds span
// objects until a batch is full and then encodes all 512 at once: a stall of
// milliseconds per batch that requests queue behind (at 15k req/s it doubled the
// p99.9 latency). Encoding a run of spans takes tens of microseconds, and the span
// objects die young.
// Sending stays with the SDK's OTLP transport (retries, timeouts, headers, TLS,
// compression and their OTEL_EXPORTER_OTLP_* variables).

import { context, ROOT_CONTEXT, TraceFlags } from '@opentelemetry/api';
import { ExportResultCode, suppressTracing, type ExportResult } from '@opentelemetry/core';
import type { JsonTraceSerializer } from '@opentelemetry/otlp-transformer';
import type * as resources from '@opentelemetry/resources';
import type * as tracing from '@opentelemetry/sdk-trace';
import { positiveNumberFromEnv } from './env-number.js';
import { ProtoWriter, writeResource, writeScope, writeSpan } from './otlp-span-encoding.js';

/** One export request's worth of spans. */
export interface SpanBatch {
  readonly spanCount: number;
  add(span: tracing.ReadableSpan): void;
  /** The ExportTraceServiceRequest, in the batch's encoding. */
  toRequest(): Uint8Array;
}

/** Where encoded batches go: the SDK's OTLP export delegate has this shape. */
export interface BatchSender {
  export(request: SpanBatch, done: (result: ExportResult) => void): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export interface SpanBatcherOptions {
  /** Spans waiting for export at most; more are dropped, so memory stays bounded. */
  maxQueueSize: number;
  /** Spans per export request at most. */
  maxExportBatchSize: number;
  /** How long a span may wait for a batch to fill. */
  scheduledDelayMillis: number;
  /** How long one export may take before the next batch goes out. */
  exportTimeoutMillis: number;
}

/** Batch settings: the OTEL_BSP_* variables win over the options given, as for the SDK's processor. */
export function batcherOptionsFromEnv(
  defaults: SpanBatcherOptions,
  env: NodeJS.ProcessEnv = process.env,
): SpanBatcherOptions {
  const read = (name: string, fallback: number) => positiveNumberFromEnv(env, name, fallback);
  const maxQueueSize = Math.max(1, read('OTEL_BSP_MAX_QUEUE_SIZE', defaults.maxQueueSize));
  return {
    maxQueueSize,
    // As the SDK does: a batch can never be larger than the queue.
    maxExportBatchSize: Math.min(
      maxQueueSize,
      Math.max(1, read('OTEL_BSP_MAX_EXPORT_BATCH_SIZE', defaults.maxExportBatchSize)),
    ),
    scheduledDelayMillis: read('OTEL_BSP_SCHEDULE_DELAY', defaults.scheduledDelayMillis),
    exportTimeoutMillis: read('OTEL_BSP_EXPORT_TIMEOUT', defaults.exportTimeoutMillis),
  };
}

/**
 * Ended spans are encoded in runs of this many: at a sampling ratio of 0.1 a span
 * ends every ten requests or so, and encoding each on its own ran with the encoder
 * out of the CPU's caches every time. A run takes tens of microseconds.
 */
const ENCODE_RUN = 32;

/**
 * The context sends run in, with their timers and what they report. A send starts
 * while some call's span ends, and whatever it logs (a failing export's warn line)
 * would otherwise carry that call's trace id. Its own network calls are not traced,
 * or every export would make spans to export.
 */
const EXPORT_CONTEXT = suppressTracing(ROOT_CONTEXT);

/** What the batcher tells of each batch's fate (export-health.ts). */
export interface BatchOutcomes {
  succeeded(spans: number): void;
  failed(spans: number, error: unknown): void;
  drop(reason: 'queue_full', spans: number): void;
}

/** Spans kept as they are and encoded to OTLP JSON by the SDK's serializer when the batch goes out. */
export class JsonBatch implements SpanBatch {
  private readonly spans: tracing.ReadableSpan[] = [];

  /** `serializer`: the SDK's JsonTraceSerializer, passed in so only JSON exports load otlp-transformer. */
  constructor(private readonly serializer: typeof JsonTraceSerializer) {}

  get spanCount(): number {
    return this.spans.length;
  }

  add(span: tracing.ReadableSpan): void {
    this.spans.push(span);
  }

  toRequest(): Uint8Array {
    return this.serializer.serializeRequest(this.spans) ?? new Uint8Array();
  }
}

/** One export request's worth of spans, kept as the encoded `spans` fields of each scope. */
export class EncodedBatch implements SpanBatch {
  spanCount = 0;
  // Spans of one tracer provider share one resource; scopes are the tracers' names and versions.
  private readonly groups = new Map<
    resources.Resource,
    Map<string, { scope: tracing.ReadableSpan['instrumentationScope']; spans: ProtoWriter }>
  >();
  /** Ended spans not encoded yet: at most one run. */
  private readonly unencoded: tracing.ReadableSpan[] = [];

  add(span: tracing.ReadableSpan): void {
    this.unencoded.push(span);
    this.spanCount++;
    if (this.unencoded.length >= ENCODE_RUN) this.encodeRun();
  }

  private encodeRun(): void {
    for (const span of this.unencoded) this.encode(span);
    this.unencoded.length = 0;
  }

  private encode(span: tracing.ReadableSpan): void {
    let scopes = this.groups.get(span.resource);
    if (!scopes) this.groups.set(span.resource, (scopes = new Map()));
    const scope = span.instrumentationScope;
    const key = `${scope.name}\u0000${scope.version ?? ''}\u0000${scope.schemaUrl ?? ''}`;
    let entry = scopes.get(key);
    if (!entry) scopes.set(key, (entry = { scope, spans: new ProtoWriter(16 * 1024) }));
    writeSpan(entry.spans, 2, span);
  }

  /** The ExportTraceServiceRequest message. */
  toRequest(): Uint8Array {
    this.encodeRun();
    let size = 1024;
    for (const scopes of this.groups.values()) for (const { spans } of scopes.values()) size += spans.pos + 256;
    const w = new ProtoWriter(size);
    for (const [resource, scopes] of this.groups) {
      const resourceSpans = w.begin(1);
      const resourceAt = w.begin(1);
      writeResource(w, resource);
      w.end(resourceAt);
      for (const { scope, spans } of scopes.values()) {
        const scopeSpans = w.begin(2);
        const scopeAt = w.begin(1);
        writeScope(w, scope);
        w.end(scopeAt);
        w.raw(spans.bytes());
        if (scope.schemaUrl) w.stringField(3, scope.schemaUrl);
        w.end(scopeSpans);
      }
      if (resource.schemaUrl) w.stringField(3, resource.schemaUrl);
      w.end(resourceSpans);
    }
    return w.bytes();
  }
}

export class SpanBatcher implements tracing.SpanProcessor {
  private current: SpanBatch;
  /** Full batches waiting for their turn to be sent, oldest first. */
  private readonly ready: SpanBatch[] = [];
  private queued = 0;
  private timer?: NodeJS.Timeout | undefined;
  private sending?: Promise<void> | undefined;
  private stopped?: Promise<void>;
  /** Spans dropped because the queue was full (the collector slow or down). */
  dropped = 0;

  constructor(
    private readonly sender: BatchSender,
    private readonly options: SpanBatcherOptions,
    private readonly outcomes?: BatchOutcomes,
    private readonly newBatch: () => SpanBatch = () => new EncodedBatch(),
  ) {
    this.current = newBatch();
  }

  onStart(): void {}

  onEnd(span: tracing.ReadableSpan): void {
    if (this.stopped || (span.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) return;
    if (this.queued >= this.options.maxQueueSize) {
      this.dropped++;
      this.outcomes?.drop('queue_full', 1);
      return;
    }
    this.current.add(span);
    this.queued++;
    if (this.current.spanCount >= this.options.maxExportBatchSize) {
      this.seal();
      this.send();
    } else {
      this.schedule();
    }
  }

  /**
   * Sends everything queued. Waits at most one export timeout in all: batches go out
   * one after another, and with a collector that never answers, waiting for each in
   * turn would hold a stopping service for a timeout per batch.
   */
  async forceFlush(): Promise<void> {
    this.seal();
    this.send();
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.exportTimeoutMillis)));
    try {
      await Promise.race([Promise.all([this.sending, this.sender.forceFlush()]), giveUp]);
    } finally {
      // Also when the sender's flush fails: a pending timer would hold a stopping process.
      clearTimeout(timer);
    }
  }

  shutdown(): Promise<void> {
    this.stopped ??= (async () => {
      await this.forceFlush();
      await this.sender.shutdown();
    })();
    return this.stopped;
  }

  private seal(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.current.spanCount === 0) return;
    this.ready.push(this.current);
    this.current = this.newBatch();
  }

  /** A partial batch goes out after the scheduled delay; none is armed while a send is running. */
  private schedule(): void {
    if (this.timer || this.sending) return;
    this.timer = context.with(EXPORT_CONTEXT, () =>
      setTimeout(() => {
        this.timer = undefined;
        this.seal();
        this.send();
      }, this.options.scheduledDelayMillis),
    );
    this.timer.unref();
  }

  /** Sends ready batches one at a time until none is left. */
  private send(): void {
    if (this.sending || this.ready.length === 0) return;
    this.sending = context
      .with(EXPORT_CONTEXT, async () => {
        for (let batch = this.ready.shift(); batch; batch = this.ready.shift()) {
          this.queued -= batch.spanCount;
          await this.sendOne(batch);
        }
      })
      .finally(() => {
        this.sending = undefined;
        if (this.current.spanCount > 0) this.schedule();
      });
  }

  private sendOne(batch: SpanBatch): Promise<void> {
    return new Promise((resolve) => {
      let finished = false;
      // Success or failure, the batch is done with: export failures are the sender's to retry.
      const done = (result: ExportResult) => {
        if (finished) return;
        finished = true;
        clearTimeout(timeout);
        if (result.code === ExportResultCode.SUCCESS) this.outcomes?.succeeded(batch.spanCount);
        else this.outcomes?.failed(batch.spanCount, result.error);
        resolve();
      };
      // A send that outlives the export timeout no longer holds back the next batch.
      const timeout = setTimeout(
        () =>
          done({
            code: ExportResultCode.FAILED,
            error: new Error(`no answer from the collector within ${this.options.exportTimeoutMillis} ms`),
          }),
        this.options.exportTimeoutMillis,
      );
      timeout.unref();
      try {
        this.sender.export(batch, done);
      } catch (error) {
        done({ code: ExportResultCode.FAILED, error: error as Error });
      }
    });
  }
}
