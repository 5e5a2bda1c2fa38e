// A client call made for a server call (`{ parent: ctx }`) ends when that call is
// cancelled, on both transports, also when the caller passes a signal of its own:
// the called service's handler sees its ctx.signal abort. Real servers on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrTimeout } from '../../../src/runtime/errors/catalogue.js';
import { HeaderMap, type Context } from '../../../src/runtime/transport/context.js';
import { GrpcClientConn } from '../../../src/runtime/transport/grpc/index.js';
import { HttpClient } from '../../../src/runtime/transport/http/index.js';
import { serveWho, whoMethod, whoRoute, type WhoServers } from '../../helpers/who-service.js';

let servers: WhoServers;
/** The reason each call's ctx.signal aborted with, by the `who` it was sent. */
const aborted = new Map<string, string>();
/** The `who` of each call whose handler has started. */
const handling = new Set<string>();

beforeAll(async () => {
  servers = await serveWho(
    (ctx, req) =>
      new Promise((resolve) => {
        handling.add(req.who);
        if (req.who === 'garbled') return resolve({ who: 'answered at once' });
        const { signal } = ctx as Context;
        const done = setTimeout(() => resolve({ who: 'late' }), 3000);
        signal.addEventListener('abort', () => {
          clearTimeout(done);
          aborted.set(req.who, String((signal.reason as Error).message));
          resolve({ who: 'aborted' });
        });
      }),
  );
});

afterAll(async () => {
  await servers.http.stop({ timeoutMs: 0 });
  await servers.grpc.stop({ timeoutMs: 0 });
});

/**
 * A server call whose caller goes away once the called handler for `who` has started (a
 * fixed delay could pass first on a busy machine, and the call end before any handler ran).
 */
function parentCancelledOnceStarted(who: string, reason: unknown = new Error('the caller went away')): Context {
  const controller = new AbortController();
  const check = setInterval(() => {
    if (!handling.has(who)) return;
    clearInterval(check);
    controller.abort(reason);
  }, 10);
  const header = new HeaderMap();
  return {
    transport: { kind: 'http', endpoint: '', operation: '/t.S/Parent', requestHeader: header, replyHeader: header },
    signal: controller.signal,
    values: new Map(),
  };
}

describe('a call made with { parent, signal }', () => {
  const own = new AbortController().signal; // never aborted

  it('over gRPC is cancelled with its parent', async () => {
    const conn = new GrpcClientConn({ target: `127.0.0.1:${servers.grpc.listenPort}`, timeoutMs: 5000 });
    const started = Date.now();
    const err = await conn
      .invoke(whoMethod, { who: 'grpc' }, { parent: parentCancelledOnceStarted('grpc'), signal: own })
      .catch((e: unknown) => e);
    await conn.close();
    expect(err).toMatchObject({ code: 499, reason: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(2000);
    await expect.poll(() => aborted.get('grpc')).toBeDefined();
  });

  // In tsk's words rather than grpc-js's (the peer's address, timings), naming whose deadline
  // it was: the client's timeout, or the request the call serves (the setting to look at).
  for (const transport of ['grpc', 'http'] as const) {
    const client = () =>
      transport === 'grpc'
        ? new GrpcClientConn({ target: `127.0.0.1:${servers.grpc.listenPort}`, timeoutMs: 100 })
        : new HttpClient({ target: `http://127.0.0.1:${servers.http.listenPort}`, timeoutMs: 100 });
    const call = (c: GrpcClientConn | HttpClient, who: string, parent?: Context) =>
      (c instanceof GrpcClientConn
        ? c.invoke(whoMethod, { who }, parent ? { parent } : {})
        : c.invoke(whoRoute, { who }, parent ? { parent } : {})
      ).catch((e: unknown) => e);

    it(`over ${transport} ends at the client's timeout as TIMEOUT, naming the timeout`, async () => {
      const c = client();
      const err = await call(c, `${transport}-timeout`);
      await c.close();
      expect(err).toMatchObject({
        code: 504,
        reason: 'TIMEOUT',
        message: "the call exceeded the client's 100 ms timeout",
      });
    });

    it(`over ${transport} ends at a sooner deadline of the request it serves, naming it`, async () => {
      const c = client();
      const header = new HeaderMap();
      const parent: Context = {
        transport: { kind: 'http', endpoint: '', operation: '/t.S/Parent', requestHeader: header, replyHeader: header },
        signal: new AbortController().signal,
        deadline: Date.now() + 50,
        values: new Map(),
      };
      const err = await call(c, `${transport}-parent-deadline`, parent);
      await c.close();
      expect(err).toMatchObject({
        code: 504,
        reason: 'TIMEOUT',
        message: 'the call exceeded the deadline of the request it serves',
      });
    });
  }

  // The server aborts a call's signal with TIMEOUT when its deadline passes: the call made
  // for it fails with that, not as a cancel, so the access line, span and metrics say why.
  for (const transport of ['grpc', 'http'] as const)
    it(`over ${transport} fails with the parent's deadline when that is why it was cancelled`, async () => {
      const who = `${transport}-deadline`;
      const parent = parentCancelledOnceStarted(who, ErrTimeout("request exceeded the caller's deadline"));
      const client =
        transport === 'grpc'
          ? new GrpcClientConn({ target: `127.0.0.1:${servers.grpc.listenPort}`, timeoutMs: 5000 })
          : new HttpClient({ target: `http://127.0.0.1:${servers.http.listenPort}`, timeoutMs: 5000 });
      const err = await (client instanceof GrpcClientConn
        ? client.invoke(whoMethod, { who }, { parent })
        : client.invoke(whoRoute, { who }, { parent })
      ).catch((e: unknown) => e);
      await client.close();
      expect(err).toMatchObject({ code: 504, reason: 'TIMEOUT', message: "request exceeded the caller's deadline" });
    });

  it("over gRPC, an answer that does not decode is the called service's 500 CODEC, as over HTTP", async () => {
    const conn = new GrpcClientConn({ target: `127.0.0.1:${servers.grpc.listenPort}`, timeoutMs: 5000 });
    const garbled = {
      ...whoMethod,
      responseDeserialize: () => {
        throw new Error('cant skip wire type 7');
      },
    };
    const err = await conn.invoke(garbled, { who: 'garbled' }).catch((e: unknown) => e);
    await conn.close();
    expect(err).toMatchObject({
      code: 500,
      reason: 'CODEC',
      message: 'invalid response from /t.S/Who: cant skip wire type 7',
    });
  });

  it('over HTTP is cancelled with its parent', async () => {
    const client = new HttpClient({ target: `http://127.0.0.1:${servers.http.listenPort}`, timeoutMs: 5000 });
    const started = Date.now();
    const err = await client
      .invoke(whoRoute, { who: 'http' }, { parent: parentCancelledOnceStarted('http'), signal: own })
      .catch((e: unknown) => e);
    await client.close();
    expect(err).toMatchObject({ code: 499, reason: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(2000);
    await expect.poll(() => aborted.get('http')).toBeDefined();
  });
});
