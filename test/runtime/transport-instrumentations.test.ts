// With OpenTelemetry's HttpInstrumentation and GrpcInstrumentation enabled (as
// getNodeAutoInstrumentations does), a server's calls get their server span as well
// as tsk's. They form one tree: the instrumentation continues the caller's trace, tsk's span is its
// child (not a sibling continuing the same caller), and the instrumentation learns
// the route, so its span is named `GET /v1/who/{who}` with http.route. Requests its
// ignoreIncomingRequestHook ignores are not traced at all, as it means; with
// disableIncomingRequestInstrumentation the server spans are tsk's alone. With the
// priority sampler and the header given to the instrumentation too, a marked call is
// kept with its root and the others are dropped whole. A real
// instrumentation in a child process (it patches node:http as it is imported); the
// spans are what the exporter sent to this test's receiver.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';

const dir = path.join(repoRoot, '.tmp', 'transport-instrumentations');
const receiver = new OtlpReceiver();
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const GRPC_CALLER_TRACE = '0af7651916cd43dd8448eb211c80319c';
const SERVER = 2;
const CLIENT = 3;

beforeAll(async () => {
  await receiver.start();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const src = (p: string) => path.join(repoRoot, 'src/runtime', p);
  fs.writeFileSync(
    path.join(dir, 'main.ts'),
    `import { GrpcInstrumentation } from '@opentelemetry/instrumentation-grpc';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { setupTelemetry } from '${src('telemetry/sdk.ts')}';
import { PrioritySampler } from '${src('telemetry/priority-sampler.ts')}';

const priority = process.env.INCOMING === 'priority';
const config =
  process.env.INCOMING === 'ignored'
    ? { ignoreIncomingRequestHook: () => true }
    : process.env.INCOMING === 'disabled'
      ? { disableIncomingRequestInstrumentation: true }
      : priority
        ? { headersToSpanAttributes: { server: { requestHeaders: ['x-priority'] } } }
        : {};
const telemetry = await setupTelemetry({
  serviceName: 'http-instrumentation',
  serviceVersion: '1',
  instanceId: 'hi-1',
  otlp: { endpoint: process.env.RECEIVER },
  samplingRatio: 1,
  ...(priority ? { captureRequestHeaders: ['x-priority'], sampler: new PrioritySampler({ ratio: 0 }) } : {}),
  instrumentations: [new HttpInstrumentation(config), new GrpcInstrumentation()],
});
// The app is imported after setupTelemetry, as a generated main.ts imports wire.js.
const { HttpServer } = await import('${src('transport/http/index.ts')}');
const { defaultServerObservers } = await import('${src('middleware/index.ts')}');
const { createLogger } = await import('${src('log/logger.ts')}');
const { GrpcServer } = await import('${src('transport/grpc/index.ts')}');
const { whoService } = await import('${path.join(repoRoot, 'test/helpers/who-service.ts')}');
const grpc = await import('@grpc/grpc-js');

const Msg = { fromJSON: (o: any) => ({ who: String(o?.who ?? '') }), toJSON: (m: any) => ({ who: m.who }) };
const schema = { typeName: 't.Msg', fields: [{ name: 'who', jsonName: 'who', kind: 'scalar', scalar: 'string' }] };
const route = (method: string, path: string, body?: string) =>
  ({ method, path, operation: '/t.S/Who', body, request: Msg, requestSchema: schema, response: Msg, responseSchema: schema }) as any;
const server = new HttpServer({
  address: '127.0.0.1:0',
  observers: defaultServerObservers({ logger: createLogger({ name: 'hi', level: 'silent' }) }),
});
const echo = async (_ctx: unknown, req: { who: string }) => ({ who: req.who });
server.route(route('GET', '/v1/who/{who}'), echo);
server.route(route('POST', '/v1/who', '*'), echo);
await server.start();
const base = 'http://127.0.0.1:' + server.listenPort;
// A bodiless call continuing the caller's trace, and a call with a body starting one.
await fetch(base + '/v1/who/a', { headers: { traceparent: '00-${CALLER_TRACE}-${CALLER_SPAN}-01' } });
await fetch(base + '/v1/who', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"who":"b"}' });
// Under the priority sampler at ratio 0: a marked call, and one that is not.
if (priority) {
  await fetch(base + '/v1/who/marked', { headers: { 'x-priority': 'high' } });
  await fetch(base + '/v1/who/plain');
}
await server.stop({ timeoutMs: 0 });

// A gRPC call, from a plain grpc-js client (which the instrumentation traces too).
const grpcServer = new GrpcServer({
  address: '127.0.0.1:0',
  observers: defaultServerObservers({ logger: createLogger({ name: 'hi', level: 'silent' }) }),
});
grpcServer.register(whoService, { who: echo });
await grpcServer.start();
const Client = grpc.makeGenericClientConstructor(whoService as any, 'Who');
const client: any = new Client('127.0.0.1:' + grpcServer.listenPort, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
metadata.set('traceparent', '00-${GRPC_CALLER_TRACE}-${CALLER_SPAN}-01');
await new Promise((resolve, reject) =>
  client.who({ who: 'c' }, metadata, (err: unknown, res: unknown) => (err ? reject(err) : resolve(res))),
);
client.close();
// A tsk client's call: its client span is the call's, not traced again by the instrumentation.
const { GrpcClientConn } = await import('${src('transport/grpc/index.ts')}');
const { defaultClientObservers } = await import('${src('middleware/index.ts')}');
const conn = new GrpcClientConn({
  target: '127.0.0.1:' + grpcServer.listenPort,
  observers: defaultClientObservers({ logger: createLogger({ name: 'hi', level: 'silent' }) }),
});
await conn.invoke(whoService.who as any, { who: 'from-tsk' });
await conn.close();
await grpcServer.stop({ timeoutMs: 0 });
await telemetry.forceFlush();
await telemetry.shutdown();
`,
  );
});

afterAll(() => receiver.stop());

async function runChild(env: Record<string, string>): Promise<ReceivedSpan[]> {
  receiver.spans.length = 0;
  await promisify(execFile)(process.execPath, ['--import', 'tsx', path.join(dir, 'main.ts')], {
    cwd: repoRoot,
    env: { ...process.env, RECEIVER: receiver.endpoint, ...env },
    timeout: 30_000,
  });
  return receiver.spans.slice();
}

/** The server spans of a child's run. */
async function serverSpans(env: Record<string, string>): Promise<ReceivedSpan[]> {
  return (await runChild(env)).filter((s) => s.kind === SERVER);
}

describe('HttpInstrumentation and tsk server spans', () => {
  it("make one tree: the instrumentation's span continues the caller, tsk's is its child and names the route", async () => {
    const spans = await serverSpans({});
    const byScope = (scope: RegExp, traceId?: string) =>
      spans.filter((s) => scope.test(s.scope) && (traceId === undefined || s.traceId === traceId));

    const [outer] = byScope(/instrumentation-http/, CALLER_TRACE);
    const [inner] = byScope(/^tsk$/, CALLER_TRACE);
    expect(outer).toMatchObject({ parentSpanId: CALLER_SPAN, name: 'GET /v1/who/{who}' });
    expect(outer!.attributes['http.route']).toBe('/v1/who/{who}');
    expect(inner).toMatchObject({ parentSpanId: outer!.spanId, name: '/t.S/Who' });

    const started = byScope(/instrumentation-http/).find((s) => s.traceId !== CALLER_TRACE)!;
    expect(started).toMatchObject({ parentSpanId: '', name: 'POST /v1/who' });
    const child = byScope(/^tsk$/, started.traceId);
    expect(child).toHaveLength(1);
    expect(child[0]!.parentSpanId).toBe(started.spanId);
  }, 60_000);

  it("over gRPC too: tsk's server span is the child of GrpcInstrumentation's", async () => {
    const spans = await serverSpans({});
    const caller = spans.filter((s) => s.traceId === GRPC_CALLER_TRACE);
    const outer = caller.filter((s) => /instrumentation-grpc/.test(s.scope));
    expect(outer).toHaveLength(1);
    const inner = caller.filter((s) => s.scope === 'tsk' && s.attributes['rpc.system'] === 'grpc');
    expect(inner).toHaveLength(1);
    expect(outer[0]).toMatchObject({ traceId: GRPC_CALLER_TRACE });
    expect(inner[0]).toMatchObject({ traceId: outer[0]!.traceId, parentSpanId: outer[0]!.spanId, name: '/t.S/Who' });
  }, 60_000);

  it("leave a tsk gRPC client's call to tsk: one client span, and the server continues it", async () => {
    const spans = await runChild({});
    const tskClient = spans.filter((s) => s.kind === CLIENT && s.scope === 'tsk');
    expect(tskClient).toHaveLength(1);
    const trace = spans.filter((s) => s.traceId === tskClient[0]!.traceId);
    expect(trace.filter((s) => s.kind === CLIENT)).toEqual(tskClient);
    const served = trace.filter((s) => s.kind === SERVER);
    const outer = served.find((s) => /instrumentation-grpc/.test(s.scope));
    expect(outer).toMatchObject({ parentSpanId: tskClient[0]!.spanId });
    expect(served.find((s) => s.scope === 'tsk')).toMatchObject({ parentSpanId: outer!.spanId });
  }, 60_000);

  it('trace nothing of a request the ignoreIncomingRequestHook ignores', async () => {
    const spans = await serverSpans({ INCOMING: 'ignored' });
    expect(spans.filter((s) => s.attributes['rpc.system'] !== 'grpc')).toEqual([]);
  }, 60_000);

  it('under the priority sampler, keep a marked call with its root and drop the rest whole', async () => {
    const spans = (await serverSpans({ INCOMING: 'priority' })).filter((s) => s.attributes['rpc.system'] !== 'grpc');
    const marked = spans.filter(
      (s) => /instrumentation-http/.test(s.scope) && s.attributes['url.path'] === '/v1/who/marked',
    );
    expect(marked).toHaveLength(1);
    expect(marked[0]).toMatchObject({ parentSpanId: '', name: 'GET /v1/who/{who}' });
    const below = spans.filter((s) => s.traceId === marked[0]!.traceId && s.scope === 'tsk');
    expect(below).toHaveLength(1);
    expect(below[0]!.parentSpanId).toBe(marked[0]!.spanId);
    // Every exported span's parent is exported too, or came from the caller.
    const ids = new Set(spans.map((s) => s.spanId));
    for (const s of spans)
      expect(s.parentSpanId === '' || s.parentSpanId === CALLER_SPAN || ids.has(s.parentSpanId)).toBe(true);
    expect(spans.some((s) => s.attributes['url.path'] === '/v1/who/plain')).toBe(false);
  }, 60_000);

  it('leave the server spans to tsk with disableIncomingRequestInstrumentation', async () => {
    const spans = (await serverSpans({ INCOMING: 'disabled' })).filter((s) => s.attributes['rpc.system'] !== 'grpc');
    expect(spans.map((s) => s.scope)).toEqual(['tsk', 'tsk']);
    expect(spans.find((s) => s.traceId === CALLER_TRACE)).toMatchObject({ parentSpanId: CALLER_SPAN });
  }, 60_000);
});
