// Span status and attributes per the OpenTelemetry semantic conventions for HTTP
// and RPC: a server span is an error only for what the server got wrong (5xx, gRPC
// Internal/Unknown/...), a client span for every failure; error.type on failures;
// exception events only for 5xx and thrown errors; who called (client.address,
// proxy-aware; network.peer.address; user_agent.original). Real servers and clients,
// spans decoded by the test's receiver.
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTelemetry, type Telemetry } from '../../src/runtime/telemetry/sdk.js';
import { createLogger } from '../../src/runtime/log/logger.js';
import { defaultClientObservers, defaultServerObservers } from '../../src/runtime/middleware/index.js';
import { newError } from '../../src/runtime/errors/errors.js';
import { HttpClient, HttpServer } from '../../src/runtime/transport/http/index.js';
import { GrpcClientConn, GrpcServer } from '../../src/runtime/transport/grpc/index.js';
import { generateFixture } from '../helpers/generated.js';
import { OtlpReceiver, type ReceivedSpan } from '../helpers/otlp.js';
import { waitFor } from '../helpers/process.js';
import { freePort } from '../helpers/etcd.js';
import { MemoryDiscovery, whoRoute, type Who } from '../helpers/who-service.js';
import type { CallObserver } from '../../src/runtime/transport/observer.js';

const receiver = new OtlpReceiver();
let telemetry: Telemetry;
let httpServer: HttpServer;
let grpcServer: GrpcServer;
let grpcConn: GrpcClientConn;
let httpClient: HttpClient;
let base: string;
let greeterHttp: any;
let greeterHttpClass: any;
let greeterGrpc: any;
let greeterGrpcClass: any;

/** The handler's outcome by the name asked for. */
async function sayHello(_ctx: unknown, req: { name: string }) {
  if (req.name === 'missing') throw newError(404, 'USER_NOT_FOUND', 'no such user');
  if (req.name === 'down') throw newError(503, 'DOWN', 'down for maintenance');
  if (req.name === 'bug') throw new TypeError('undefined is not a function');
  return { message: `Hello ${req.name}` };
}

beforeAll(async () => {
  await receiver.start();
  telemetry = await setupTelemetry({
    serviceName: 'semconv',
    serviceVersion: '1',
    instanceId: 'sc-1',
    otlp: { endpoint: receiver.endpoint },
    samplingRatio: 1,
  });
  const logger = createLogger({ name: 'semconv', level: 'silent' });
  const dir = generateFixture('semconv', 'helloworld');
  const httpGen = await import(path.join(dir, 'helloworld/v1/greeter_http.ts'));
  const grpcGen = await import(path.join(dir, 'helloworld/v1/greeter_grpc.ts'));
  httpServer = new HttpServer({ address: '127.0.0.1:0', observers: defaultServerObservers({ logger }) });
  httpGen.registerGreeterHTTPServer(httpServer, { sayHello });
  await httpServer.start();
  base = `http://127.0.0.1:${httpServer.listenPort}`;
  grpcServer = new GrpcServer({ address: '127.0.0.1:0', observers: defaultServerObservers({ logger }) });
  grpcGen.registerGreeterGRPCServer(grpcServer, { sayHello });
  await grpcServer.start();
  httpClient = new HttpClient({ target: base, observers: defaultClientObservers({ logger }) });
  greeterHttp = new httpGen.GreeterHTTPClient(httpClient);
  greeterHttpClass = httpGen.GreeterHTTPClient;
  grpcConn = new GrpcClientConn({
    target: `127.0.0.1:${grpcServer.listenPort}`,
    observers: defaultClientObservers({ logger }),
  });
  greeterGrpc = new grpcGen.GreeterGRPCClient(grpcConn);
  greeterGrpcClass = grpcGen.GreeterGRPCClient;
});

afterAll(async () => {
  await grpcConn?.close();
  await httpClient?.close();
  await httpServer?.stop({ timeoutMs: 500 });
  await grpcServer?.stop({ timeoutMs: 500 });
  await telemetry?.shutdown();
  receiver.stop();
});

const UNSET = 0;
const ERROR = 2;

/** The server and client span of a call the clients made with `name`. */
async function spansOf(kind: 'http' | 'grpc', name: string): Promise<{ server: ReceivedSpan; client: ReceivedSpan }> {
  await (kind === 'http' ? greeterHttp : greeterGrpc).sayHello({ name }).catch(() => undefined);
  await telemetry.forceFlush();
  await waitFor(async () => spansFor(name, kind).length >= 2, `spans of ${kind} ${name}`, 100, 50);
  const both = spansFor(name, kind);
  return { server: both.find((s) => s.kind === 2)!, client: both.find((s) => s.kind === 3)! };
}
/** The newest server span of a call to `name` over `kind`, and the client span that is its parent. */
function spansFor(name: string, kind: 'http' | 'grpc'): ReceivedSpan[] {
  const clients = receiver.spans.filter(
    (s) =>
      s.kind === 3 &&
      (kind === 'grpc' ? s.attributes['rpc.system'] === 'grpc' : s.attributes['rpc.system'] === undefined),
  );
  const server = receiver.spans.filter(
    (s) =>
      s.kind === 2 &&
      (kind === 'grpc' ? s.attributes['rpc.system'] === 'grpc' : s.attributes['url.path'] === `/helloworld/${name}`),
  );
  for (const s of server.reverse()) {
    const c = clients.find((c) => c.spanId === s.parentSpanId);
    if (c) return [s, c];
  }
  return [];
}

describe('HTTP spans', () => {
  it('a 404 leaves the server span Unset and makes the client span an error, without exception events', async () => {
    const { server, client } = await spansOf('http', 'missing');
    expect(server).toMatchObject({
      statusCode: UNSET,
      events: [],
      attributes: {
        'http.response.status_code': 404,
        'error.type': 'USER_NOT_FOUND',
        'http.route': '/helloworld/{name}',
      },
    });
    expect(client).toMatchObject({
      statusCode: ERROR,
      events: [],
      attributes: {
        'http.request.method': 'GET',
        'http.response.status_code': 404,
        'error.type': 'USER_NOT_FOUND',
        'url.full': `${base}/helloworld/missing`,
      },
    });
    // A bodiless GET: no request body size on either side.
    expect(server!.attributes).not.toHaveProperty('http.request.body.size');
    expect(client!.attributes).not.toHaveProperty('http.request.body.size');
  });

  it('a 503 is an error on both sides, with an exception event', async () => {
    const { server, client } = await spansOf('http', 'down');
    expect(server).toMatchObject({
      statusCode: ERROR,
      events: ['exception'],
      attributes: { 'http.response.status_code': 503, 'error.type': 'DOWN' },
    });
    expect(client).toMatchObject({ statusCode: ERROR, attributes: { 'error.type': 'DOWN' } });
  });

  it('a call that got no answer has no http.response.status_code on its client span, only error.type', async () => {
    const port = await freePort();
    const nobody = new HttpClient({
      target: `http://127.0.0.1:${port}`,
      observers: defaultClientObservers({ logger: createLogger({ name: 'semconv', level: 'silent' }) }),
    });
    const err = await new greeterHttpClass(nobody).sayHello({ name: 'refused' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 503, reason: 'SERVICE_UNAVAILABLE' });
    await telemetry.forceFlush();
    const pick = () => receiver.spans.find((s) => s.kind === 3 && s.attributes['server.port'] === port);
    await waitFor(async () => pick() !== undefined, 'the client span', 100, 50);
    expect(pick()).toMatchObject({ statusCode: ERROR, attributes: { 'error.type': 'SERVICE_UNAVAILABLE' } });
    expect(pick()!.attributes).not.toHaveProperty('http.response.status_code');
    expect(pick()!.attributes).not.toHaveProperty('http.response.body.size');
  });

  it('a call sent again to another instance names the one that answered, with http.request.resend_count', async () => {
    const refusing = await freePort();
    const instance = (id: string, port: number) => ({
      id,
      name: 'greeter',
      version: '1',
      metadata: {},
      endpoints: [`http://127.0.0.1:${port}`],
    });
    // The refusing instance first, so the first pick is the one that fails over.
    const discovery = new MemoryDiscovery([instance('gone', refusing), instance('up', httpServer.listenPort!)]);
    const balanced = new HttpClient({
      target: 'discovery:///greeter',
      discovery,
      observers: defaultClientObservers({ logger: createLogger({ name: 'semconv', level: 'silent' }) }),
    });
    expect(await new greeterHttpClass(balanced).sayHello({ name: 'resent' })).toEqual({ message: 'Hello resent' });
    await balanced.close();
    await telemetry.forceFlush();
    const pick = () =>
      receiver.spans.find((s) => s.kind === 3 && s.attributes['url.full']?.toString().endsWith('/resent'));
    await waitFor(async () => pick() !== undefined, 'the client span', 100, 50);
    expect(pick()).toMatchObject({
      statusCode: UNSET,
      attributes: {
        'http.request.resend_count': 1,
        'server.port': httpServer.listenPort,
        'url.full': `${base}/helloworld/resent`,
      },
    });
  });

  it('a thrown error is an error with its type and an exception event', async () => {
    const { server } = await spansOf('http', 'bug');
    expect(server).toMatchObject({
      statusCode: ERROR,
      events: ['exception'],
      attributes: { 'http.response.status_code': 500, 'error.type': 'TypeError' },
    });
  });

  it('records who called: client.address (X-Forwarded-For, X-Real-IP, else the peer), network.peer.address, user_agent.original', async () => {
    const call = async (headers: Record<string, string>) => {
      const traceId = Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32);
      await fetch(`${base}/helloworld/who`, {
        headers: { ...headers, traceparent: `00-${traceId}-1111111111111111-01` },
      });
      await telemetry.forceFlush();
      await waitFor(async () => receiver.spans.some((s) => s.traceId === traceId), 'the server span', 100, 50);
      return receiver.spans.find((s) => s.traceId === traceId)!.attributes;
    };
    expect(await call({ 'x-forwarded-for': '203.0.113.7, 10.0.0.1', 'user-agent': 'curl/8.5.0' })).toMatchObject({
      'client.address': '203.0.113.7',
      'network.peer.address': '127.0.0.1',
      'user_agent.original': 'curl/8.5.0',
      'http.request.method': 'GET',
      'url.scheme': 'http',
    });
    expect(await call({ 'x-real-ip': '198.51.100.2' })).toMatchObject({ 'client.address': '198.51.100.2' });
    expect(await call({})).toMatchObject({ 'client.address': '127.0.0.1' });
  });

  it('records url.query with the credentials of signed URLs redacted', async () => {
    const traceId = Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32);
    const query = 'a=1&Signature=s1&sig=s2&AWSAccessKeyId=AKIA&X-Goog-Signature=g&mysig=kept&b=2';
    await fetch(`${base}/helloworld/query?${query}`, { headers: { traceparent: `00-${traceId}-1111111111111111-01` } });
    await telemetry.forceFlush();
    await waitFor(async () => receiver.spans.some((s) => s.traceId === traceId), 'the server span', 100, 50);
    expect(receiver.spans.find((s) => s.traceId === traceId)!.attributes['url.query']).toBe(
      'a=1&Signature=REDACTED&sig=REDACTED&AWSAccessKeyId=REDACTED&X-Goog-Signature=REDACTED&mysig=kept&b=2',
    );
  });

  it('times a call from its headers, not from its body having arrived: the span and what observers are told', async () => {
    const elapsed: number[] = [];
    const timing: CallObserver<void> = {
      onStart: () => {},
      onEnd: (_ctx, _s, outcome) => elapsed.push(outcome.elapsedMs),
    };
    const logger = createLogger({ name: 'semconv', level: 'silent' });
    const server = new HttpServer({
      address: '127.0.0.1:0',
      observers: [...defaultServerObservers({ logger }), timing],
    });
    server.route(whoRoute, async (_ctx: unknown, req: Who) => req);
    await server.start();
    try {
      const traceId = Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32);
      const body = '{"who":"slow"}';
      const answer = await new Promise<string>((resolve, reject) => {
        const socket = net.connect(server.listenPort!, '127.0.0.1', () => {
          socket.write(
            `POST ${whoRoute.path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n` +
              `content-length: ${body.length}\r\ntraceparent: 00-${traceId}-1111111111111111-01\r\nconnection: close\r\n\r\n`,
          );
          setTimeout(() => socket.write(body), 300);
        });
        let text = '';
        socket.on('data', (chunk) => (text += chunk));
        socket.on('close', () => resolve(text));
        socket.on('error', reject);
      });
      expect(answer).toMatch(/^HTTP\/1.1 200/);
      expect(elapsed).toHaveLength(1);
      // About 300 ms from the headers, a few from the body; a busy machine reads the headers
      // late, which shortens the first, so the bound sits between the two.
      expect(elapsed[0]).toBeGreaterThanOrEqual(150);
      await telemetry.forceFlush();
      await waitFor(async () => receiver.spans.some((s) => s.traceId === traceId), 'the server span', 100, 50);
      expect(receiver.spans.find((s) => s.traceId === traceId)!.durationMs).toBeGreaterThanOrEqual(150);
    } finally {
      await server.stop({ timeoutMs: 100 });
    }
  });

  it('names the server as the caller addressed it: server.address and server.port from X-Forwarded-Host, else Host', async () => {
    const call = async (headers: Record<string, string>) => {
      const traceId = Math.random().toString(16).slice(2).padEnd(32, '0').slice(0, 32);
      await new Promise<void>((resolve, reject) =>
        http
          .get(`${base}/helloworld/host`, { headers: { ...headers, traceparent: `00-${traceId}-1111111111111111-01` } })
          .on('response', (res) => res.resume().on('end', resolve))
          .on('error', reject),
      );
      await telemetry.forceFlush();
      await waitFor(async () => receiver.spans.some((s) => s.traceId === traceId), 'the server span', 100, 50);
      return receiver.spans.find((s) => s.traceId === traceId)!.attributes;
    };
    expect(await call({ host: 'shop.example:8443' })).toMatchObject({
      'server.address': 'shop.example',
      'server.port': 8443,
    });
    const forwarded = await call({ host: '10.0.0.5:8000', 'x-forwarded-host': 'api.example.com, 10.0.0.5' });
    expect(forwarded['server.address']).toBe('api.example.com');
    expect(forwarded).not.toHaveProperty('server.port');
    expect(await call({ host: '[2001:db8::1]:8000' })).toMatchObject({ 'server.address': '2001:db8::1' });
  });

  it('a call no route takes is named after its method alone, without http.route', async () => {
    const traceId = 'abcdef0123456789abcdef0123456789';
    const res = await fetch(`${base}/no/such/path?x=1`, {
      headers: { traceparent: `00-${traceId}-1111111111111111-01` },
    });
    expect(res.status).toBe(404);
    await telemetry.forceFlush();
    await waitFor(async () => receiver.spans.some((s) => s.traceId === traceId), 'the server span', 100, 50);
    const span = receiver.spans.find((s) => s.traceId === traceId)!;
    expect(span).toMatchObject({ name: 'GET', statusCode: UNSET });
    expect(span.attributes).toMatchObject({ 'url.path': '/no/such/path', 'http.response.status_code': 404 });
    expect(span.attributes).not.toHaveProperty('http.route');
  });
});

describe('gRPC spans', () => {
  it('NOT_FOUND leaves the server span Unset and makes the client span an error', async () => {
    const { server, client } = await spansOf('grpc', 'missing');
    expect(server).toMatchObject({
      statusCode: UNSET,
      events: [],
      attributes: { 'rpc.grpc.status_code': 5, 'error.type': 'USER_NOT_FOUND', 'network.peer.address': '127.0.0.1' },
    });
    expect(client).toMatchObject({ statusCode: ERROR, attributes: { 'rpc.grpc.status_code': 5 } });
  });

  it('names the server as the caller addressed it (the :authority): server.address and server.port', async () => {
    const conn = new GrpcClientConn({
      target: `127.0.0.1:${grpcServer.listenPort}`,
      observers: defaultClientObservers({ logger: createLogger({ name: 'semconv', level: 'silent' }) }),
      channelOptions: { 'grpc.default_authority': 'greeter.example:9443' },
    });
    const before = receiver.spans.length;
    await new greeterGrpcClass(conn).sayHello({ name: 'authority' });
    await conn.close();
    await telemetry.forceFlush();
    const served = () =>
      receiver.spans.slice(before).find((s) => s.kind === 2 && s.attributes['rpc.system'] === 'grpc');
    await waitFor(async () => served() !== undefined, 'the server span', 100, 50);
    const server = served()!;
    expect(server.attributes).toMatchObject({ 'server.address': 'greeter.example', 'server.port': 9443 });
  });

  it('a gRPC call to a discovery:/// target names the instance that answered: server.address and server.port', async () => {
    const discovery = new MemoryDiscovery([
      {
        id: 'g-1',
        name: 'greeter',
        version: '1',
        metadata: {},
        endpoints: [`grpc://127.0.0.1:${grpcServer.listenPort}`],
      },
    ]);
    const conn = new GrpcClientConn({
      target: 'discovery:///greeter',
      discovery,
      observers: defaultClientObservers({ logger: createLogger({ name: 'semconv', level: 'silent' }) }),
    });
    const before = receiver.spans.length;
    await new greeterGrpcClass(conn).sayHello({ name: 'discovered' });
    await conn.close();
    await telemetry.forceFlush();
    const sent = () => receiver.spans.slice(before).find((s) => s.kind === 3 && s.attributes['rpc.system'] === 'grpc');
    await waitFor(async () => sent() !== undefined, 'the client span', 100, 50);
    expect(sent()!.attributes).toMatchObject({ 'server.address': '127.0.0.1', 'server.port': grpcServer.listenPort });
  });

  it('UNAVAILABLE and a thrown error are errors on the server span, with exception events', async () => {
    const down = (await spansOf('grpc', 'down')).server;
    expect(down).toMatchObject({
      statusCode: ERROR,
      events: ['exception'],
      attributes: { 'rpc.grpc.status_code': 14 },
    });
    // A service error's exception is of its class, as a Go service records *errors.Error; not its HTTP code.
    expect(down.eventAttributes?.[0]).toMatchObject({
      'exception.type': 'ServiceError',
      'exception.message': 'down for maintenance',
    });
    expect((await spansOf('grpc', 'bug')).server).toMatchObject({
      statusCode: ERROR,
      events: ['exception'],
      attributes: { 'rpc.grpc.status_code': 13, 'error.type': 'TypeError' },
    });
  });
});
