// With the default config the server span is the active OpenTelemetry context for
// the whole handler: a span the handler starts the way the OpenTelemetry docs teach
// (startActiveSpan, after awaits), a real auto-instrumentation's span (undici, on a
// fetch) and a tsk client call made without `{ parent: ctx }` all join the call's
// trace with the right parents, over HTTP and gRPC. The receiver decodes what the
// exporter sent.
import fs from 'node:fs';
import v8 from 'node:v8';
import vm from 'node:vm';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { context, createContextKey, ROOT_CONTEXT, trace, type Context as OtelContext } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTelemetry, type Telemetry } from '../../src/runtime/telemetry/sdk.js';
import { createLogger } from '../../src/runtime/log/logger.js';
import { defaultClientObservers, defaultServerObservers } from '../../src/runtime/middleware/index.js';
import { HttpServer } from '../../src/runtime/transport/http/index.js';
import { GrpcClientConn, GrpcServer } from '../../src/runtime/transport/grpc/index.js';
import { HttpClient } from '../../src/runtime/transport/http/client.js';
import { generateFixture } from '../helpers/generated.js';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';
import { waitFor } from '../helpers/process.js';
import { ConsulStandIn } from '../helpers/consul-standin.js';
import { ConsulRegistry } from '../../src/runtime/registry/consul.js';
import type { Discovery } from '../../src/runtime/registry/registry.js';
import { DiscoveryTarget } from '../../src/runtime/registry/target.js';

// gc(), for the test that an answered call can be collected.
v8.setFlagsFromString('--expose-gc');

const receiver = new OtlpReceiver();
let telemetry: Telemetry;
let httpServer: HttpServer;
let grpcServer: GrpcServer;
let conn: GrpcClientConn;
let plain: http.Server;
let plainUrl: string;
let base: string;
let httpGen: {
  GreeterHTTPClient: new (c: HttpClient) => { sayHello(r: { name: string }): Promise<unknown> };
  registerGreeterHTTPServer: (server: HttpServer, impl: unknown) => void;
};
/** The traceparent each request to the plain server carried. */
const plainTraceparents: string[] = [];
const tick = () => new Promise((r) => setTimeout(r, 2));

beforeAll(async () => {
  await receiver.start();
  // Default context propagation: nothing about it is configured here.
  telemetry = await setupTelemetry({
    serviceName: 'als',
    serviceVersion: '1',
    instanceId: 'als-1',
    otlp: { endpoint: receiver.endpoint },
    samplingRatio: 1,
    instrumentations: [new UndiciInstrumentation()],
  });
  const logger = createLogger({ name: 'als', level: 'silent' });
  plain = http.createServer((req, res) => {
    plainTraceparents.push(String(req.headers['traceparent']));
    res.end('{}');
  });
  await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
  plainUrl = `http://127.0.0.1:${(plain.address() as { port: number }).port}/plain`;

  const dir = generateFixture('active-context', 'helloworld');
  httpGen = await import(path.join(dir, 'helloworld/v1/greeter_http.ts'));
  const grpcGen = await import(path.join(dir, 'helloworld/v1/greeter_grpc.ts'));
  const tracer = trace.getTracer('user-code');

  grpcServer = new GrpcServer({ address: '127.0.0.1:0', observers: defaultServerObservers({ logger }) });
  grpcGen.registerGreeterGRPCServer(grpcServer, {
    sayHello: async (_ctx: unknown, req: { name: string }) => {
      await tick();
      // Started after an await, with no context handed in.
      return tracer.startActiveSpan('grpc-work', async (span) => {
        await tick();
        span.end();
        return { message: `Hello ${req.name}` };
      });
    },
  });
  await grpcServer.start();
  conn = new GrpcClientConn({
    target: `127.0.0.1:${grpcServer.listenPort}`,
    observers: defaultClientObservers({ logger }),
  });
  const backend = new grpcGen.GreeterGRPCClient(conn);

  httpServer = new HttpServer({ address: '127.0.0.1:0', observers: defaultServerObservers({ logger }) });
  httpGen.registerGreeterHTTPServer(httpServer, {
    sayHello: async (_ctx: unknown, req: { name: string }) => {
      await tick();
      return tracer.startActiveSpan('work', async (span) => {
        await tick();
        await fetch(plainUrl); // auto-instrumented by undici
        const reply = await backend.sayHello(req); // no { parent: ctx }
        span.end();
        return reply;
      });
    },
  });
  await httpServer.start();
  base = `http://127.0.0.1:${httpServer.listenPort}`;
});

afterAll(async () => {
  await conn?.close();
  await httpServer?.stop({ timeoutMs: 500 });
  await grpcServer?.stop({ timeoutMs: 500 });
  plain?.close();
  await telemetry?.shutdown();
  receiver.stop();
});

describe('the server span is the active context of the whole handler', () => {
  it('joins startActiveSpan, an undici span and a tsk client call without parent into the request trace', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    // The test's own call is not instrumented: it stands for a caller in another process.
    const res = await context.with(suppressTracing(ROOT_CONTEXT), () =>
      fetch(`${base}/helloworld/ada`, { headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } }),
    );
    expect(await res.json()).toEqual({ message: 'Hello ada' });
    await telemetry.forceFlush();
    await waitFor(
      async () => receiver.spans.filter((s) => s.traceId === traceId).length >= 6,
      'six spans of the trace',
      100,
      50,
    );
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const one = (what: string, pick: (s: ReceivedSpan) => boolean) => {
      const found = spans.filter(pick);
      expect(found, what).toHaveLength(1);
      return found[0]!;
    };
    const server = one('HTTP server span', (s) => s.kind === 2 && s.attributes['http.route'] === '/helloworld/{name}');
    const work = one('handler span', (s) => s.name === 'work');
    const fetchSpan = one('undici client span', (s) => s.scope === '@opentelemetry/instrumentation-undici');
    const client = one('tsk gRPC client span', (s) => s.kind === 3 && s.scope === 'tsk');
    const grpc = one('gRPC server span', (s) => s.kind === 2 && s.attributes['rpc.system'] === 'grpc');
    const grpcWork = one('gRPC handler span', (s) => s.name === 'grpc-work');
    expect(server.parentSpanId).toBe('00f067aa0ba902b7');
    expect(work.parentSpanId).toBe(server.spanId);
    expect(fetchSpan.parentSpanId).toBe(work.spanId);
    expect(client.parentSpanId).toBe(work.spanId);
    expect(grpc.parentSpanId).toBe(client.spanId);
    expect(grpcWork.parentSpanId).toBe(grpc.spanId);
    // The instrumented fetch sent its own span as the parent.
    expect(plainTraceparents.at(-1)).toBe(`00-${traceId}-${fetchSpan.spanId}-01`);
  });

  it('a tsk HTTP client call under undici instrumentation sends one traceparent, its own span the parent', async () => {
    const logger = createLogger({ name: 'als', level: 'silent' });
    const client = new httpGen.GreeterHTTPClient(
      new HttpClient({ target: base, observers: defaultClientObservers({ logger }) }),
    );
    const traceId = await trace.getTracer('user-code').startActiveSpan('caller', async (span) => {
      await client.sayHello({ name: 'bob' });
      span.end();
      return span.spanContext().traceId;
    });
    await telemetry.forceFlush();
    await waitFor(
      async () => receiver.spans.some((s) => s.traceId === traceId && s.name === 'caller'),
      'the caller span',
      100,
      50,
    );
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const caller = spans.find((s) => s.name === 'caller');
    const tskClient = spans.filter(
      (s) => s.kind === 3 && s.scope === 'tsk' && s.attributes['http.response.status_code'],
    );
    const httpServerSpans = spans.filter((s) => s.kind === 2 && s.attributes['http.route'] === '/helloworld/{name}');
    expect(tskClient).toHaveLength(1);
    expect(tskClient[0]!.parentSpanId).toBe(caller!.spanId);
    // The tsk client span is the call's one client span: no second (undici) span, and the
    // server continues the trace from it (two traceparent headers would start a new trace).
    expect(httpServerSpans).toHaveLength(1);
    expect(httpServerSpans[0]!.parentSpanId).toBe(tskClient[0]!.spanId);
    expect(spans.filter((s) => s.parentSpanId === tskClient[0]!.spanId && s.kind === 3)).toEqual([]);
  });

  it('writes the active span ids on the lines code logs inside it, as Kratos layout loggers do', async () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'als-log-')), 'log.jsonl');
    const logger = createLogger({ name: 'als', destination: file });
    logger.info('outside');
    const ids = await trace.getTracer('user-code').startActiveSpan('logged', async (span) => {
      await tick();
      logger.info({ trace_id: 'mine' }, 'own field wins');
      logger.child({ part: 'repo' }).warn('inside');
      span.end();
      return span.spanContext();
    });
    logger.flush();
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.map((l) => [l.msg, l.trace_id, l.span_id, l.trace_flags])).toEqual([
      ['outside', undefined, undefined, undefined],
      ['own field wins', 'mine', ids.spanId, '01'],
      ['inside', ids.traceId, ids.spanId, '01'],
    ]);
  });

  it("a discovery watch's Consul queries are not traced, not even under the call that opened it", async () => {
    const consul = new ConsulStandIn();
    const registry = new ConsulRegistry({ address: await consul.start() });
    const instance = { id: 'w-1', name: 'watched', version: '1', metadata: {}, endpoints: ['http://127.0.0.1:1'] };
    await registry.register(instance);
    const traceId = await trace.getTracer('user-code').startActiveSpan('opens-watch', async (span) => {
      const watcher = await registry.watch('watched');
      await watcher.next();
      // A change answers the blocking query the watch keeps open.
      const second = watcher.next();
      await registry.register({ ...instance, id: 'w-2' });
      await second;
      await watcher.stop();
      span.end();
      return span.spanContext().traceId;
    });
    await registry.deregister(instance);
    await consul.stop();
    await telemetry.forceFlush();
    await waitFor(async () => receiver.spans.some((s) => s.name === 'opens-watch'), 'the span', 100, 50);
    expect(receiver.spans.filter((s) => s.traceId === traceId).map((s) => s.name)).toEqual(['opens-watch']);
    expect(receiver.spans.filter((s) => String(s.attributes['url.path']).startsWith('/v1/health'))).toEqual([]);
  });

  it('follows a discovery watch outside the call that opened it: its work carries no trace of that call', async () => {
    const instance = { id: 'w-1', name: 'watched', version: '1', metadata: {}, endpoints: ['http://127.0.0.1:1'] };
    const seen: (string | undefined)[] = [];
    let stopped = () => {};
    const activeTrace = () => trace.getActiveSpan()?.spanContext().traceId;
    const discovery: Discovery = {
      getService: async () => [instance],
      watch: async () => {
        seen.push(activeTrace());
        return {
          next: async () => {
            seen.push(activeTrace());
            // The first lists come at once; then the watch waits for a change, as a registry's does.
            if (seen.length > 3) await new Promise<void>((resolve) => (stopped = resolve));
            return [instance];
          },
          stop: async () => stopped(),
        };
      },
    };
    const target = await trace.getTracer('user-code').startActiveSpan('first-call', async (span) => {
      const opened = await DiscoveryTarget.open(discovery, 'discovery:///watched', 'http');
      span.end();
      return opened;
    });
    await waitFor(async () => seen.length > 3, 'the watch to follow', 100, 10);
    await target.close();
    expect(seen).toEqual([undefined, undefined, undefined, undefined]);
  });

  it('lets an answered call go, even while a context its handler ran in is kept', async () => {
    // Code may keep the active context past the answer (a closure, a timer): it must
    // not keep the call's request, response and connection objects alive with it.
    const gc = vm.runInNewContext('gc') as () => void;
    const kept: OtelContext[] = [];
    const calls: WeakRef<object>[] = [];
    for (const observers of [[], defaultServerObservers({ logger: createLogger({ name: 'kept', level: 'silent' }) })]) {
      const server = new HttpServer({ address: '127.0.0.1:0', observers });
      httpGen.registerGreeterHTTPServer(server, {
        sayHello: async (ctx: object) => {
          kept.push(context.active());
          calls.push(new WeakRef(ctx));
          return { message: 'kept' };
        },
      });
      await server.start();
      expect((await fetch(`http://127.0.0.1:${server.listenPort}/helloworld/kept`)).status).toBe(200);
      await server.stop({ timeoutMs: 500 });
    }
    expect(kept).toHaveLength(2);
    await tick();
    gc();
    expect(calls.map((call) => call.deref())).toEqual([undefined, undefined]);
  });

  it('keeps a context across awaits outside calls too', async () => {
    const key = createContextKey('test');
    let afterAwait: unknown;
    await context.with(ROOT_CONTEXT.setValue(key, 'v'), async () => {
      await tick();
      afterAwait = context.active().getValue(key);
    });
    expect(afterAwait).toBe('v');
  });
});
