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

/** Ignores ctx.signal: runs well past the server's timeout, or for `quick`, ends within it. */
const slow = (_ctx: unknown, req: Who): Promise<Who> =>
  new Promise((resolve) => setTimeout(() => resolve(req), req.who === 'quick' ? 250 : 1500));

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

/** Calls both servers as `who`, each caller going away after 50 ms; the outcomes recorded, by transport. */
async function callersLeaving(who: string) {
  outcomes.length = 0;
  const request = http.request(`http://127.0.0.1:${httpServer.listenPort}${whoRoute.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
  });
  request.on('error', () => {});
  request.end(JSON.stringify({ who }));
  setTimeout(() => request.destroy(), 50);

  const client = new (grpc.makeGenericClientConstructor(whoService as never, 'Who'))(
    `127.0.0.1:${grpcServer.listenPort}`,
    grpc.credentials.createInsecure(),
  ) as unknown as { who(req: Who, options: grpc.CallOptions, cb: () => void): grpc.ClientUnaryCall; close(): void };
  const call = client.who({ who }, { deadline: Date.now() + 5000 }, () => {});
  setTimeout(() => call.cancel(), 50);

  await waitFor(async () => outcomes.length === 2, 'both calls ended', 100, 30);
  client.close();
  return outcomes.sort((a, b) => a.operation.localeCompare(b.operation));
}

const cancelled = [
  { operation: 'grpc', reason: 'CANCELLED', code: 499 },
  { operation: 'http', reason: 'CANCELLED', code: 499 },
];

it('records a caller that went away long before the server timeout as 499 CANCELLED, over HTTP and gRPC', async () => {
  expect(await callersLeaving('gone')).toEqual(cancelled);
});

it('records it so when the handler then ends within the timeout too: the answer reached nobody', async () => {
  expect(await callersLeaving('quick')).toEqual(cancelled);
});
