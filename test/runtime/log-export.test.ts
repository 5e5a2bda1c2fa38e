// OTEL_LOGS_EXPORTER end to end, each setting in a process of its own (the logger
// provider is process-wide): the service's own lines and Logs API records reach a
// receiver that decodes what the exporter really sends (http/json, http/protobuf, grpc),
// nothing is sent and stdout is the same when the variable is unset, and a collector
// that is down costs a bounded number of log lines, never a loop.
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { OtlpGrpcLogsReceiver, OtlpLogsReceiver } from '../helpers/otlp-logs.js';
import { runScript } from '../helpers/process.js';

interface ChildRun {
  code: number | null;
  lines: Record<string, unknown>[];
  /** What the child reports once served; undefined when it stopped before. */
  report:
    | { spans: { traceId: string; spanId: string }[]; served: number; lastCall: number; metrics: string }
    | undefined;
}

const BASE_ENV = { OTEL_BLRP_SCHEDULE_DELAY: '20', OTEL_BSP_SCHEDULE_DELAY: '20' };

async function runChild(env: Record<string, string>, limitMs = 60_000): Promise<ChildRun> {
  const { code, out } = await runScript(
    path.join(repoRoot, 'test/helpers/logs-child.ts'),
    [],
    { ...BASE_ENV, ...env },
    limitMs,
  );
  const lines: Record<string, unknown>[] = [];
  let report: ChildRun['report'];
  for (const text of out.split('\n')) {
    if (text.trim() === '') continue;
    let parsed: Record<string, unknown>;
    try {
      parsed = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // Not a log line: the child failed before or outside its logger (a missing package, say).
      throw new Error(`child (exit ${code}) wrote more than JSON lines:\n${out}`);
    }
    if ('report' in parsed) report = parsed['report'] as ChildRun['report'];
    else lines.push(parsed);
  }
  return { code, lines, report };
}

const receivers: { stop(): void }[] = [];
afterEach(() => {
  for (const r of receivers.splice(0)) r.stop();
});
async function receiver(): Promise<OtlpLogsReceiver> {
  const r = new OtlpLogsReceiver();
  await r.start();
  receivers.push(r);
  return r;
}

describe('OTEL_LOGS_EXPORTER=otlp', () => {
  // Spans go to the same collector over http/json; the LOGS variable picks the logs' own protocol.
  for (const [protocol, contentType, variables] of [
    ['http/json', 'application/json', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }],
    [
      'http/protobuf',
      'application/x-protobuf',
      { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf' },
    ],
  ] as const) {
    it(`sends the service's lines and Logs API records over ${protocol}`, async () => {
      const r = await receiver();
      const run = await runChild({
        OTEL_LOGS_EXPORTER: 'otlp',
        OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
        // No batch is due before the child shuts telemetry down: shutdown alone delivers them.
        OTEL_BLRP_SCHEDULE_DELAY: '60000',
        ...variables,
      });
      expect(run.code).toBe(0);
      expect(r.contentTypes.length).toBeGreaterThan(0);
      expect(r.contentTypes.every((t) => t.startsWith(contentType))).toBe(true);
      const span = run.report!.spans[0]!;
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);

      const stdoutLine = run.lines.find((l) => l['msg'] === 'placing order')!;
      const line = r.records.find((l) => l.body === 'placing order');
      expect(line).toMatchObject({
        severityNumber: 13,
        severityText: 'WARN',
        attributes: { order: 7, customer: 'ada' },
        traceId: span.traceId,
        spanId: span.spanId,
        // Sampled, as the line's trace_flags says.
        flags: 1,
        timeMs: Date.parse(String(stdoutLine['time'])),
        scope: 'tsk',
        // The SDK's default resource under the service's: telemetry.sdk.* as the conventions require.
        resource: expect.objectContaining({
          'service.name': 'logs-child',
          'service.instance.id': 'l-1',
          'telemetry.sdk.name': 'opentelemetry',
          'telemetry.sdk.language': 'nodejs',
          'telemetry.sdk.version': expect.stringMatching(/^\d+\.\d+\.\d+/),
        }),
      });
      // The line's own ids and the fields the resource carries are not repeated as attributes.
      expect(Object.keys(line!.attributes).sort()).toEqual(['customer', 'order']);

      // The access line, formatted later from its queue, carries the same trace.
      expect(r.records.find((l) => l.body === 'request')).toMatchObject({
        severityNumber: 9,
        severityText: 'INFO',
        attributes: expect.objectContaining({ operation: '/logs.v1.Svc/Order', code: 200 }),
        traceId: span.traceId,
        spanId: span.spanId,
        flags: 1,
      });

      expect(r.records.find((l) => l.body === 'from the logs api')).toMatchObject({
        severityNumber: 9,
        attributes: { 'app.step': 'checkout' },
        scope: 'app',
        traceId: span.traceId,
        spanId: span.spanId,
        flags: 1,
        resource: expect.objectContaining({ 'service.name': 'logs-child' }),
      });
      expect(r.records.find((l) => l.body === 'from api-logs')).toMatchObject({
        severityNumber: 17,
        scope: 'legacy',
        traceId: span.traceId,
      });
    });
  }

  it('sends over grpc to a scheme-less host:port (the default protocol)', async () => {
    const r = new OtlpGrpcLogsReceiver();
    await r.start();
    receivers.push(r);
    const run = await runChild({
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: r.endpoint,
      OTEL_TRACES_EXPORTER: 'none',
      // Batches due during the wait: /metrics then counts what the receiver took.
      IDLE_MS: '500',
    });
    expect(run.code).toBe(0);
    const exported = /otlp_log_records_exported_total(?:\{[^}]*\})? (\d+)/.exec(run.report!.metrics);
    expect(Number(exported?.[1])).toBeGreaterThanOrEqual(4);
    expect(r.records.find((l) => l.body === 'placing order')).toMatchObject({
      severityNumber: 13,
      attributes: { order: 7, customer: 'ada' },
      resource: expect.objectContaining({ 'service.name': 'logs-child' }),
    });
    expect(r.records.find((l) => l.body === 'from the logs api')?.scope).toBe('app');
  });

  it('takes the LOGS endpoint as the logs URL itself', async () => {
    const r = await receiver();
    const run = await runChild({
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${r.endpoint}/v1/logs`,
      OTEL_TRACES_EXPORTER: 'none',
    });
    expect(run.code).toBe(0);
    expect(r.others).toBe(0);
    expect(r.records.map((l) => l.body)).toEqual(
      expect.arrayContaining(['placing order', 'request', 'from the logs api']),
    );
  });
});

/** A line as it would be on any run: the time and the ids differ from run to run. */
function comparable(line: Record<string, unknown>): Record<string, unknown> {
  const { time: _time, trace_id: _trace, span_id: _span, latency: _latency, ...rest } = line;
  return rest;
}

describe('OTEL_LOGS_EXPORTER unset', () => {
  it('sends nothing, and stdout is what it is with log export on', async () => {
    // Traced calls (spans to the receiver) so the lines carry trace ids.
    const off = await receiver();
    const offRun = await runChild({
      OTEL_EXPORTER_OTLP_ENDPOINT: off.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    const on = await receiver();
    const onRun = await runChild({
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_ENDPOINT: on.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
    });
    expect(offRun.code).toBe(0);
    expect(off.traceRequests).toBeGreaterThan(0);
    expect(off.records).toEqual([]);
    expect(off.contentTypes).toEqual([]);
    expect(on.records.length).toBeGreaterThan(0);
    expect(offRun.lines.map(comparable)).toEqual(onRun.lines.map(comparable));
    expect(offRun.lines.find((l) => l['msg'] === 'placing order')).toMatchObject({
      level: 'warn',
      'service.name': 'logs-child',
      order: 7,
      trace_id: offRun.report!.spans[0]!.traceId,
      span_id: offRun.report!.spans[0]!.spanId,
      trace_flags: '01',
    });
  });
});

describe('OTEL_LOGS_EXPORTER naming an exporter tsk does not have', () => {
  it('warns of it at start and exports with the ones it has, as sdk-node does', async () => {
    const r = await receiver();
    const run = await runChild({
      OTEL_LOGS_EXPORTER: 'otlp,loki',
      OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_BLRP_SCHEDULE_DELAY: '60000',
    });
    expect(run.code).toBe(0);
    expect(run.lines).toContainEqual(
      expect.objectContaining({
        level: 'warn',
        msg: 'OTEL_LOGS_EXPORTER: "loki" is not an exporter tsk has (otlp, console or none); ignored',
      }),
    );
    expect(r.records.some((l) => l.body === 'placing order')).toBe(true);
  });
});

describe('log export to a collector that is down', () => {
  it('keeps serving, says so once in the log, counts the lost records, and does not export its own reports', async () => {
    // A port nothing listens on: the receiver's, once it stopped.
    const gone = await receiver();
    gone.stop();
    const calls = 20;
    const run = await runChild({
      OTEL_LOGS_EXPORTER: 'otlp',
      OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: `${gone.endpoint}/v1/logs`,
      OTEL_EXPORTER_OTLP_TIMEOUT: '300',
      OTEL_BLRP_EXPORT_TIMEOUT: '500',
      OTEL_TRACES_EXPORTER: 'none',
      CALLS: String(calls),
      CALL_GAP_MS: '25',
      IDLE_MS: '4000',
    });
    expect(run.code).toBe(0);
    expect(run.report!.served).toBe(calls);
    // Batches go every 20 ms and each fails: one line says so, with the exporter's error.
    const failing = run.lines.filter((l) => String(l['msg']).startsWith('log export failing'));
    expect(failing).toEqual([
      expect.objectContaining({ level: 'warn', err: expect.objectContaining({ message: expect.any(String) }) }),
    ]);
    expect(run.lines.filter((l) => l['component'] === 'opentelemetry')).toEqual([]);
    const dropped = /otlp_log_records_dropped_total\{reason="export_failed"\} (\d+)/.exec(run.report!.metrics);
    // Three records a call (a line, two Logs API records) and an access line: all lost.
    expect(Number(dropped?.[1])).toBeGreaterThanOrEqual(calls * 4);
    expect(run.report!.metrics).toMatch(/otlp_log_records_exported_total(\{[^}]*\})? 0\n/);
  });
});
