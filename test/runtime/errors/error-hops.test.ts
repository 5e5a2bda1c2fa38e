// A service error crosses HTTP -> gRPC -> gRPC and back with its HTTP code and reason:
// the deepest server throws, the middle one passes the client's error on, the HTTP
// front answers it. Called with fetch, a client that shares nothing with the runtime.
// Over gRPC, the ErrorInfo's domain stays that of the service that raised the error.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newError } from '../../../src/runtime/errors/errors.js';
import {
  decodeStatus,
  encodeStatus,
  fromRpcStatus,
  STATUS_DETAILS_KEY,
  toRpcStatus,
} from '../../../src/runtime/errors/status.js';
import { GrpcClientConn, GrpcServer } from '../../../src/runtime/transport/grpc/index.js';
import { HttpClient, HttpServer } from '../../../src/runtime/transport/http/index.js';
import type { Context } from '../../../src/runtime/transport/context.js';
import { generateFixture } from '../../helpers/generated.js';

let front: HttpServer;
let middle: GrpcServer;
let deepest: GrpcServer;
/** deepest's handlers over HTTP. */
let deepestHttp: HttpServer;
/** Passes middle's errors on over gRPC: a second hop. */
let top: GrpcServer;
/** Like middle, but calls deepest over HTTP. */
let middleOverHttp: GrpcServer;
const conns: GrpcClientConn[] = [];

/** A UserService whose every method calls `getUser` on the next hop (with `raises`, id 409 is its own error). */
function forwarding(client: any, raises = false) {
  const forward = async (_ctx: Context, req: { id: string }) => {
    if (raises && req.id === '409') throw newError(409, 'OWN', 'raised here');
    return client.getUser({ id: req.id });
  };
  return { getUser: forward, createUser: forward, updateUser: forward, deleteUser: forward, listUsers: forward };
}

beforeAll(async () => {
  const dir = generateFixture('error-hops', 'user');
  const userGrpc = await import(path.join(dir, 'user/v1/user_grpc.ts'));
  const userHttp = await import(path.join(dir, 'user/v1/user_http.ts'));
  const userErrors = await import(path.join(dir, 'user/v1/error_reason_errors.ts'));

  const deepestHandlers = {
    ...forwarding(undefined),
    async getUser(_ctx: Context, req: { id: string }) {
      if (req.id === '422') throw newError(422, 'INVALID_AMOUNT', 'amount must be positive', { amount: '-3' });
      if (req.id === '404') throw userErrors.errorUserNotFound('no user 404', { id: '404' });
      if (req.id === '500') throw userErrors.errorProfileLocked('locked');
      if (req.id === '418') throw newError(418, 'TEAPOT', 'short and stout');
      return { id: req.id, name: 'ada', email: 'ada@example.com' };
    },
  };
  deepest = new GrpcServer({ address: '127.0.0.1:0', errorDomain: 'deepest' });
  userGrpc.registerUserServiceGRPCServer(deepest, deepestHandlers);
  await deepest.start();
  deepestHttp = new HttpServer({ address: '127.0.0.1:0' });
  userHttp.registerUserServiceHTTPServer(deepestHttp, deepestHandlers);
  await deepestHttp.start();
  const toDeepest = new GrpcClientConn({ target: `127.0.0.1:${deepest.listenPort}` });
  conns.push(toDeepest);

  middle = new GrpcServer({ address: '127.0.0.1:0', errorDomain: 'middle' });
  userGrpc.registerUserServiceGRPCServer(middle, forwarding(new userGrpc.UserServiceGRPCClient(toDeepest), true));
  await middle.start();
  const toMiddle = new GrpcClientConn({ target: `127.0.0.1:${middle.listenPort}` });
  conns.push(toMiddle);

  front = new HttpServer({ address: '127.0.0.1:0' });
  userHttp.registerUserServiceHTTPServer(front, forwarding(new userGrpc.UserServiceGRPCClient(toMiddle)));
  await front.start();

  top = new GrpcServer({ address: '127.0.0.1:0', errorDomain: 'top' });
  userGrpc.registerUserServiceGRPCServer(top, forwarding(new userGrpc.UserServiceGRPCClient(toMiddle)));
  await top.start();

  const toDeepestHttp = new HttpClient({ target: `http://127.0.0.1:${deepestHttp.listenPort}` });
  middleOverHttp = new GrpcServer({ address: '127.0.0.1:0', errorDomain: 'middle' });
  userGrpc.registerUserServiceGRPCServer(middleOverHttp, forwarding(new userHttp.UserServiceHTTPClient(toDeepestHttp)));
  await middleOverHttp.start();
});

afterAll(async () => {
  for (const c of conns) await c.close();
  await front?.stop({ timeoutMs: 500 });
  await top?.stop({ timeoutMs: 500 });
  await middleOverHttp?.stop({ timeoutMs: 500 });
  await deepestHttp?.stop({ timeoutMs: 500 });
  await middle?.stop({ timeoutMs: 500 });
  await deepest?.stop({ timeoutMs: 500 });
});

/** GetUser with a plain grpc-js client, which decodes nothing: the error as it arrived. */
async function plainGetUser(port: number | undefined, id: number): Promise<grpc.ServiceError> {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  // user.v1.GetUserRequest { int64 id = 1 }: field 1, varint
  const varint: number[] = [];
  for (let v = id; ; v >>>= 7) {
    if (v < 0x80) {
      varint.push(v);
      break;
    }
    varint.push((v & 0x7f) | 0x80);
  }
  const req = Buffer.from([0x08, ...varint]);
  try {
    return await new Promise<grpc.ServiceError>((resolve) => {
      client.makeUnaryRequest(
        '/user.v1.UserService/GetUser',
        (b: Buffer) => b,
        (b: Buffer) => b,
        req,
        (e) => resolve(e as grpc.ServiceError),
      );
    });
  } finally {
    client.close();
  }
}

const get = async (id: string) => {
  const res = await fetch(`http://127.0.0.1:${front.listenPort}/v1/users/${id}`);
  return { status: res.status, body: await res.json() };
};

describe('errors across HTTP -> gRPC -> gRPC', () => {
  it('keeps a code outside the HTTP<->gRPC table (422) and its reason and metadata', async () => {
    expect(await get('422')).toEqual({
      status: 422,
      body: { code: 422, reason: 'INVALID_AMOUNT', message: 'amount must be positive', metadata: { amount: '-3' } },
    });
    expect(await get('418')).toMatchObject({ status: 418, body: { code: 418, reason: 'TEAPOT' } });
  });

  it('keeps generated reasons with their codes', async () => {
    expect(await get('404')).toEqual({
      status: 404,
      body: { code: 404, reason: 'USER_NOT_FOUND', message: 'no user 404', metadata: { id: '404' } },
    });
    expect(await get('500')).toMatchObject({ status: 500, body: { code: 500, reason: 'PROFILE_LOCKED' } });
  });

  it('answers a plain gRPC client with the mapped code and both details', async () => {
    const err = await plainGetUser(middle.listenPort, 422);
    expect(err.code).toBe(grpc.status.UNKNOWN);
    const status = decodeStatus(err.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer);
    expect(status.httpCode).toBe(422);
    // Raised by deepest, passed on unchanged by middle: deepest's domain, not middle's.
    expect(status.errorInfo).toEqual({ reason: 'INVALID_AMOUNT', domain: 'deepest', metadata: { amount: '-3' } });
  });
});

describe("ErrorInfo's domain across hops", () => {
  const infoOf = async (server: GrpcServer, id: number) => {
    const err = await plainGetUser(server.listenPort, id);
    return decodeStatus(err.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer).errorInfo;
  };

  it('is the domain of the service that raised the error, over one gRPC hop or two', async () => {
    expect(await infoOf(middle, 404)).toEqual({ reason: 'USER_NOT_FOUND', domain: 'deepest', metadata: { id: '404' } });
    expect(await infoOf(top, 404)).toEqual({ reason: 'USER_NOT_FOUND', domain: 'deepest', metadata: { id: '404' } });
    expect(await infoOf(top, 422)).toMatchObject({ reason: 'INVALID_AMOUNT', domain: 'deepest' });
  });

  it("is the sender's own for its own errors", async () => {
    expect(await infoOf(middle, 409)).toEqual({ reason: 'OWN', domain: 'middle', metadata: {} });
    // top passes middle's error on: middle raised it.
    expect(await infoOf(top, 409)).toEqual({ reason: 'OWN', domain: 'middle', metadata: {} });
  });

  it("is the sender's own for an error from an HTTP downstream, whose JSON names no domain", async () => {
    expect(await infoOf(middleOverHttp, 404)).toEqual({
      reason: 'USER_NOT_FOUND',
      domain: 'middle',
      metadata: { id: '404' },
    });
  });

  it('is kept on the rebuilt error, and through withMetadata and withCause', () => {
    const details = encodeStatus({
      code: 5,
      message: 'x',
      errorInfo: { reason: 'R', domain: 'origin', metadata: {} },
      httpCode: 404,
    });
    const err = fromRpcStatus(grpc.status.NOT_FOUND, 'x', details);
    expect(err.domain).toBe('origin');
    expect(err.withMetadata({ a: 'b' }).domain).toBe('origin');
    expect(err.withCause(new Error('c')).domain).toBe('origin');
    expect(toRpcStatus(err, 'here').errorInfo?.domain).toBe('origin');
    expect(toRpcStatus(newError(404, 'R', 'x'), 'here').errorInfo?.domain).toBe('here');
    expect(err.toJSON()).not.toHaveProperty('domain');
  });
});

describe('fromRpcStatus', () => {
  it('falls back to the gRPC code when the HTTP code disagrees with it (a proxy rewrote the status)', () => {
    const details = encodeStatus({
      code: 2,
      message: 'x',
      errorInfo: { reason: 'R', domain: '', metadata: {} },
      httpCode: 422,
    });
    expect(fromRpcStatus(grpc.status.UNKNOWN, 'x', details).code).toBe(422);
    expect(fromRpcStatus(grpc.status.UNAVAILABLE, 'x', details).code).toBe(503);
    const noHttp = encodeStatus({ code: 2, message: 'x', errorInfo: { reason: 'R', domain: '', metadata: {} } });
    expect(fromRpcStatus(grpc.status.UNKNOWN, 'x', noHttp).code).toBe(500);
  });
});
