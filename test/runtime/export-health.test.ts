// Export trouble is reported once as it starts and once as it ends, never more
// than once a minute for each, and every lost span is counted.
import { describe, expect, it } from 'vitest';
import { ExportHealth } from '../../src/runtime/telemetry/export-health.js';

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
});
