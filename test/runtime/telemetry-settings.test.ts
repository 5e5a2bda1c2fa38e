// The standard OTEL_* settings, each in a process of its own (telemetry is
// process-wide): every OTLP protocol against a receiver that speaks only that one,
// the exporter, sampler, propagator and SDK switches, headers, timeout and
// compression, endpoints without a scheme, Zipkin export, and export failures made visible.
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { OtlpHttpReceiver, OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';
import { runScript } from '../helpers/process.js';
import { ZipkinReceiver, type ZipkinSpan } from '../helpers/zipkin.js';

interface ChildRun {
  code: number | null;
  /** Parsed JSON log lines. */
  lines: Record<string, unknown>[];
  /** Raw output lines that are not JSON (the console exporter's). */
  text: string;
  metrics: string;
  heapUsed: number;
  /** What a user span processor saw (options.userProcessor). */
  seen: { started: number; ended: number };
  /** Whether the middleware recorded its spans itself rather than through the SDK's tracer. */
  fastPath: boolean;
}

// Generous export timeouts: on a busy machine a first export (connect included) can take seconds.
const BASE_ENV = { OTEL_BSP_SCHEDULE_DELAY: '20', OTEL_BSP_EXPORT_TIMEOUT: '8000', OTEL_EXPORTER_OTLP_TIMEOUT: '8000' };

/** Runs test/helpers/telemetry-child.ts with these variables (and no inherited OTEL_*) and options. */
async function runChild(env: Record<string, string>, options: object = {}, limitMs = 60_000): Promise<ChildRun> {
  const { code, out } = await runScript(
    path.join(repoRoot, 'test/helpers/telemetry-child.ts'),
    [JSON.stringify(options)],
    { ...BASE_ENV, ...env },
    limitMs,
  );
  const lines: Record<string, unknown>[] = [];
  const text: string[] = [];
  let metrics = '';
  let heapUsed = 0;
  let seen = { started: 0, ended: 0 };
  let fastPath = false;
  for (const line of out.split('\n')) {
    let parsed: Record<string, unknown> | undefined;
    try {
      parsed = JSON.parse(line) as Record<string, unknown>;
    } catch {
      parsed = undefined;
    }
    if (parsed && typeof parsed === 'object' && 'metrics' in parsed) {
      metrics = String(parsed['metrics']);
      heapUsed = Number(parsed['heapUsed']);
      seen = parsed['seen'] as typeof seen;
      fastPath = parsed['fastPath'] === true;
    } else if (parsed && typeof parsed === 'object') lines.push(parsed);
    else text.push(line);
  }
  return { code, lines, text: text.join('\n'), metrics, heapUsed, seen, fastPath };
}

const receivers: { stop(): void }[] = [];
afterEach(() => {
  for (const r of receivers.splice(0)) r.stop();
});
async function grpcReceiver(options: { silent?: boolean } = {}): Promise<OtlpReceiver> {
  const r = new OtlpReceiver(options);
  await r.start();
  receivers.push(r);
  return r;
}
async function zipkinReceiver(): Promise<ZipkinReceiver> {
  const r = new ZipkinReceiver();
  await r.start();
  receivers.push(r);
  return r;
}
async function httpReceiver(accepts: 'protobuf' | 'json'): Promise<OtlpHttpReceiver> {
  const r = new OtlpHttpReceiver(accepts);
  await r.start();
  receivers.push(r);
  return r;
}

/** The three server spans and three client spans of a default child run. */
function expectCallSpans(spans: ReceivedSpan[]): void {
  const server = spans.filter((s) => s.kind === 2);
  const client = spans.filter((s) => s.kind === 3);
  expect(server).toHaveLength(3);
  expect(client).toHaveLength(3);
  for (const c of client) expect(server.map((s) => s.spanId)).toContain(c.parentSpanId);
  expect(server.every((s) => s.serviceName === 'child')).toBe(true);
}

const metricValue = (metrics: string, series: RegExp) => Number(series.exec(metrics)?.[1] ?? NaN);

describe('OTEL_EXPORTER_OTLP_PROTOCOL', () => {
  it('grpc reaches a gRPC-only receiver', async () => {
    const r = await grpcReceiver();
    const run = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    expect(run.code).toBe(0);
    expectCallSpans(r.spans);
    expect(metricValue(run.metrics, /^otlp_spans_exported_total(?:\{[^}]*\})? (\d+)/m)).toBe(6);
  }, 60_000);

  it('http/protobuf reaches a protobuf-only HTTP receiver', async () => {
    const r = await httpReceiver('protobuf');
    const run = await runChild({
      OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    });
    expect(run.code).toBe(0);
    expect(r.refused).toBe(0);
    expectCallSpans(r.spans);
  }, 60_000);

  it('http/json reaches a JSON-only HTTP receiver, also when only the TRACES variable names it', async () => {
    const r = await httpReceiver('json');
    const run = await runChild({
      OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
      OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
    });
    expect(run.code).toBe(0);
    expect(r.refused).toBe(0);
    expectCallSpans(r.spans);
    expect(r.spans.find((s) => s.kind === 2)!.attributes['rpc.system']).toBe('grpc');
  }, 60_000);

  it('an unknown protocol stops the service with one line', async () => {
    const run = await runChild({
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:1',
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/xml',
    });
    expect(run.code).toBe(2);
    expect(run.lines.map((l) => l['msg'])).toContain(
      'telemetry: OTEL_EXPORTER_OTLP_PROTOCOL: "http/xml" is not an OTLP protocol; use grpc, http/protobuf or http/json',
    );
  }, 60_000);
});

describe('OTLP endpoints', () => {
  it('host:port without a scheme is plaintext gRPC', async () => {
    const r = await grpcReceiver();
    const run = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint.replace('http://', '') });
    expect(run.code).toBe(0);
    expectCallSpans(r.spans);
  }, 60_000);

  it('host:port without a scheme for an HTTP protocol stops the service with one line saying what to write', async () => {
    const run = await runChild({}, { otlp: { endpoint: 'otel-collector:4318', protocol: 'http/protobuf' } });
    expect(run.code).toBe(2);
    expect(run.lines.map((l) => l['msg'])).toContain(
      'telemetry: OTLP endpoint "otel-collector:4318" has no scheme; with http/protobuf write http://otel-collector:4318 (or https://)',
    );
  }, 60_000);

  it('OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is the traces URL itself', async () => {
    const r = await httpReceiver('protobuf');
    await runChild({
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${r.endpoint}/v1/traces`,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
    });
    expectCallSpans(r.spans);
  }, 60_000);
});

describe('headers, compression', () => {
  it('OTEL_EXPORTER_OTLP_HEADERS and gzip compression reach an HTTP receiver', async () => {
    const r = await httpReceiver('json');
    await runChild({
      OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_HEADERS: 'x-tenant=acme,authorization=Bearer%20t',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
    });
    expectCallSpans(r.spans);
    expect(r.requests[0]).toMatchObject({ 'x-tenant': 'acme', authorization: 'Bearer t', 'content-encoding': 'gzip' });
  }, 60_000);

  it('OTEL_EXPORTER_OTLP_TRACES_HEADERS reach a gRPC receiver as metadata', async () => {
    const r = await grpcReceiver();
    await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-tenant=acme' });
    expectCallSpans(r.spans);
    expect(r.requests[0]).toMatchObject({ 'x-tenant': 'acme' });
  }, 60_000);
});

describe('OTEL_TRACES_EXPORTER, OTEL_SDK_DISABLED, OTEL_TRACES_SAMPLER, OTEL_PROPAGATORS', () => {
  it('none exports nothing though an endpoint is set', async () => {
    const r = await grpcReceiver();
    const run = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_TRACES_EXPORTER: 'none' });
    expect(run.code).toBe(0);
    expect(r.requests).toHaveLength(0);
  }, 60_000);

  it('console prints spans, and otlp,console does both', async () => {
    const r = await grpcReceiver();
    const run = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_TRACES_EXPORTER: 'otlp,console' });
    expect(run.code).toBe(0);
    expectCallSpans(r.spans);
    expect(run.text).toContain("name: '/child.v1.Svc/Ok'");
  }, 60_000);

  it('OTEL_SDK_DISABLED=true turns telemetry off: nothing exported, calls still served', async () => {
    const r = await grpcReceiver();
    const run = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_SDK_DISABLED: 'true' });
    expect(run.code).toBe(0);
    expect(r.requests).toHaveLength(0);
    expect(run.lines.filter((l) => l['operation'] === '/child.v1.Svc/Ok')).toHaveLength(2);
  }, 60_000);

  it('OTEL_TRACES_SAMPLER=always_off overrides the configured ratio', async () => {
    const r = await grpcReceiver();
    await runChild(
      { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_TRACES_SAMPLER: 'always_off' },
      { samplingRatio: 1 },
    );
    expect(r.spans).toHaveLength(0);
  }, 60_000);

  it('OTEL_TRACES_SAMPLER=traceidratio with OTEL_TRACES_SAMPLER_ARG=1 samples everything though the config says 0', async () => {
    const r = await grpcReceiver();
    await runChild(
      { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '1' },
      { samplingRatio: 0 },
    );
    expectCallSpans(r.spans);
  }, 60_000);

  it('an unknown OTEL_TRACES_SAMPLER is reported, and the configured ratio stays', async () => {
    const r = await grpcReceiver();
    const run = await runChild(
      { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_TRACES_SAMPLER: 'bogus' },
      { samplingRatio: 0 },
    );
    expect(run.code).toBe(0);
    expect(r.spans).toHaveLength(0);
    expect(run.lines).toContainEqual(
      expect.objectContaining({
        component: 'opentelemetry',
        msg: 'unknown OTEL_TRACES_SAMPLER value "bogus", using the configured sampling ratio',
      }),
    );
  }, 60_000);

  it('OTEL_PROPAGATORS=jaeger (dropped from SDK 3) is reported as unknown, and the W3C headers are not read', async () => {
    const r = await grpcReceiver();
    const run = await runChild(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
        OTEL_PROPAGATORS: 'jaeger',
        HEADERS: JSON.stringify({ traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01' }),
      },
      { samplingRatio: 1 },
    );
    expect(run.code).toBe(0);
    expect(run.lines).toContainEqual(
      expect.objectContaining({
        component: 'opentelemetry',
        msg: 'unknown propagator from "OTEL_PROPAGATORS": "jaeger"',
      }),
    );
    expect(r.spans.filter((s) => s.kind === 2).some((s) => s.traceId === '0af7651916cd43dd8448eb211c80319c')).toBe(
      false,
    );
  }, 60_000);

  it('OTEL_PROPAGATORS=b3 continues a trace from B3 headers, following its sampled flag', async () => {
    const r = await grpcReceiver();
    const traceId = '0af7651916cd43dd8448eb211c80319c';
    await runChild(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
        OTEL_PROPAGATORS: 'b3',
        HEADERS: JSON.stringify({ b3: `${traceId}-b7ad6b7169203331-1` }),
      },
      { samplingRatio: 0 },
    );
    const server = r.spans.filter((s) => s.kind === 2);
    expect(server).toHaveLength(3);
    expect(server.every((s) => s.traceId === traceId && s.parentSpanId === 'b7ad6b7169203331')).toBe(true);
  }, 60_000);
});

describe("what a service's --check warns of", () => {
  const warningsFor = async (env: Record<string, string>): Promise<string[]> => {
    const { code, out } = await runScript(
      path.join(repoRoot, 'test/helpers/settings-warnings-child.ts'),
      [],
      env,
      60_000,
    );
    expect(code).toBe(0);
    return JSON.parse(out.trim().split('\n').at(-1)!);
  };

  it('the warnings the service logs as it starts: sampler, propagator, numbers, header entries', async () => {
    expect(
      await warningsFor({
        OTEL_TRACES_SAMPLER: 'nope',
        OTEL_PROPAGATORS: 'jaeger',
        OTEL_BSP_SCHEDULE_DELAY: 'abc',
        OTEL_EXPORTER_OTLP_HEADERS: 'garbage,x-ok=1',
      }),
    ).toEqual([
      'OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not key=value and is ignored; write e.g. authorization=Bearer%20token',
      'OTEL_BSP_SCHEDULE_DELAY (abc) is invalid, expected number greater than 0, using default.',
      'unknown OTEL_TRACES_SAMPLER value "nope", using the configured sampling ratio',
      'unknown propagator from "OTEL_PROPAGATORS": "jaeger"',
    ]);
  }, 60_000);

  it('nothing for settings that are fine', async () => {
    expect(await warningsFor({ OTEL_TRACES_SAMPLER: 'always_on', OTEL_EXPORTER_OTLP_HEADERS: 'a=b' })).toEqual([]);
  }, 60_000);
});

describe('OTEL_TRACES_EXPORTER=zipkin', () => {
  /** Zipkin's env for a receiver, with the handler's own span on. */
  const zipkinEnv = (r: ZipkinReceiver) => ({ OTEL_EXPORTER_ZIPKIN_ENDPOINT: r.endpoint });
  const ids = (spans: { id?: string; spanId?: string }[]) => spans.map((s) => s.id ?? s.spanId).sort();

  it("sends the middleware's own spans and a handler's startActiveSpan spans, as Zipkin v2 JSON", async () => {
    const r = await zipkinReceiver();
    const run = await runChild(
      { ...zipkinEnv(r), OTEL_TRACES_EXPORTER: 'zipkin' },
      { userSpan: true, samplingRatio: 1 },
    );
    expect(run.code).toBe(0);
    // The middleware recorded its spans itself, and they still reached Zipkin.
    expect(run.fastPath).toBe(true);
    expect(r.refused).toBe(0);
    expect(metricValue(run.metrics, /^zipkin_spans_exported_total(?:\{[^}]*\})? (\d+)/m)).toBe(r.spans.length);
    const server = r.spans.filter((s) => s.kind === 'SERVER');
    const client = r.spans.filter((s) => s.kind === 'CLIENT');
    const user = r.spans.filter((s) => s.name === 'load-user');
    expect(server.map((s) => s.name).sort()).toEqual(['/child.v1.Svc/Missing', '/child.v1.Svc/Ok', '/child.v1.Svc/Ok']);
    expect(client).toHaveLength(3);
    expect(user).toHaveLength(3);
    expect(r.spans).toHaveLength(9);
    for (const s of server) {
      expect(s.parentId).toBeUndefined();
      expect(s.tags['rpc.system']).toBe('grpc');
    }
    const parentOf = (span: ZipkinSpan) => server.find((s) => s.id === span.parentId);
    for (const span of [...user, ...client]) {
      expect(parentOf(span), span.name).toBeDefined();
      expect(span.traceId).toBe(parentOf(span)!.traceId);
    }
    for (const span of user) {
      // An internal span has no Zipkin kind.
      expect(span).not.toHaveProperty('kind');
      expect(span.tags['app.user_id']).toBe('u-1');
    }
    const now = Date.now() * 1000;
    for (const span of r.spans) {
      expect(span.localEndpoint.serviceName).toBe('child');
      expect(span.duration).toBeGreaterThan(0);
      expect(span.timestamp).toBeGreaterThan(now - 120e6);
      expect(span.timestamp).toBeLessThanOrEqual(now);
      expect(span.traceId).toMatch(/^[0-9a-f]{32}$/);
      expect(span.id).toMatch(/^[0-9a-f]{16}$/);
    }
    // Each call is a trace of its own.
    expect(new Set(server.map((s) => s.traceId)).size).toBe(3);
  }, 60_000);

  it('otlp,zipkin sends every span to both receivers', async () => {
    const otlp = await grpcReceiver();
    const zipkin = await zipkinReceiver();
    const run = await runChild(
      { ...zipkinEnv(zipkin), OTEL_EXPORTER_OTLP_ENDPOINT: otlp.endpoint, OTEL_TRACES_EXPORTER: 'otlp,zipkin' },
      { userSpan: true },
    );
    expect(run.code).toBe(0);
    expect(run.fastPath).toBe(true);
    expectCallSpans(otlp.spans);
    expect(otlp.spans).toHaveLength(9);
    expect(ids(zipkin.spans)).toEqual(ids(otlp.spans));
  }, 60_000);

  it('console,zipkin prints the spans and sends them', async () => {
    const zipkin = await zipkinReceiver();
    const run = await runChild({ ...zipkinEnv(zipkin), OTEL_TRACES_EXPORTER: 'console,zipkin' }, { userSpan: true });
    expect(run.code).toBe(0);
    expect(zipkin.spans).toHaveLength(9);
    expect(run.text).toContain("name: '/child.v1.Svc/Ok'");
    expect(run.text).toContain("name: 'load-user'");
  }, 60_000);

  /** The lines saying Zipkin export is failing. */
  const zipkinFailing = (run: ChildRun) =>
    run.lines.filter((l) => l['exporter'] === 'zipkin' && String(l['msg']).startsWith('trace export failing'));

  it('a Zipkin endpoint that refuses connections: calls are still served, one warn line, the dropped counter rises', async () => {
    const r = await zipkinReceiver();
    const endpoint = r.endpoint;
    r.stop(); // nothing listens there now
    // Held while calls go on, so scheduled exports (every 20 ms here) fail too, not only the final flush.
    const run = await runChild({
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: endpoint,
      HOLD_MS: '300',
    });
    expect(run.code).toBe(0);
    const served = run.lines.filter((l) => l['operation'] === '/child.v1.Svc/Ok' && l['kind'] === 'server');
    expect(served.length).toBeGreaterThan(20);
    // Once, with the error, however many batches failed: not a line per batch.
    const failing = zipkinFailing(run);
    expect(failing, JSON.stringify(run.lines.slice(-5))).toHaveLength(1);
    expect(failing[0]).toMatchObject({ level: 'warn', err: { message: expect.stringContaining('ECONNREFUSED') } });
    expect(run.lines.filter((l) => l['level'] === 'error')).toEqual([]);
    const dropped = metricValue(run.metrics, /^zipkin_spans_dropped_total\{reason="export_failed"\} (\d+)/m);
    expect(dropped).toBeGreaterThan(served.length / 2);
  }, 60_000);

  it('a Zipkin that never answers: each request ends at OTEL_EXPORTER_ZIPKIN_TIMEOUT and is reported', async () => {
    const silent = net.createServer((socket) => socket.on('data', () => {}));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const run = await runChild({
        OTEL_TRACES_EXPORTER: 'zipkin',
        OTEL_EXPORTER_ZIPKIN_ENDPOINT: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/api/v2/spans`,
        OTEL_EXPORTER_ZIPKIN_TIMEOUT: '150',
        HOLD_MS: '500',
      });
      expect(run.code).toBe(0);
      const failing = zipkinFailing(run);
      expect(failing, JSON.stringify(run.lines.slice(-5))).toHaveLength(1);
      expect(failing[0]).toMatchObject({
        err: { message: 'Zipkin did not answer within 150 ms (OTEL_EXPORTER_ZIPKIN_TIMEOUT)' },
      });
      expect(metricValue(run.metrics, /^zipkin_spans_dropped_total\{reason="export_failed"\} (\d+)/m)).toBeGreaterThan(
        0,
      );
    } finally {
      silent.close();
    }
  }, 60_000);

  it('a flush whose Zipkin export fails is reported too, not dropped in silence', async () => {
    const r = await zipkinReceiver();
    const endpoint = r.endpoint;
    r.stop();
    // No scheduled export comes before the child's forceFlush: only the flush sends.
    const run = await runChild({
      OTEL_TRACES_EXPORTER: 'zipkin',
      OTEL_EXPORTER_ZIPKIN_ENDPOINT: endpoint,
      OTEL_BSP_SCHEDULE_DELAY: '60000',
    });
    expect(run.code).toBe(0);
    expect(zipkinFailing(run)).toEqual([
      expect.objectContaining({
        level: 'warn',
        err: expect.objectContaining({ message: expect.stringContaining('ECONNREFUSED') }),
      }),
    ]);
  }, 60_000);

  it('an OTEL_EXPORTER_ZIPKIN_ENDPOINT that is not a URL stops the service with one line', async () => {
    const run = await runChild({ OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'zipkin 9411' });
    expect(run.code).toBe(2);
    expect(run.lines.map((l) => l['msg'])).toContain(
      'telemetry: OTEL_EXPORTER_ZIPKIN_ENDPOINT: "zipkin 9411" is not a valid URL; write e.g. http://zipkin:9411/api/v2/spans',
    );
  }, 60_000);
});

describe('OTEL_METRIC_EXPORT_INTERVAL', () => {
  it('sets how often metrics are pushed over OTLP (otlp_metrics)', async () => {
    const r = await grpcReceiver();
    const run = await runChild(
      { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_METRIC_EXPORT_INTERVAL: '200', HOLD_MS: '1500' },
      { otlp: { metrics: true } },
    );
    expect(run.code).toBe(0);
    // Pushes while the child runs, not only the one at shutdown (the default interval is 60 s).
    expect(r.histogramExports.length).toBeGreaterThanOrEqual(3);
  }, 60_000);

  it('a value that is not above 0 is reported and the default kept, as sdk-node does; the service runs', async () => {
    const r = await grpcReceiver();
    const run = await runChild(
      { OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_METRIC_EXPORT_INTERVAL: '0', OTEL_METRIC_EXPORT_TIMEOUT: '-1' },
      { otlp: { metrics: true } },
    );
    expect(run.code).toBe(0);
    expect(run.lines.map((l) => l['msg'])).toEqual(
      expect.arrayContaining([
        'OTEL_METRIC_EXPORT_INTERVAL (0) is invalid, expected number greater than 0, using default.',
        'OTEL_METRIC_EXPORT_TIMEOUT (-1) is invalid, expected number greater than 0, using default.',
      ]),
    );
  }, 60_000);
});

describe('otlp_metrics', () => {
  it('pushes metrics when OTEL_TRACES_EXPORTER=none turns trace export off', async () => {
    const r = await grpcReceiver();
    const run = await runChild(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
        OTEL_TRACES_EXPORTER: 'none',
        OTEL_METRIC_EXPORT_INTERVAL: '200',
        HOLD_MS: '600',
      },
      { otlp: { metrics: true } },
    );
    expect(run.code).toBe(0);
    expect(r.spans).toEqual([]);
    expect(r.histogramExports.length).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe('OTEL_LOG_LEVEL', () => {
  it("debug shows OpenTelemetry's debug lines though the service logs at info; unset, they stay out", async () => {
    const debugLines = (lines: Record<string, unknown>[]) =>
      lines.filter((l) => l['component'] === 'opentelemetry' && l['level'] === 'debug');
    const debug = await runChild({ OTEL_LOG_LEVEL: 'debug' });
    expect(debugLines(debug.lines).map((l) => l['msg'])).toContainEqual(
      expect.stringMatching(/^@opentelemetry\/api: Registered a global for metrics/),
    );
    expect(debug.lines.some((l) => l['level'] === 'debug' && l['component'] !== 'opentelemetry')).toBe(false);
    expect(debugLines((await runChild({})).lines)).toEqual([]);
  }, 60_000);
});

describe('runtime metrics', () => {
  /** Each series (name and labels) on /metrics, with how often it appears. */
  const series = (metrics: string) => {
    const counts = new Map<string, number>();
    for (const line of metrics.split('\n')) {
      const key = /^([a-z_:][\w:]*(?:\{[^}]*\})?) /i.exec(line)?.[1];
      if (key) counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    return counts;
  };

  it("are served once each, and with OpenTelemetry's runtime-node instrumentation its own take the place of tsk's", async () => {
    const plain = await runChild({});
    expect(plain.metrics).toMatch(/^nodejs_eventloop_utilization /m);
    expect(plain.metrics).toMatch(/^process_cpu_time_total\{/m);
    const withInstrumentation = await runChild({}, { runtimeInstrumentation: true });
    expect(withInstrumentation.code).toBe(0);
    const twice = [...series(withInstrumentation.metrics)].filter(([, n]) => n > 1).map(([k]) => k);
    expect(twice).toEqual([]);
    // The instrumentation's event-loop and heap series, tsk's process ones.
    expect(withInstrumentation.metrics).toMatch(/^nodejs_eventloop_utilization /m);
    expect(withInstrumentation.metrics).toMatch(/^v8js_memory_heap_used\{/m);
    expect(withInstrumentation.metrics).toMatch(/^process_cpu_time_total\{/m);
    expect(withInstrumentation.metrics).toMatch(/^process_memory_usage /m);
  }, 60_000);
});

describe('OTEL_NODE_EXPERIMENTAL_SDK_METRICS', () => {
  it("turns on the SDK's metrics of its own spans, and every span is counted", async () => {
    const r = await grpcReceiver();
    const run = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_NODE_EXPERIMENTAL_SDK_METRICS: 'true' });
    expect(run.code).toBe(0);
    expectCallSpans(r.spans);
    const started = [...run.metrics.matchAll(/^otel_sdk_span_started_total(?:\{[^}]*\})? (\d+)/gm)];
    expect(started.reduce((sum, m) => sum + Number(m[1]), 0)).toBe(r.spans.length);
  }, 60_000);
});

describe('OTEL_METRICS_EXPORTER', () => {
  const env = (r: { endpoint: string }, exporters: string) => ({
    OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
    OTEL_METRICS_EXPORTER: exporters,
    OTEL_METRIC_EXPORT_INTERVAL: '200',
    HOLD_MS: '600',
  });

  it('otlp pushes metrics though the config leaves otlp_metrics off', async () => {
    const r = await grpcReceiver();
    const run = await runChild(env(r, 'otlp'), { otlp: { metrics: false } });
    expect(run.code).toBe(0);
    expect(r.histogramExports.length).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it('none pushes nothing though the config turns otlp_metrics on; /metrics is still served', async () => {
    const r = await grpcReceiver();
    const run = await runChild(env(r, 'none'), { otlp: { metrics: true } });
    expect(run.code).toBe(0);
    expect(r.histogramExports).toEqual([]);
    expect(run.metrics).toContain('server_requests_seconds');
  }, 60_000);

  it('a failed push is one warn line with the error, however many pushes fail', async () => {
    const r = await grpcReceiver();
    const endpoint = r.endpoint;
    r.stop(); // nothing listens there now
    const run = await runChild(
      { ...env({ endpoint }, 'otlp'), OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_TIMEOUT: '150' },
      { otlp: { metrics: false } },
    );
    expect(run.code).toBe(0);
    // A push every 200 ms for 600 ms, each refused.
    expect(run.lines.filter((l) => String(l['msg']).startsWith('metric export failing'))).toEqual([
      expect.objectContaining({ level: 'warn', err: expect.objectContaining({ message: expect.any(String) }) }),
    ]);
    expect(run.lines.filter((l) => l['component'] === 'opentelemetry')).toEqual([]);
  }, 60_000);

  it('console prints metrics on stdout; an unknown name is reported', async () => {
    const r = await grpcReceiver();
    const run = await runChild(env(r, 'console,statsd'), { otlp: { metrics: false } });
    expect(run.code).toBe(0);
    expect(r.histogramExports).toEqual([]);
    expect(run.text).toContain("name: 'server_requests_seconds'");
    expect(run.lines).toContainEqual(
      expect.objectContaining({
        component: 'opentelemetry',
        msg: 'Unsupported OTEL_METRICS_EXPORTER value: "statsd". Supported values are: otlp, console, prometheus, none.',
      }),
    );
  }, 60_000);
});

describe('OTEL_EXPORTER_OTLP_METRICS_PROTOCOL', () => {
  it('sends metrics over their own protocol while traces go over theirs', async () => {
    const traces = await httpReceiver('protobuf');
    const metrics = await grpcReceiver();
    const run = await runChild(
      {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${traces.endpoint}/v1/traces`,
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: metrics.endpoint,
        OTEL_METRIC_EXPORT_INTERVAL: '200',
        HOLD_MS: '600',
      },
      { otlp: { metrics: true } },
    );
    expect(run.code).toBe(0);
    expect(traces.spans.length).toBeGreaterThan(0);
    expect(metrics.histogramExports.length).toBeGreaterThanOrEqual(1);
  }, 60_000);
});

describe('OTEL_NODE_RESOURCE_DETECTORS', () => {
  it("describes the host and process itself when unset; host and process add the detectors' attributes", async () => {
    const plain = await grpcReceiver();
    await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: plain.endpoint });
    expect(plain.spans[0]!.resource).toMatchObject({
      'host.name': expect.any(String),
      'process.pid': expect.any(Number),
    });
    expect(plain.spans[0]!.resource).not.toHaveProperty('os.type');

    const detected = await grpcReceiver();
    const run = await runChild({
      OTEL_EXPORTER_OTLP_ENDPOINT: detected.endpoint,
      OTEL_NODE_RESOURCE_DETECTORS: 'host,process,nosuch',
    });
    expect(run.code).toBe(0);
    expect(detected.spans[0]!.resource).toMatchObject({
      'host.name': expect.any(String),
      'host.arch': expect.any(String),
      'os.type': 'linux',
      'process.pid': expect.any(Number),
      'process.executable.name': expect.any(String),
      'service.name': 'child',
    });
    expect(run.lines).toContainEqual(
      expect.objectContaining({
        msg: 'unknown resource detector "nosuch" in OTEL_NODE_RESOURCE_DETECTORS environment variable: this detector will be skipped',
      }),
    );
  }, 60_000);

  it('none leaves the host and process out', async () => {
    const r = await grpcReceiver();
    await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_NODE_RESOURCE_DETECTORS: 'none' });
    expect(Object.keys(r.spans[0]!.resource).filter((k) => /^(host|os|process)\./.test(k))).toEqual([]);
    expect(r.spans[0]!.resource).toMatchObject({ 'service.name': 'child' });
  }, 60_000);
});

describe('OTEL_SERVICE_NAME', () => {
  it('replaces the service name, and set but empty is as unset (the variable spec)', async () => {
    const r = await grpcReceiver();
    const renamed = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_SERVICE_NAME: 'renamed' });
    expect(renamed.code).toBe(0);
    const blank = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint, OTEL_SERVICE_NAME: '' });
    expect(blank.code).toBe(0);
    expect(new Set(r.spans.map((s) => s.serviceName))).toEqual(new Set(['renamed', 'child']));
    expect(r.spans.filter((s) => s.serviceName === 'child')).toHaveLength(6);
  }, 60_000);
});

describe('span processors and samplers in code', () => {
  it('a user span processor sees every server and client span start and end, and what it changes is exported', async () => {
    const r = await grpcReceiver();
    const run = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint }, { userProcessor: true, samplingRatio: 1 });
    expect(run.seen).toEqual({ started: 6, ended: 6 });
    expectCallSpans(r.spans);
    expect(r.spans.every((s) => s.attributes['app.processed'] === true)).toBe(true);
  }, 60_000);

  it('the priority sampler keeps calls with x-priority: high at ratio 0, and drops the rest', async () => {
    const high = await grpcReceiver();
    await runChild(
      { OTEL_EXPORTER_OTLP_ENDPOINT: high.endpoint, HEADERS: JSON.stringify({ 'x-priority': 'high' }) },
      { prioritySampler: true },
    );
    expectCallSpans(high.spans);
    expect(high.spans.find((s) => s.kind === 2)!.attributes['rpc.grpc.request.metadata.x-priority']).toBe('["high"]');
    const low = await grpcReceiver();
    await runChild(
      { OTEL_EXPORTER_OTLP_ENDPOINT: low.endpoint, HEADERS: JSON.stringify({ 'x-priority': 'low' }) },
      { prioritySampler: true },
    );
    expect(low.spans).toHaveLength(0);
  }, 60_000);
});

describe('export failures are visible', () => {
  it('collector down: one warn line, dropped spans counted, calls still served', async () => {
    const r = await grpcReceiver();
    const endpoint = r.endpoint;
    r.stop(); // nothing listens there now
    const run = await runChild({ OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, CALLS: '30' });
    expect(run.code).toBe(0);
    const warns = run.lines.filter((l) => String(l['msg']).startsWith('trace export failing'));
    expect(warns).toHaveLength(1);
    expect(warns[0]!['level']).toBe('warn');
    expect(metricValue(run.metrics, /^otlp_spans_dropped_total\{reason="export_failed"\} (\d+)/m)).toBeGreaterThan(0);
    expect(run.lines.filter((l) => l['operation'] === '/child.v1.Svc/Ok' && l['kind'] === 'server')).toHaveLength(20);
  }, 60_000);

  it('collector that never answers: serving goes on, memory stays bounded, warn line, dropped counter rises', async () => {
    const r = await grpcReceiver({ silent: true });
    const run = await runChild({
      OTEL_EXPORTER_OTLP_ENDPOINT: r.endpoint,
      OTEL_BSP_MAX_QUEUE_SIZE: '256',
      OTEL_EXPORTER_OTLP_TIMEOUT: '300',
      OTEL_BSP_EXPORT_TIMEOUT: '300',
      HOLD_MS: '3000',
    });
    expect(run.code).toBe(0);
    expect(r.requests.length).toBeGreaterThan(0);
    expect(run.lines.filter((l) => String(l['msg']).startsWith('trace export failing'))).toHaveLength(1);
    const full = metricValue(run.metrics, /^otlp_spans_dropped_total\{reason="queue_full"\} (\d+)/m);
    const failed = metricValue(run.metrics, /^otlp_spans_dropped_total\{reason="export_failed"\} (\d+)/m);
    expect(full + failed).toBeGreaterThan(256);
    // Serving went on past a full queue: more calls (two spans each) than the queue holds spans.
    const served = run.lines.filter((l) => l['operation'] === '/child.v1.Svc/Ok' && l['kind'] === 'server').length;
    expect(served * 2).toBeGreaterThan(256);
    // Bounded: the queue holds at most 256 spans; the heap stays far from what thousands of kept spans would take.
    expect(run.heapUsed).toBeLessThan(150 * 1024 * 1024);
  }, 60_000);
});

describe("differential: tsk's span recording, encoding and batching against the plain SDK", () => {
  /**
   * A span as the receiver got it, without what differs from run to run (ids, times) and
   * the resource (the plain SDK is set up with the service name alone).
   */
  const shape = (spans: ReceivedSpan[]) => {
    const byId = new Map(spans.map((s) => [s.spanId, s]));
    return spans
      .map((s) => ({
        ...s,
        resource: undefined,
        traceId: undefined,
        spanId: undefined,
        parentSpanId: undefined,
        durationMs: undefined,
        parent: byId.get(s.parentSpanId)?.name ?? (s.parentSpanId ? 'remote' : ''),
      }))
      .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  };
  const protocols = [
    { protocol: 'grpc', receiver: () => grpcReceiver() },
    { protocol: 'http/protobuf', receiver: () => httpReceiver('protobuf') },
    { protocol: 'http/json', receiver: () => httpReceiver('json') },
  ] as const;
  for (const { protocol, receiver } of protocols) {
    it(`${protocol}: the receiver gets the same spans, field by field`, async () => {
      const fast = await receiver();
      const plain = await receiver();
      const env = {
        OTEL_EXPORTER_OTLP_PROTOCOL: protocol,
        HEADERS: JSON.stringify({ 'user-agent': 'diff/1', 'x-forwarded-for': '203.0.113.9' }),
      };
      await runChild({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: fast.endpoint });
      await runChild({ ...env, OTEL_EXPORTER_OTLP_ENDPOINT: plain.endpoint, PLAIN_SDK: '1' });
      expectCallSpans(fast.spans);
      expect(shape(fast.spans)).toEqual(shape(plain.spans));
    }, 60_000);
  }
});
