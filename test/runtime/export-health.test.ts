// Export trouble is reported once as it starts and once as it ends, never more
// than once a minute for each, and every lost span is counted; so is a collector
// that answers too slowly for the load.
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { AggregationTemporality, InstrumentType } from '@opentelemetry/sdk-metrics';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { ExportHealth, reportedTo } from '../../src/runtime/telemetry/export-health.js';

function recorder() {
  const lines: { level: string; msg: string; fields: Record<string, unknown> }[] = [];
  return {
    lines,
    logger: {
      warn: (fields: object, msg: string) =>
        lines.push({ level: 'warn', msg, fields: fields as Record<string, unknown> }),
      info: (fields: object, msg: string) =>
        lines.push({ level: 'info', msg, fields: fields as Record<string, unknown> }),
    },
  };
}

describe('ExportHealth', () => {
  it('logs a warn line when exports start failing and an info line when they recover, with what was lost', () => {
    const { lines, logger } = recorder();
    let now = 0;
    const health = new ExportHealth(logger as never, () => now);
    health.succeeded(10);
    health.failed(5, new Error('connect ECONNREFUSED'));
    health.failed(5, new Error('connect ECONNREFUSED'));
    health.drop('queue_full', 3);
    expect(lines.map((l) => l.level)).toEqual(['warn']);
    now = 1000;
    health.succeeded(4);
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
    expect(lines[1]!.fields).toEqual({ droppedSpans: 13 });
    expect(health.exported).toBe(14);
    expect(health.dropped).toEqual({ queue_full: 3, export_failed: 10 });
  });

  it('a flapping collector gets at most one failing line (and its recovery line) a minute', () => {
    const { lines, logger } = recorder();
    let now = 0;
    const health = new ExportHealth(logger as never, () => now);
    for (let i = 0; i < 50; i++) {
      now += 1000; // 50 s of flapping
      health.failed(1, new Error('down'));
      health.succeeded(1);
    }
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
    now += 60_000;
    health.failed(1, new Error('down'));
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info', 'warn']);
    expect(health.dropped.export_failed).toBe(51);
  });

  it('tells of an outage that came and went within the quiet minute once the minute is over, with what it lost', () => {
    const { lines, logger } = recorder();
    let now = 0;
    const health = new ExportHealth(logger as never, () => now);
    health.failed(3, new Error('down'));
    now = 3_000;
    health.succeeded(1);
    for (now = 10_000; now < 55_000; now += 5_000) health.failed(5, new Error('down again'));
    health.succeeded(1);
    health.succeeded(1);
    expect(lines.map((l) => l.msg)).toEqual([
      expect.stringMatching(/^trace export failing/),
      expect.stringMatching(/^trace export recovered/),
    ]);
    now = 60_000;
    health.succeeded(1);
    health.succeeded(1);
    expect(lines.slice(2)).toEqual([
      {
        level: 'warn',
        msg: 'trace export failed again and recovered: spans were dropped meanwhile',
        fields: { droppedSpans: 45 },
      },
    ]);
  });

  it('writes the failing line of an outage that began within the quiet minute once the minute is over, if it goes on', () => {
    const { lines, logger } = recorder();
    let now = 0;
    const health = new ExportHealth(logger as never, () => now);
    health.failed(1, new Error('down'));
    health.succeeded(1);
    now = 30_000;
    health.failed(2, new Error('down again'));
    now = 59_000;
    health.failed(2, new Error('down again'));
    expect(lines).toHaveLength(2);
    now = 61_000;
    health.failed(2, new Error('still down'));
    health.failed(2, new Error('still down'));
    now = 62_000;
    health.succeeded(1);
    expect(lines.slice(2).map((l) => [l.level, l.fields])).toEqual([
      ['warn', { err: { type: 'Error', message: 'still down' } }],
      ['info', { droppedSpans: 8 }],
    ]);
  });

  it('counts in the recovery line the spans the queue dropped while the first failing export was still waiting', () => {
    const { lines, logger } = recorder();
    const health = new ExportHealth(logger as never, () => 0);
    health.succeeded(10);
    health.drop('queue_full', 7); // the queue fills while the export waits for its timeout
    health.failed(5, new Error('timeout'));
    health.succeeded(1);
    expect(lines.map((l) => [l.level, l.fields])).toEqual([
      ['warn', { droppedSpans: 7 }], // falling behind, before the export is known to have failed
      ['warn', { err: { type: 'Error', message: 'timeout' } }],
      ['info', { droppedSpans: 12 }],
    ]);
  });

  it('warns when a collector that answers too slowly makes the full queue drop spans, at most once a minute', () => {
    const { lines, logger } = recorder();
    let now = 0;
    const health = new ExportHealth(logger as never, () => now);
    for (let i = 0; i < 30; i++) {
      now += 1000;
      health.drop('queue_full', 2);
      health.succeeded(100);
    }
    expect(lines.map((l) => [l.level, l.fields])).toEqual([['warn', { droppedSpans: 2 }]]);
    expect(lines[0]!.msg).toMatch(/^trace export falling behind: the span queue is full/);
    now += 60_000;
    health.drop('queue_full', 1);
    expect(lines.map((l) => l.fields)).toEqual([{ droppedSpans: 2 }, { droppedSpans: 59 }]);
    expect(health.dropped.queue_full).toBe(61);
  });

  it('speaks of log records for log export, and counts them in its recovery line', () => {
    const { lines, logger } = recorder();
    const health = new ExportHealth(logger as never, () => 0, 'otlp', 'log');
    health.failed(4, new Error('down'));
    health.succeeded(2);
    expect(lines).toEqual([
      expect.objectContaining({ level: 'warn', msg: expect.stringMatching(/^log export failing: log records/) }),
      { level: 'info', msg: expect.stringMatching(/^log export recovered/), fields: { droppedRecords: 4 } },
    ]);
  });
});

describe('ExportHealth without a logger', () => {
  it("says it through OpenTelemetry's diagnostics", () => {
    const warnings: unknown[][] = [];
    const record = (...args: unknown[]) => void warnings.push(args);
    diag.setLogger(
      { error: record, warn: record, info: () => {}, debug: () => {}, verbose: () => {} },
      DiagLogLevel.WARN,
    );
    try {
      new ExportHealth(undefined, () => 0, 'otlp', 'metric').failed(1, new Error('refused'));
      expect(warnings).toEqual([
        [expect.stringMatching(/^metric export failing/), { err: expect.objectContaining({ message: 'refused' }) }],
      ]);
    } finally {
      diag.disable();
    }
  });
});

describe('reportedTo', () => {
  /** A metric exporter as the SDK's readers use one: export, flush, shutdown, and its preferences. */
  function exporter(results: ExportResult[]) {
    const calls: string[] = [];
    return {
      calls,
      export(batch: string[], done: (result: ExportResult) => void) {
        calls.push(`export ${batch.length}`);
        done(results.shift()!);
      },
      forceFlush: async function (this: { calls: string[] }) {
        this.calls.push('flush');
      },
      shutdown: async function (this: { calls: string[] }) {
        this.calls.push('shutdown');
      },
      selectAggregationTemporality: function (this: { calls: string[] }, kind: InstrumentType) {
        this.calls.push('temporality');
        return kind === InstrumentType.COUNTER ? AggregationTemporality.DELTA : AggregationTemporality.CUMULATIVE;
      },
    };
  }

  it('tells health each outcome, tells the caller success, and passes the other methods through', async () => {
    const { lines, logger } = recorder();
    const health = new ExportHealth(logger as never, () => 0);
    const inner = exporter([
      { code: ExportResultCode.FAILED, error: new Error('refused') },
      { code: ExportResultCode.SUCCESS },
    ]);
    const outer = reportedTo(health, inner, (batch) => batch.length);
    const results: ExportResult[] = [];
    outer.export(['a', 'b', 'c'], (r) => results.push(r));
    outer.export(['d'], (r) => results.push(r));
    expect(results.map((r) => r.code)).toEqual([ExportResultCode.SUCCESS, ExportResultCode.SUCCESS]);
    expect(health.dropped.export_failed).toBe(3);
    expect(health.exported).toBe(1);
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info']);
    // The reader asks the exporter which temporality it wants: the answer must be the exporter's own.
    expect(outer.selectAggregationTemporality(InstrumentType.COUNTER)).toBe(AggregationTemporality.DELTA);
    await outer.forceFlush();
    await outer.shutdown();
    expect(inner.calls).toEqual(['export 3', 'export 1', 'temporality', 'flush', 'shutdown']);
  });

  it('leaves out what the exporter does not have', () => {
    const health = new ExportHealth(undefined);
    const outer = reportedTo(
      health,
      { export: (_: unknown[], done: (r: ExportResult) => void) => done({ code: 0 }) },
      () => 0,
    );
    expect(Object.keys(outer)).toEqual(['export']);
  });
});
