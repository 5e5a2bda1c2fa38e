// The full chain across a hop: an HTTP call whose handler calls a gRPC service,
// both through the default middleware, spans exported over OTLP to a receiver in
// the test and decoded there; /metrics scraped after the traffic.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTelemetry, type Telemetry } from '../../src/runtime/telemetry/sdk.js';
import { createLogger } from '../../src/runtime/log/logger.js';
import { defaultClientObservers, defaultServerObservers } from '../../src/runtime/middleware/index.js';
import { HttpServer } from '../../src/runtime/transport/http/index.js';
import { GrpcClientConn, GrpcServer } from '../../src/runtime/transport/grpc/index.js';
import { generateFixture } from '../helpers/generated.js';
import { OtlpReceiver } from '../helpers/otlp.js';
import { waitFor } from '../helpers/process.js';

const receiver = new OtlpReceiver();
let telemetry: Telemetry;
let http: HttpServer;
let grpcServer: GrpcServer;
let conn: GrpcClientConn;
let base: string;
let httpGen: any;
const backendTraceparents: (string | undefined)[] = [];

beforeAll(async () => {
  await receiver.start();
  telemetry = await setupTelemetry({
    serviceName: 'hop',
    serviceVersion: '1.0.0',
    instanceId: 'hop-1',
    otlp: { endpoint: receiver.endpoint },
    samplingRatio: 1,
  });
  const logger = createLogger({ name: 'hop', level: 'silent' });
  const dir = generateFixture('telemetry', 'helloworld');
  httpGen = await import(path.join(dir, 'helloworld/v1/greeter_http.ts'));
  const grpcGen = await import(path.join(dir, 'helloworld/v1/greeter_grpc.ts'));

  grpcServer = new GrpcServer({ address: '127.0.0.1:0', observers: defaultServerObservers({ logger }) });
  grpcGen.registerGreeterGRPCServer(grpcServer, {
    sayHello: async (ctx: any, req: { name: string }) => {
      backendTraceparents.push(ctx.transport.requestHeader.get('traceparent'));
      if (req.name === 'fail') throw new Error('boom');
      return { message: `Hello ${req.name}` };
    },
  });
  await grpcServer.start();
  conn = new GrpcClientConn({
    target: `127.0.0.1:${grpcServer.listenPort}`,
    observers: defaultClientObservers({ logger }),
  });
  const backend = new grpcGen.GreeterGRPCClient(conn);

  http = new HttpServer({ address: '127.0.0.1:0', observers: defaultServerObservers({ logger }) });
  // The HTTP handler calls the gRPC service, passing its context so the trace continues.
  httpGen.registerGreeterHTTPServer(http, {
    sayHello: (ctx: any, req: { name: string }) => backend.sayHello(req, { parent: ctx }),
  });
  http.handleRaw('GET', '/metrics', (request, reply) => {
    reply.hijack();
    telemetry.metricsHandler(request.raw, reply.raw);
  });
  await http.start();
  base = `http://127.0.0.1:${http.listenPort}`;
});

afterAll(async () => {
  await conn?.close();
  await http?.stop({ timeoutMs: 500 });
  await grpcServer?.stop({ timeoutMs: 500 });
  await telemetry?.shutdown();
  receiver.stop();
});

describe('tracing and metrics across an HTTP -> gRPC hop', () => {
  it("exports one trace: HTTP server -> gRPC client -> gRPC server, continuing the caller's traceparent", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpan = '00f067aa0ba902b7';
    const res = await fetch(`${base}/helloworld/ada`, { headers: { traceparent: `00-${traceId}-${callerSpan}-01` } });
    expect(await res.json()).toEqual({ message: 'Hello ada' });
    await telemetry.forceFlush();
    await waitFor(
      async () => receiver.spans.filter((s) => s.traceId === traceId).length >= 3,
      'three spans of the trace',
      100,
      50,
    );
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const httpServer = spans.find((s) => s.kind === 2 && s.attributes['http.route'] === '/helloworld/{name}')!;
    const grpcClient = spans.find((s) => s.kind === 3)!;
    const grpcServerSpan = spans.find((s) => s.kind === 2 && s.attributes['rpc.system'] === 'grpc')!;
    expect(httpServer).toMatchObject({
      name: '/helloworld.v1.Greeter/SayHello',
      parentSpanId: callerSpan,
      serviceName: 'hop',
      attributes: { 'http.request.method': 'GET', 'http.response.status_code': 200 },
    });
    expect(grpcClient.parentSpanId).toBe(httpServer.spanId);
    expect(grpcServerSpan).toMatchObject({
      parentSpanId: grpcClient.spanId,
      attributes: { 'rpc.service': 'helloworld.v1.Greeter', 'rpc.method': 'SayHello', 'rpc.grpc.status_code': 0 },
    });
  });

  it('marks failed spans with error status on both sides of the hop', async () => {
    const res = await fetch(`${base}/helloworld/fail`);
    expect(res.status).toBe(500);
    await telemetry.forceFlush();
    await waitFor(
      async () => receiver.spans.some((s) => s.attributes['rpc.grpc.status_code'] === 13 && s.kind === 2),
      'the failed gRPC server span',
      100,
      50,
    );
    const failedServer = receiver.spans.find((s) => s.attributes['rpc.grpc.status_code'] === 13 && s.kind === 2)!;
    expect(failedServer.statusCode).toBe(2);
    const failedHttp = receiver.spans.find(
      (s) => s.traceId === failedServer.traceId && s.attributes['http.response.status_code'] === 500,
    )!;
    expect(failedHttp.statusCode).toBe(2);
  });

  it('follows an unsampled caller: nothing exported, the trace id still travels downstream', async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4799';
    const res = await fetch(`${base}/helloworld/quiet`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-00` },
    });
    expect(res.status).toBe(200);
    await telemetry.forceFlush();
    expect(receiver.spans.filter((s) => s.traceId === traceId)).toEqual([]);
    const sent = backendTraceparents.at(-1)!;
    expect(sent).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-00$`));
    expect(sent).not.toContain('00f067aa0ba902b7');
  });

  it('exposes request counters and latency histograms on /metrics', async () => {
    const text = await (await fetch(`${base}/metrics`)).text();
    expect(text).toMatch(
      /server_requests_code_total\{[^}]*kind="http"[^}]*operation="\/helloworld\.v1\.Greeter\/SayHello"[^}]*code="200"[^}]*\} [1-9]/,
    );
    expect(text).toMatch(/server_requests_code_total\{[^}]*kind="grpc"[^}]*code="500"/);
    expect(text).toMatch(/server_requests_code_total\{[^}]*kind="http"[^}]*code="500"[^}]*reason="UNKNOWN"/);
    expect(text).toMatch(/client_requests_code_total\{[^}]*kind="grpc"/);
    expect(text).toMatch(/server_requests_seconds_bucket\{[^}]*kind="http"[^}]*le="0.005"/);
    // The histogram and the counter saw the same calls: its count, its +Inf bucket and
    // the counter summed over codes agree for the HTTP operation.
    const op = 'kind="http",operation="/helloworld.v1.Greeter/SayHello"';
    const value = (re: RegExp) => [...text.matchAll(re)].reduce((sum, m) => sum + Number(m[1]), 0);
    const calls = value(
      /^server_requests_code_total\{kind="http",operation="\/helloworld\.v1\.Greeter\/SayHello",[^}]*\} (\d+)$/gm,
    );
    expect(calls).toBeGreaterThan(0);
    expect(value(new RegExp(`^server_requests_seconds_count\\{${op}\\} (\\d+)$`, 'gm'))).toBe(calls);
    expect(value(new RegExp(`^server_requests_seconds_bucket\\{${op},le="\\+Inf"\\} (\\d+)$`, 'gm'))).toBe(calls);
  });

  it('traces, counts and logs a call that outlives the deadline as the 504 its caller got', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-timeout-')), 'access.log');
    const logger = createLogger({ name: 'slow', destination: file });
    const slow = new HttpServer({
      address: '127.0.0.1:0',
      timeoutMs: 100,
      observers: defaultServerObservers({ logger }),
    });
    httpGen.registerGreeterHTTPServer(slow, { sayHello: () => new Promise(() => {}) }); // never answers
    await slow.start();
    try {
      const res = await fetch(`http://127.0.0.1:${slow.listenPort}/helloworld/late`);
      expect(res.status).toBe(504);
      expect(await res.json()).toMatchObject({ code: 504, reason: 'TIMEOUT' });
      // The span ends with the answer, though the handler never returns.
      await telemetry.forceFlush();
      const late = () => receiver.spans.find((s) => s.attributes['url.path'] === '/helloworld/late');
      await waitFor(async () => late() !== undefined, "the timed-out call's span", 100, 50);
      expect(late()!.attributes['http.response.status_code']).toBe(504);
      expect(late()!.statusCode).toBe(2);
      const text = await (await fetch(`${base}/metrics`)).text();
      expect(text).toMatch(/server_requests_code_total\{[^}]*kind="http"[^}]*code="504"[^}]*reason="TIMEOUT"[^}]*\} 1/);
      logger.flush();
      await waitFor(async () => fs.readFileSync(file, 'utf8').includes('TIMEOUT'), 'the access line', 100, 20);
      const line = fs
        .readFileSync(file, 'utf8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l))
        .find((l) => l.reason === 'TIMEOUT');
      expect(line).toMatchObject({
        level: 'error',
        kind: 'server',
        component: 'http',
        code: 504,
        operation: '/helloworld.v1.Greeter/SayHello',
      });
      expect(line.latency).toBeGreaterThanOrEqual(0.09);
    } finally {
      await slow.stop({ timeoutMs: 200 });
    }
  });

  it('keeps serving when the OTLP endpoint is unreachable', async () => {
    receiver.stop();
    for (let i = 0; i < 20; i++) expect((await fetch(`${base}/helloworld/x${i}`)).status).toBe(200);
    await telemetry.forceFlush();
    expect((await fetch(`${base}/helloworld/after`)).status).toBe(200);
  });
});

describe('runtime metrics', () => {
  it("serve the process's CPU time, memory, V8 heap by space and event-loop delay on /metrics", async () => {
    await fetch(`${base}/metrics`); // the delay and utilization from here on
    const blockedMs = 150;
    await new Promise((resolve) => setTimeout(resolve, 60)); // some event-loop delay samples
    const until = Date.now() + blockedMs;
    while (Date.now() < until); // the loop held up: one timer runs about this late
    await new Promise((resolve) => setTimeout(resolve, 60));
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (series: string) => {
      const line = text.split('\n').find((l) => l.startsWith(`${series} `));
      expect(line, `${series} in\n${text}`).toBeDefined();
      return Number(line!.slice(series.length + 1));
    };
    const cpu = process.cpuUsage();
    expect(value('process_cpu_time_total{process_cpu_state="user"}')).toBeGreaterThan(0);
    expect(value('process_cpu_time_total{process_cpu_state="user"}')).toBeLessThanOrEqual(cpu.user / 1e6);
    expect(value('process_memory_usage')).toBeGreaterThan(10 * 1024 * 1024);
    expect(value('v8js_memory_heap_used{v8js_heap_space_name="old_space"}')).toBeGreaterThan(0);
    expect(value('v8js_memory_heap_limit{v8js_heap_space_name="old_space"}')).toBeGreaterThan(0);
    const max = value('nodejs_eventloop_delay_max');
    expect(max).toBeGreaterThan((blockedMs - 40) / 1000);
    expect(max).toBeLessThan(blockedMs / 1000 + 0.5);
    expect(value('nodejs_eventloop_delay_p50')).toBeLessThanOrEqual(max);
    const busy = value('nodejs_eventloop_utilization');
    expect(busy).toBeGreaterThan(0.3); // 150 ms busy of about 300 ms
    expect(busy).toBeLessThanOrEqual(1);
  });
});
