// A caller that goes away before its deadline is a cancel (499 CANCELLED), whether or not
// the handler ever looked at ctx.signal: one that ignores it runs on, and when the
// server's timeout then passes, the call's observers (access log, metrics, span) must say
// CANCELLED, not 504 TIMEOUT, which the error-rate alert counts. Real servers; the callers
// are node:http and plain grpc-js.
import * as grpc from '@grpc/grpc-js';
import http from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fromError } from '../../../src/runtime/errors/errors.js';
import { GrpcServer } from '../../../src/runtime/transport/grpc/index.js';
import { HttpServer } from '../../../src/runtime/transport/http/index.js';
import type { CallObserver } from '../../../src/runtime/transport/observer.js';
import { waitFor } from '../../helpers/process.js';
import { whoRoute, whoService, type Who } from '../../helpers/who-service.js';

const outcomes: { operation: string; reason: string; code: number }[] = [];
const recording: CallObserver<void> = {
  onStart: () => {},
  onEnd: (ctx, _started, outcome) => {
    const error = outcome.error === undefined ? undefined : fromError(outcome.error);
    outcomes.push({
      operation: ctx.transport.kind,
      reason: error?.reason ?? 'OK',
      code: error?.code ?? 200,
    });
  },
};

/** Ignores ctx.signal: runs well past the server's timeout. */
const slow = (_ctx: unknown, req: Who): Promise<Who> => new Promise((resolve) => setTimeout(() => resolve(req), 1500));

let httpServer: HttpServer;
let grpcServer: GrpcServer;

beforeAll(async () => {
  httpServer = new HttpServer({ address: '127.0.0.1:0', observers: [recording], timeoutMs: 400 });
  httpServer.route(whoRoute, slow);
  await httpServer.start();
  grpcServer = new GrpcServer({ address: '127.0.0.1:0', observers: [recording], timeoutMs: 400 });
  grpcServer.register(whoService, { who: slow });
  await grpcServer.start();
});

afterAll(async () => {
  await httpServer?.stop({ timeoutMs: 0 });
  await grpcServer?.stop({ timeoutMs: 0 });
});

it('records a caller that went away long before the server timeout as 499 CANCELLED, over HTTP and gRPC', async () => {
  const request = http.request(`http://127.0.0.1:${httpServer.listenPort}${whoRoute.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  });
  request.on('error', () => {});
  request.end('{"who":"gone"}');
  setTimeout(() => request.destroy(), 50);

  const client = new (grpc.makeGenericClientConstructor(whoService as never, 'Who'))(
    `127.0.0.1:${grpcServer.listenPort}`,
    grpc.credentials.createInsecure(),
  ) as unknown as { who(req: Who, options: grpc.CallOptions, cb: () => void): grpc.ClientUnaryCall; close(): void };
  const call = client.who({ who: 'gone' }, { deadline: Date.now() + 5000 }, () => {});
  setTimeout(() => call.cancel(), 50);

  await waitFor(async () => outcomes.length === 2, 'both calls ended', 100, 30);
  client.close();
  expect(outcomes.sort((a, b) => a.operation.localeCompare(b.operation))).toEqual([
    { operation: 'grpc', reason: 'CANCELLED', code: 499 },
    { operation: 'http', reason: 'CANCELLED', code: 499 },
  ]);
});
