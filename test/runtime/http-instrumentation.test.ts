// With OpenTelemetry's HttpInstrumentation enabled (as getNodeAutoInstrumentations
// does), the HTTP server's requests get its server span as well as tsk's. They form
// one tree: the instrumentation continues the caller's trace, tsk's span is its
// child (not a sibling continuing the same caller), and the instrumentation learns
// the route, so its span is named `GET /v1/who/{who}` with http.route. Requests its
// ignoreIncomingRequestHook ignores are not traced at all, as it means; with
// disableIncomingRequestInstrumentation the server spans are tsk's alone. A real
// instrumentation in a child process (it patches node:http as it is imported); the
// spans are what the exporter sent to this test's receiver.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/cli.js';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';

const dir = path.join(repoRoot, '.tmp', 'http-instrumentation');
const receiver = new OtlpReceiver();
const CALLER_TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN = '00f067aa0ba902b7';
const SERVER = 2;

beforeAll(async () => {
  await receiver.start();
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  const src = (p: string) => path.join(repoRoot, 'src/runtime', p);
  fs.writeFileSync(
    path.join(dir, 'main.ts'),
    `import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { setupTelemetry } from '${src('telemetry/sdk.ts')}';

const config =
  process.env.INCOMING === 'ignored'
    ? { ignoreIncomingRequestHook: () => true }
    : process.env.INCOMING === 'disabled'
      ? { disableIncomingRequestInstrumentation: true }
      : {};
const telemetry = await setupTelemetry({
  serviceName: 'http-instrumentation',
  serviceVersion: '1',
  instanceId: 'hi-1',
  otlp: { endpoint: process.env.RECEIVER },
  samplingRatio: 1,
  instrumentations: [new HttpInstrumentation(config)],
});
// The app is imported after setupTelemetry, as a generated main.ts imports wire.js.
const { HttpServer } = await import('${src('transport/http/index.ts')}');
const { defaultServerObservers } = await import('${src('middleware/index.ts')}');
const { createLogger } = await import('${src('log/logger.ts')}');

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
await server.stop({ timeoutMs: 0 });
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
  return receiver.spans.filter((s) => s.kind === SERVER);
}

describe('HttpInstrumentation and tsk server spans', () => {
  it("make one tree: the instrumentation's span continues the caller, tsk's is its child and names the route", async () => {
    const spans = await runChild({});
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

  it('trace nothing of a request the ignoreIncomingRequestHook ignores', async () => {
    const spans = await runChild({ INCOMING: 'ignored' });
    expect(spans).toEqual([]);
  }, 60_000);

  it('leave the server spans to tsk with disableIncomingRequestInstrumentation', async () => {
    const spans = await runChild({ INCOMING: 'disabled' });
    expect(spans.map((s) => s.scope)).toEqual(['tsk', 'tsk']);
    expect(spans.find((s) => s.traceId === CALLER_TRACE)).toMatchObject({ parentSpanId: CALLER_SPAN });
  }, 60_000);
});
