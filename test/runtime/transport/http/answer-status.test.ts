// A handler's own success status (setHttpStatus): 201 with a Location header, 204 without
// a body, a redirect, over both of the HTTP server's paths (a POST through fastify, a
// bodiless call on Node's response), as a plain fetch and a raw socket read them; the
// same handler over gRPC; the status on the server and client spans; statuses refused.
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTelemetry, type Telemetry } from '../../../../src/runtime/telemetry/sdk.js';
import { createLogger } from '../../../../src/runtime/log/logger.js';
import { defaultClientObservers, defaultServerObservers } from '../../../../src/runtime/middleware/index.js';
import type { Context } from '../../../../src/runtime/transport/context.js';
import { HttpClient, HttpServer, setHttpStatus } from '../../../../src/runtime/transport/http/index.js';
import { GrpcClientConn, GrpcServer } from '../../../../src/runtime/transport/grpc/index.js';
import { generateFixture } from '../../../helpers/generated.js';
import { OtlpReceiver } from '../../../helpers/otlp.js';
import { waitFor } from '../../../helpers/process.js';

const receiver = new OtlpReceiver();
let telemetry: Telemetry;
let httpServer: HttpServer;
let grpcServer: GrpcServer;
let httpClient: HttpClient;
let grpcConn: GrpcClientConn;
let base: string;
let usersOverHttp: any;
let usersOverGrpc: any;
/** What setHttpStatus returned in the last createUser. */
let lastApplied: boolean | undefined;

type User = { id?: string; name?: string; email?: string };

const handlers = {
  createUser: async (ctx: Context, req: { user?: User }) => {
    lastApplied = setHttpStatus(ctx, 201);
    ctx.transport.replyHeader.set('location', '/v1/users/7');
    return { id: '7', name: req.user?.name ?? '', email: req.user?.email ?? '' };
  },
  deleteUser: async (ctx: Context) => {
    setHttpStatus(ctx, 204);
    return {};
  },
  getUser: async (ctx: Context, req: { id: string }) => {
    if (req.id === '1') {
      setHttpStatus(ctx, 308);
      ctx.transport.replyHeader.set('location', '/v1/users/2');
    }
    if (req.id === '404') setHttpStatus(ctx, 404);
    if (req.id === '205') setHttpStatus(ctx, 205);
    return { id: req.id, name: 'ada', email: '' };
  },
  updateUser: async (ctx: Context, req: { user?: User }) => {
    setHttpStatus(ctx, Number(req.user?.name));
    return req.user ?? {};
  },
  listUsers: async () => ({ users: [] }),
};

beforeAll(async () => {
  await receiver.start();
  telemetry = await setupTelemetry({
    serviceName: 'answer-status',
    serviceVersion: '1',
    instanceId: 'as-1',
    otlp: { endpoint: receiver.endpoint },
    samplingRatio: 1,
  });
  const logger = createLogger({ name: 'answer-status', level: 'silent' });
  const dir = generateFixture('answer-status', 'user');
  const userHttp = await import(path.join(dir, 'user/v1/user_http.ts'));
  const userGrpc = await import(path.join(dir, 'user/v1/user_grpc.ts'));
  httpServer = new HttpServer({ address: '127.0.0.1:0', observers: defaultServerObservers({ logger }) });
  userHttp.registerUserServiceHTTPServer(httpServer, handlers);
  await httpServer.start();
  base = `http://127.0.0.1:${httpServer.listenPort}`;
  grpcServer = new GrpcServer({ address: '127.0.0.1:0', observers: defaultServerObservers({ logger }) });
  userGrpc.registerUserServiceGRPCServer(grpcServer, handlers);
  await grpcServer.start();
  httpClient = new HttpClient({ target: base, observers: defaultClientObservers({ logger }) });
  usersOverHttp = new userHttp.UserServiceHTTPClient(httpClient);
  grpcConn = new GrpcClientConn({ target: `127.0.0.1:${grpcServer.listenPort}` });
  usersOverGrpc = new userGrpc.UserServiceGRPCClient(grpcConn);
});

afterAll(async () => {
  await grpcConn?.close();
  await httpClient?.close();
  await httpServer?.stop({ timeoutMs: 500 });
  await grpcServer?.stop({ timeoutMs: 500 });
  await telemetry?.shutdown();
  receiver.stop();
});

/** The status line and headers of an answer, read off the socket (fetch hides a 204's framing). */
function rawAnswer(
  method: string,
  urlPath: string,
  body?: string,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const headers = body === undefined ? {} : { 'content-type': 'application/json' };
    const req = http.request(`${base}${urlPath}`, { method, headers }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const newTraceId = () => Math.random().toString(16).slice(2).padEnd(16, '0').slice(0, 16).repeat(2);

/** The span of this kind (2 server, 3 client) in the trace started with `traceId`. */
async function spanOf(traceId: string, kind: number) {
  await telemetry.forceFlush();
  await waitFor(async () => receiver.spans.some((s) => s.traceId === traceId && s.kind === kind), 'the span', 100, 50);
  return receiver.spans.find((s) => s.traceId === traceId && s.kind === kind)!;
}

describe('a handler chooses its HTTP status', () => {
  it('201 with a Location header on a POST, and the server span records 201', async () => {
    const traceId = newTraceId();
    const response = await fetch(`${base}/v1/users`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent: `00-${traceId}-${'1'.repeat(16)}-01` },
      body: JSON.stringify({ name: 'ada', email: 'ada@example.com' }),
    });
    expect(response.status).toBe(201);
    expect(response.headers.get('location')).toBe('/v1/users/7');
    expect(await response.json()).toMatchObject({ id: '7', name: 'ada', email: 'ada@example.com' });
    expect(lastApplied).toBe(true);
    const span = await spanOf(traceId, 2);
    expect(span.attributes['http.response.status_code']).toBe(201);
    expect(span.statusCode).toBe(0);
  });

  it('204 on a DELETE: no body, and neither Content-Length nor Content-Type', async () => {
    const answer = await rawAnswer('DELETE', '/v1/users/7');
    expect(answer.status).toBe(204);
    expect(answer.body).toBe('');
    expect(answer.headers['content-length']).toBeUndefined();
    expect(answer.headers['content-type']).toBeUndefined();
  });

  it('205 and 304 without a body or Content-Type, over fastify (a PATCH body) and the bodiless path', async () => {
    for (const [method, url, body, status] of [
      ['PATCH', '/v1/users/7', '{"name":"205"}', 205],
      ['PATCH', '/v1/users/7', '{"name":"304"}', 304],
      ['GET', '/v1/users/205', undefined, 205],
    ] as const) {
      const answer = await rawAnswer(method, url, body);
      expect(answer.status).toBe(status);
      expect(answer.body).toBe('');
      expect(answer.headers['content-type']).toBeUndefined();
      expect(answer.headers['transfer-encoding']).toBeUndefined();
      expect(answer.headers['content-length']).toBe(status === 205 ? '0' : undefined);
    }
  });

  it('a redirect with its Location, on a bodiless GET', async () => {
    const answer = await rawAnswer('GET', '/v1/users/1');
    expect(answer.status).toBe(308);
    expect(answer.headers['location']).toBe('/v1/users/2');
    expect(JSON.parse(answer.body)).toMatchObject({ id: '1' });
  });

  it('tsk HTTP client: a 204 reads as the empty message, and its client span records 204', async () => {
    const traceId = newTraceId();
    const parent = { traceId, spanId: '2'.repeat(16), traceFlags: 1 };
    const { trace, context } = await import('@opentelemetry/api');
    const reply = await context.with(trace.setSpanContext(context.active(), parent), () =>
      usersOverHttp.deleteUser({ id: '7' }),
    );
    expect(reply).toEqual({});
    const span = await spanOf(traceId, 3);
    expect(span.attributes['http.response.status_code']).toBe(204);
  });

  it('the same handler over gRPC answers as usual, and setHttpStatus says it did nothing', async () => {
    const user = await usersOverGrpc.createUser({ user: { name: 'grace', email: '' } });
    expect(user.name).toBe('grace');
    expect(lastApplied).toBe(false);
  });

  it('an error status is refused: the call fails 500, as a handler bug does', async () => {
    const response = await fetch(`${base}/v1/users/404`);
    expect(response.status).toBe(500);
    expect((await response.json()).code).toBe(500);
  });
});
