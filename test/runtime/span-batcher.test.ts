// The span batcher's queueing: batch size, the scheduled delay, the bounded queue
// while the collector is slow, flush and shutdown. Sends go to a recording sender;
// what reaches a real collector is covered by telemetry.test.ts and sampling.test.ts.
import { context, diag, DiagLogLevel, ROOT_CONTEXT, TraceFlags, trace, type DiagLogger } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import * as tracing from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  batcherOptionsFromEnv,
  SpanBatcher,
  type BatchSender,
  type EncodedBatch,
} from '../../src/runtime/telemetry/span-batcher.js';

class RecordingSender implements BatchSender {
  readonly sent: number[] = [];
  readonly pending: Array<(result: ExportResult) => void> = [];
  /** When false, sends stay pending until `complete()`, as with a slow collector. */
  answer = true;
  flushed = 0;
  closed = false;

  export(batch: EncodedBatch, done: (result: ExportResult) => void): void {
    expect(batch.toRequest().length).toBeGreaterThan(0);
    this.sent.push(batch.spanCount);
    if (this.answer) done({ code: ExportResultCode.SUCCESS });
    else this.pending.push(done);
  }
  complete(): void {
    for (const done of this.pending.splice(0)) done({ code: ExportResultCode.SUCCESS });
  }
  async forceFlush(): Promise<void> {
    this.flushed++;
  }
  async shutdown(): Promise<void> {
    this.closed = true;
  }
}

const silentDiag: DiagLogger = { error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {} };
const options = { maxQueueSize: 10, maxExportBatchSize: 4, scheduledDelayMillis: 1000, exportTimeoutMillis: 5000 };

function setup(sender: RecordingSender, opts = options) {
  const batcher = new SpanBatcher(sender, opts);
  const provider = new tracing.TracerProvider({ spanProcessors: [batcher] });
  const tracer = provider.getTracer('test');
  const end = (n: number, sampled = true) => {
    for (let i = 0; i < n; i++) {
      const parent = sampled
        ? ROOT_CONTEXT
        : trace.setSpanContext(ROOT_CONTEXT, {
            traceId: 'c'.repeat(32),
            spanId: 'd'.repeat(16),
            traceFlags: TraceFlags.NONE,
          });
      tracer.startSpan(`span-${i}`, {}, parent).end();
    }
  };
  return { batcher, end };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SpanBatcher', () => {
  it('sends a batch as soon as it is full, the rest after the scheduled delay', async () => {
    vi.useFakeTimers();
    const sender = new RecordingSender();
    const { end } = setup(sender);
    end(6);
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.sent).toEqual([4]);
    await vi.advanceTimersByTimeAsync(999);
    expect(sender.sent).toEqual([4]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sender.sent).toEqual([4, 2]);
  });

  it('ignores spans that are not sampled', async () => {
    const sender = new RecordingSender();
    const { batcher, end } = setup(sender);
    end(3, false);
    await batcher.forceFlush();
    expect(sender.sent).toEqual([]);
  });

  it('keeps at most maxQueueSize spans while the collector does not answer, dropping the rest', async () => {
    vi.useFakeTimers();
    const sender = new RecordingSender();
    sender.answer = false;
    const { batcher, end } = setup(sender);
    end(4); // one batch goes out and hangs
    await vi.advanceTimersByTimeAsync(0);
    end(20); // 10 more fit in the queue
    expect(batcher.dropped).toBe(10);
    expect(sender.sent).toEqual([4]);
    // The collector is back: the queued spans go out, full batches first, one send at a time.
    sender.answer = true;
    sender.complete();
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.sent).toEqual([4, 4, 4]);
    await vi.advanceTimersByTimeAsync(1000);
    expect(sender.sent).toEqual([4, 4, 4, 2]);
  });

  it('moves on to the next batch when a send outlives the export timeout', async () => {
    vi.useFakeTimers();
    const sender = new RecordingSender();
    sender.answer = false;
    const { end } = setup(sender);
    end(8);
    await vi.advanceTimersByTimeAsync(0);
    expect(sender.sent).toEqual([4]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sender.sent).toEqual([4, 4]);
  });

  it('sends, times out and reports outside the context of the call whose span ended', async () => {
    // Log lines written there (a failing export's warn line) would carry that call's trace id.
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    try {
      const activeTraceId = () => trace.getSpanContext(context.active())?.traceId;
      const seen: Array<string | undefined> = [];
      const sender = new RecordingSender();
      sender.answer = false;
      const exportSpans = sender.export.bind(sender);
      sender.export = (batch, done) => {
        seen.push(activeTraceId());
        exportSpans(batch, done);
      };
      const record = () => void seen.push(activeTraceId());
      const batcher = new SpanBatcher(
        sender,
        { ...options, scheduledDelayMillis: 10, exportTimeoutMillis: 30 },
        { succeeded: record, failed: record, drop: record },
      );
      const tracer = new tracing.TracerProvider({ spanProcessors: [batcher] }).getTracer('test');
      const call = trace.setSpanContext(ROOT_CONTEXT, {
        traceId: 'a'.repeat(32),
        spanId: 'b'.repeat(16),
        traceFlags: TraceFlags.SAMPLED,
      });
      // Four fill a batch, sent at once; two wait for the scheduled delay. Neither send is answered.
      context.with(call, () => {
        for (let i = 0; i < 6; i++) tracer.startSpan(`span-${i}`).end();
      });
      await new Promise((resolve) => setTimeout(resolve, 150));
      expect(sender.sent).toEqual([4, 2]);
      expect(seen).toEqual([undefined, undefined, undefined, undefined]);
    } finally {
      context.disable();
    }
  });

  it('forceFlush sends everything queued and waits for it; shutdown then stops taking spans', async () => {
    const sender = new RecordingSender();
    const { batcher, end } = setup(sender);
    end(5);
    await batcher.forceFlush();
    expect(sender.sent).toEqual([4, 1]);
    expect(sender.flushed).toBe(1);
    end(2);
    await batcher.shutdown();
    expect(sender.sent).toEqual([4, 1, 2]);
    expect(sender.closed).toBe(true);
    end(3);
    await batcher.forceFlush();
    expect(sender.sent).toEqual([4, 1, 2]);
  });

  it('forceFlush waits one export timeout at most, however many batches a silent collector holds up', async () => {
    vi.useFakeTimers();
    const sender = new RecordingSender();
    sender.answer = false;
    const { batcher, end } = setup(sender);
    end(10);
    let flushed = false;
    void batcher.forceFlush().then(() => (flushed = true));
    await vi.advanceTimersByTimeAsync(4999);
    expect(flushed).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(flushed).toBe(true);
    expect(sender.sent.length).toBeLessThan(3);
  });

  it('forceFlush rejects with a failing sender flush and leaves no timer behind', async () => {
    vi.useFakeTimers();
    const sender = new RecordingSender();
    sender.forceFlush = async () => {
      throw new Error('flush failed');
    };
    const { batcher, end } = setup(sender);
    end(1);
    await expect(batcher.forceFlush()).rejects.toThrow('flush failed');
    expect(vi.getTimerCount()).toBe(0);
  });

  it('takes OTEL_BSP_* settings over its defaults, reporting values that are not numbers above 0', () => {
    const warned: string[] = [];
    diag.setLogger({ ...silentDiag, warn: (m: string) => void warned.push(m) }, DiagLogLevel.WARN);
    expect(
      batcherOptionsFromEnv(options, {
        OTEL_BSP_MAX_QUEUE_SIZE: '100',
        OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '50',
        OTEL_BSP_SCHEDULE_DELAY: '-1',
        OTEL_BSP_EXPORT_TIMEOUT: 'soon',
      }),
    ).toEqual({ maxQueueSize: 100, maxExportBatchSize: 50, scheduledDelayMillis: 1000, exportTimeoutMillis: 5000 });
    diag.disable();
    expect(warned).toEqual([
      'OTEL_BSP_SCHEDULE_DELAY (-1) is invalid, expected number greater than 0, using default.',
      'OTEL_BSP_EXPORT_TIMEOUT (soon) is invalid, expected number greater than 0, using default.',
    ]);
    // A batch never exceeds the queue.
    expect(batcherOptionsFromEnv(options, { OTEL_BSP_MAX_EXPORT_BATCH_SIZE: '64' }).maxExportBatchSize).toBe(10);
    expect(batcherOptionsFromEnv(options, {})).toEqual(options);
  });
});
