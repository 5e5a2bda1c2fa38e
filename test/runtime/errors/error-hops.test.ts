// A service error crosses HTTP -> gRPC -> gRPC and back with its HTTP code and reason:
// the deepest server throws, the middle one passes the client's error on, the HTTP
// front answers it. Called with fetch, a client that shares nothing with the runtime.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newError } from '../../../src/runtime/errors/errors.js';
import { decodeStatus, encodeStatus, fromRpcStatus, STATUS_DETAILS_KEY } from '../../../src/runtime/errors/status.js';
import { GrpcClientConn, GrpcServer } from '../../../src/runtime/transport/grpc/index.js';
import { HttpServer } from '../../../src/runtime/transport/http/index.js';
import type { Context } from '../../../src/runtime/transport/context.js';
import { generateFixture } from '../../helpers/generated.js';

let front: HttpServer;
let middle: GrpcServer;
let deepest: GrpcServer;
const conns: GrpcClientConn[] = [];

/** A UserService whose every method calls `getUser` on the next hop. */
function forwarding(client: any) {
  const forward = (_ctx: Context, req: { id: string }) => client.getUser({ id: req.id });
  return { getUser: forward, createUser: forward, updateUser: forward, deleteUser: forward, listUsers: forward };
}

beforeAll(async () => {
  const dir = generateFixture('error-hops', 'user');
  const userGrpc = await import(path.join(dir, 'user/v1/user_grpc.ts'));
  const userHttp = await import(path.join(dir, 'user/v1/user_http.ts'));
  const userErrors = await import(path.join(dir, 'user/v1/error_reason_errors.ts'));

  deepest = new GrpcServer({ address: '127.0.0.1:0', errorDomain: 'deepest' });
  userGrpc.registerUserServiceGRPCServer(deepest, {
    ...forwarding(undefined),
    async getUser(_ctx: Context, req: { id: string }) {
      if (req.id === '422') throw newError(422, 'INVALID_AMOUNT', 'amount must be positive', { amount: '-3' });
      if (req.id === '404') throw userErrors.errorUserNotFound('no user 404', { id: '404' });
      if (req.id === '500') throw userErrors.errorProfileLocked('locked');
      if (req.id === '418') throw newError(418, 'TEAPOT', 'short and stout');
      return { id: req.id, name: 'ada', email: 'ada@example.com' };
    },
  });
  await deepest.start();
  const toDeepest = new GrpcClientConn({ target: `127.0.0.1:${deepest.listenPort}` });
  conns.push(toDeepest);

  middle = new GrpcServer({ address: '127.0.0.1:0', errorDomain: 'middle' });
  userGrpc.registerUserServiceGRPCServer(middle, forwarding(new userGrpc.UserServiceGRPCClient(toDeepest)));
  await middle.start();
  const toMiddle = new GrpcClientConn({ target: `127.0.0.1:${middle.listenPort}` });
  conns.push(toMiddle);

  front = new HttpServer({ address: '127.0.0.1:0' });
  userHttp.registerUserServiceHTTPServer(front, forwarding(new userGrpc.UserServiceGRPCClient(toMiddle)));
  await front.start();
});

afterAll(async () => {
  for (const c of conns) await c.close();
  await front?.stop({ timeoutMs: 500 });
  await middle?.stop({ timeoutMs: 500 });
  await deepest?.stop({ timeoutMs: 500 });
});

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
    const client = new grpc.Client(`127.0.0.1:${middle.listenPort}`, grpc.credentials.createInsecure());
    const err = await new Promise<grpc.ServiceError>((resolve) => {
      // user.v1.GetUserRequest { int64 id = 1 } with id 422 (varint a6 03)
      const req = Buffer.from([0x08, 0xa6, 0x03]);
      client.makeUnaryRequest(
        '/user.v1.UserService/GetUser',
        (b: Buffer) => b,
        (b: Buffer) => b,
        req,
        (e) => resolve(e as grpc.ServiceError),
      );
    });
    client.close();
    expect(err.code).toBe(grpc.status.UNKNOWN);
    const status = decodeStatus(err.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer);
    expect(status.httpCode).toBe(422);
    expect(status.errorInfo).toEqual({ reason: 'INVALID_AMOUNT', domain: 'middle', metadata: { amount: '-3' } });
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
