// Request and response body sizes: the size histograms on /metrics and in OTLP
// metric exports, and http.request/response.body.size on HTTP spans, for calls
// made over the network by clients that share no code with the service (fetch,
// a raw grpc-js client sending hand-encoded protobuf) and by tsk's own clients.
import * as grpc from '@grpc/grpc-js';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTelemetry, type Telemetry } from '../../src/runtime/telemetry/sdk.js';
import { createLogger } from '../../src/runtime/log/logger.js';
import { defaultClientObservers, defaultServerObservers } from '../../src/runtime/middleware/index.js';
import { newError } from '../../src/runtime/errors/errors.js';
import { HttpClient, HttpServer } from '../../src/runtime/transport/http/index.js';
import { GrpcClientConn, GrpcServer } from '../../src/runtime/transport/grpc/index.js';
import { generateFixture } from '../helpers/generated.js';
import { OtlpReceiver } from '../helpers/otlp.js';
import { waitFor } from '../helpers/process.js';

const receiver = new OtlpReceiver();
let telemetry: Telemetry;
let httpServer: HttpServer;
let grpcServer: GrpcServer;
let base: string;
let grpcTarget: string;

const SAY_HELLO = '/helloworld.v1.Greeter/SayHello';
const CREATE_USER = '/user.v1.UserService/CreateUser';

async function sayHello(_ctx: unknown, req: { name: string }) {
  if (req.name === 'missing') throw newError(404, 'USER_NOT_FOUND', 'no such user');
  if (req.name === 'unencodable') return { message: 10n }; // JSON.stringify throws on a BigInt
  return { message: `Hello ${req.name}` };
}

beforeAll(async () => {
  await receiver.start();
  telemetry = await setupTelemetry({
    serviceName: 'sizes',
    serviceVersion: '1',
    instanceId: 'sizes-1',
    samplingRatio: 1,
    otlp: { endpoint: receiver.endpoint, metrics: true, metricIntervalMs: 200 },
  });
  const logger = createLogger({ name: 'sizes', level: 'silent' });
  const hello = generateFixture('body-sizes', 'helloworld');
  const user = generateFixture('body-sizes', 'user');
  const greeterHttp = await import(path.join(hello, 'helloworld/v1/greeter_http.ts'));
  const greeterGrpc = await import(path.join(hello, 'helloworld/v1/greeter_grpc.ts'));
  const userHttp = await import(path.join(user, 'user/v1/user_http.ts'));
  httpServer = new HttpServer({ address: '127.0.0.1:0', observers: defaultServerObservers({ logger }) });
  greeterHttp.registerGreeterHTTPServer(httpServer, { sayHello });
  const unused = async () => ({});
  userHttp.registerUserServiceHTTPServer(httpServer, {
    createUser: async (_ctx: unknown, req: { user?: { name: string; email: string } }) => ({
      id: 7,
      name: req.user?.name ?? '',
      email: req.user?.email ?? '',
    }),
    updateUser: unused,
    deleteUser: unused,
    getUser: unused,
    listUsers: unused,
  });
  httpServer.handleRaw('GET', '/metrics', (request, reply) => {
    reply.hijack();
    telemetry.metricsHandler(request.raw, reply.raw);
  });
  await httpServer.start();
  base = `http://127.0.0.1:${httpServer.listenPort}`;
  grpcServer = new GrpcServer({ address: '127.0.0.1:0', observers: defaultServerObservers({ logger }) });
  greeterGrpc.registerGreeterGRPCServer(grpcServer, { sayHello });
  await grpcServer.start();
  grpcTarget = `127.0.0.1:${grpcServer.listenPort}`;
});

afterAll(async () => {
  await httpServer?.stop({ timeoutMs: 500 });
  await grpcServer?.stop({ timeoutMs: 500 });
  await telemetry?.shutdown();
  receiver.stop();
});

/** Count and sum of a histogram series on /metrics, by kind and operation (0, 0 when absent). */
async function scraped(name: string, kind: string, operation: string): Promise<{ count: number; sum: number }> {
  const text = await (await fetch(`${base}/metrics`)).text();
  const series = (suffix: string) => {
    const line = text
      .split('\n')
      .find(
        (l) =>
          l.startsWith(`${name}_${suffix}{`) && l.includes(`kind="${kind}"`) && l.includes(`operation="${operation}"`),
      );
    return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
  };
  return { count: series('count'), sum: series('sum') };
}

/** The newest server span of a trace started with this id (sent as traceparent). */
async function serverSpan(traceId: string) {
  await telemetry.forceFlush();
  await waitFor(
    async () => receiver.spans.some((s) => s.traceId === traceId && s.kind === 2),
    'the server span',
    100,
    50,
  );
  return receiver.spans.find((s) => s.traceId === traceId && s.kind === 2)!;
}

const newTraceId = () => Math.random().toString(16).slice(2).padEnd(16, '0').slice(0, 16).repeat(2);

describe('HTTP server body sizes', () => {
  it('a POST body and its answer: the span and both histograms carry the bytes sent and received', async () => {
    const before = {
      req: await scraped('server_requests_request_bytes', 'http', CREATE_USER),
      res: await scraped('server_requests_response_bytes', 'http', CREATE_USER),
    };
    const body = JSON.stringify({ name: 'Zoë', email: 'zoe@example.com' }); // non-ASCII: bytes, not characters
    const traceId = newTraceId();
    const response = await fetch(`${base}/v1/users`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-1111111111111111-01` },
    });
    const answer = Buffer.from(await response.arrayBuffer());
    expect(response.status).toBe(200);
    const span = await serverSpan(traceId);
    expect(span.attributes).toMatchObject({
      'http.request.body.size': Buffer.byteLength(body),
      'http.response.body.size': answer.length,
    });
    const after = {
      req: await scraped('server_requests_request_bytes', 'http', CREATE_USER),
      res: await scraped('server_requests_response_bytes', 'http', CREATE_USER),
    };
    expect([after.req.count - before.req.count, after.req.sum - before.req.sum]).toEqual([1, Buffer.byteLength(body)]);
    expect([after.res.count - before.res.count, after.res.sum - before.res.sum]).toEqual([1, answer.length]);
  });

  it('a chunked body without Content-Length is measured as read', async () => {
    const before = await scraped('server_requests_request_bytes', 'http', CREATE_USER);
    const body = JSON.stringify({ name: 'chunked', email: 'c@example.com' });
    const stream = new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode(body.slice(0, 10)));
        c.enqueue(new TextEncoder().encode(body.slice(10)));
        c.close();
      },
    });
    const response = await fetch(`${base}/v1/users`, {
      method: 'POST',
      body: stream,
      duplex: 'half',
      headers: { 'content-type': 'application/json' },
    } as RequestInit);
    expect(response.status).toBe(200);
    const after = await scraped('server_requests_request_bytes', 'http', CREATE_USER);
    expect([after.count - before.count, after.sum - before.sum]).toEqual([1, body.length]);
  });

  it('bodiless calls (the fast path) and error answers: the error JSON is the response body', async () => {
    const before = {
      req: await scraped('server_requests_request_bytes', 'http', SAY_HELLO),
      res: await scraped('server_requests_response_bytes', 'http', SAY_HELLO),
    };
    const ok = Buffer.from(await (await fetch(`${base}/helloworld/sizes`)).arrayBuffer());
    const traceId = newTraceId();
    const missing = await fetch(`${base}/helloworld/missing`, {
      headers: { traceparent: `00-${traceId}-1111111111111111-01` },
    });
    const error = Buffer.from(await missing.arrayBuffer());
    expect(missing.status).toBe(404);
    expect((await serverSpan(traceId)).attributes).toMatchObject({
      'http.response.body.size': error.length,
      'http.response.status_code': 404,
    });
    const after = {
      req: await scraped('server_requests_request_bytes', 'http', SAY_HELLO),
      res: await scraped('server_requests_response_bytes', 'http', SAY_HELLO),
    };
    expect([after.req.count - before.req.count, after.req.sum - before.req.sum]).toEqual([2, 0]);
    expect([after.res.count - before.res.count, after.res.sum - before.res.sum]).toEqual([2, ok.length + error.length]);
  });

  it('an answer that does not encode is counted and traced as the 500 it is answered with', async () => {
    const scrapeCode = async () => {
      const text = await (await fetch(`${base}/metrics`)).text();
      const line = text
        .split('\n')
        .find(
          (l) =>
            l.startsWith('server_requests_code_total{') &&
            l.includes('code="500"') &&
            l.includes(`operation="${SAY_HELLO}"`) &&
            l.includes('kind="http"'),
        );
      return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0;
    };
    const before = await scrapeCode();
    const traceId = newTraceId();
    const response = await fetch(`${base}/helloworld/unencodable`, {
      headers: { traceparent: `00-${traceId}-1111111111111111-01` },
    });
    const answer = Buffer.from(await response.arrayBuffer());
    expect(response.status).toBe(500);
    expect(JSON.parse(answer.toString())).toMatchObject({ code: 500, reason: 'UNKNOWN' });
    expect((await serverSpan(traceId)).attributes).toMatchObject({
      'http.response.status_code': 500,
      'http.response.body.size': answer.length,
      'error.type': 'TypeError',
    });
    expect(await scrapeCode()).toBe(before + 1);
  });

  it('a request rejected before routing counts its error answer under <unmatched>', async () => {
    const before = await scraped('server_requests_response_bytes', 'http', '<unmatched>');
    const response = await fetch(`${base}/no/such/route`);
    const answer = Buffer.from(await response.arrayBuffer());
    expect(response.status).toBe(404);
    const after = await scraped('server_requests_response_bytes', 'http', '<unmatched>');
    expect([after.count - before.count, after.sum - before.sum]).toEqual([1, answer.length]);
  });
});

describe('gRPC body sizes', () => {
  it('a raw grpc-js client: the serialized request and response messages are measured', async () => {
    const before = {
      req: await scraped('server_requests_request_bytes', 'grpc', SAY_HELLO),
      res: await scraped('server_requests_response_bytes', 'grpc', SAY_HELLO),
    };
    const client = new grpc.Client(grpcTarget, grpc.credentials.createInsecure());
    const asBytes = (b: Buffer) => b;
    const reply = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(SAY_HELLO, asBytes, asBytes, message('grpc-sizes'), (err, res) =>
        err ? reject(err) : resolve(res!),
      ),
    );
    client.close();
    expect(reply).toEqual(message('Hello grpc-sizes'));
    const after = {
      req: await scraped('server_requests_request_bytes', 'grpc', SAY_HELLO),
      res: await scraped('server_requests_response_bytes', 'grpc', SAY_HELLO),
    };
    expect([after.req.count - before.req.count, after.req.sum - before.req.sum]).toEqual([
      1,
      message('grpc-sizes').length,
    ]);
    expect([after.res.count - before.res.count, after.res.sum - before.res.sum]).toEqual([1, reply.length]);
  });
});

describe('client body sizes and OTLP export', () => {
  it('tsk clients measure what they send and receive; the histograms reach the OTLP receiver', async () => {
    const logger = createLogger({ name: 'sizes-client', level: 'silent' });
    const hello = path.join(process.cwd(), '.tmp', 'body-sizes', 'helloworld');
    const greeterHttp = await import(path.join(hello, 'helloworld/v1/greeter_http.ts'));
    const greeterGrpc = await import(path.join(hello, 'helloworld/v1/greeter_grpc.ts'));
    const httpClient = new HttpClient({ target: base, observers: defaultClientObservers({ logger }) });
    const grpcConn = new GrpcClientConn({ target: grpcTarget, observers: defaultClientObservers({ logger }) });
    const before = {
      http: await scraped('client_requests_response_bytes', 'http', SAY_HELLO),
      grpc: await scraped('client_requests_request_bytes', 'grpc', SAY_HELLO),
    };
    await new greeterHttp.GreeterHTTPClient(httpClient).sayHello({ name: 'client' });
    await new greeterGrpc.GreeterGRPCClient(grpcConn).sayHello({ name: 'client' });
    await httpClient.close();
    await grpcConn.close();
    const after = {
      http: await scraped('client_requests_response_bytes', 'http', SAY_HELLO),
      grpc: await scraped('client_requests_request_bytes', 'grpc', SAY_HELLO),
    };
    expect([after.http.count - before.http.count, after.http.sum - before.http.sum]).toEqual([
      1,
      Buffer.byteLength(JSON.stringify({ message: 'Hello client' })),
    ]);
    expect([after.grpc.count - before.grpc.count, after.grpc.sum - before.grpc.sum]).toEqual([
      1,
      message('client').length,
    ]);

    // The periodic OTLP export carries the same histograms, in bytes.
    const exported = () => receiver.histogramExports.at(-1) ?? [];
    await waitFor(
      async () =>
        exported().some((p) => p.metric === 'client_requests_request_bytes' && p.attributes['kind'] === 'grpc'),
      'an OTLP export with the client size histogram',
      100,
      50,
    );
    const point = (metric: string, kind: string, operation: string) =>
      exported().find(
        (p) => p.metric === metric && p.attributes['kind'] === kind && p.attributes['operation'] === operation,
      )!;
    const grpcRequests = point('client_requests_request_bytes', 'grpc', SAY_HELLO);
    expect(grpcRequests).toMatchObject({ unit: 'By', count: 1, sum: message('client').length });
    expect(grpcRequests.bounds).toEqual([64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216]);
    expect(grpcRequests.bucketCounts[0]).toBe(1);
    for (const metric of ['server_requests_request_bytes', 'server_requests_response_bytes']) {
      expect(point(metric, 'http', CREATE_USER)).toMatchObject({ unit: 'By', count: 2 });
    }
  });
});

/** HelloRequest{name} and HelloReply{message} by hand: field 1, length-delimited (texts under 128 bytes). */
function message(text: string): Buffer {
  return Buffer.concat([Buffer.from([0x0a, Buffer.byteLength(text)]), Buffer.from(text)]);
}
