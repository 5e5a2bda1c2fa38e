// A request that arrives too slowly is answered 408 with the error JSON and its
// connection closed at the server's request timeout, headers or body alike, so trickled
// requests cannot hold connections; a body that breaks its framing is a 400; a caller that leaves while sending its body is a
// cancel (499), not a malformed request. Each is one call to the observers. Raw sockets
// stand for the callers.
import net from 'node:net';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { fromError } from '../../../../src/runtime/errors/errors.js';
import { HttpServer } from '../../../../src/runtime/transport/http/index.js';
import type { CallObserver } from '../../../../src/runtime/transport/observer.js';
import { waitFor } from '../../../helpers/process.js';
import { whoRoute } from '../../../helpers/who-service.js';

const outcomes: { operation: string; code: number; reason: string }[] = [];
const recording: CallObserver<void> = {
  onStart: () => {},
  onEnd: (ctx, _started, outcome) => {
    const error = outcome.error === undefined ? undefined : fromError(outcome.error);
    outcomes.push({ operation: ctx.transport.operation, code: error?.code ?? 200, reason: error?.reason ?? 'OK' });
  },
};

let server: HttpServer;
beforeAll(async () => {
  server = new HttpServer({ address: '127.0.0.1:0', observers: [recording], requestTimeoutMs: 400 });
  server.route(whoRoute, async (_ctx, req) => req);
  await server.start();
});
afterAll(() => server?.stop({ timeoutMs: 0 }));

/** Writes `bytes` on a fresh connection; what came back and how long until it closed. */
function send(bytes: string, closeAfterMs?: number): Promise<{ answer: string; closedAfterMs: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect(server.listenPort!, '127.0.0.1', () => socket.write(bytes));
    socket.on('data', (d) => (answer += d));
    socket.on('error', () => {});
    socket.on('close', () => resolve({ answer, closedAfterMs: Date.now() - started }));
    if (closeAfterMs !== undefined) setTimeout(() => socket.destroy(), closeAfterMs);
  });
}

const STALLED_BODY = `POST ${whoRoute.path} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"who":"sl`;

it('answers a body that stops arriving 408 with the error JSON at the request timeout, and closes the connection', async () => {
  outcomes.length = 0;
  const { answer, closedAfterMs } = await send(STALLED_BODY);
  expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  expect(JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4))).toMatchObject({
    code: 408,
    reason: 'REQUEST_TIMEOUT',
  });
  expect(closedAfterMs).toBeLessThan(5000);
  await waitFor(async () => outcomes.length > 0, 'the call recorded', 100, 30);
  await new Promise((r) => setTimeout(r, 200));
  expect(outcomes).toEqual([{ operation: '/t.S/Who', code: 408, reason: 'REQUEST_TIMEOUT' }]);
});

it('answers headers that stop arriving 408 too', async () => {
  outcomes.length = 0;
  const { answer } = await send(`POST ${whoRoute.path} HTTP/1.1\r\nHost: a\r\n`);
  expect(answer).toMatch(/^HTTP\/1\.1 408 /);
  await waitFor(async () => outcomes.length > 0, 'the call recorded', 100, 30);
  expect(outcomes.map((o) => [o.code, o.reason])).toEqual([[408, 'REQUEST_TIMEOUT']]);
});

it('records a caller that leaves while sending its body as 499 CANCELLED, once', async () => {
  outcomes.length = 0;
  await send(STALLED_BODY, 100);
  await waitFor(async () => outcomes.length > 0, 'the call recorded', 100, 30);
  await new Promise((r) => setTimeout(r, 700));
  expect(outcomes).toEqual([{ operation: '/t.S/Who', code: 499, reason: 'CANCELLED' }]);
});

it('answers a body that breaks its chunked framing 400 with the error JSON, recorded once with its route', async () => {
  outcomes.length = 0;
  const { answer } = await send(
    `POST ${whoRoute.path} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n5\r\n{"who\r\nZZ\r\n`,
  );
  expect(answer).toMatch(/^HTTP\/1\.1 400 /);
  await waitFor(async () => outcomes.length > 0, 'the call recorded', 100, 30);
  await new Promise((r) => setTimeout(r, 200));
  expect(outcomes).toEqual([{ operation: '/t.S/Who', code: 400, reason: 'BAD_REQUEST' }]);
});
