// A client call made for a server call (`{ parent: ctx }`) ends when that call is
// cancelled, on both transports, also when the caller passes a signal of its own:
// the called service's handler sees its ctx.signal abort. Real servers on loopback.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
function parentCancelledOnceStarted(who: string): Context {
  const controller = new AbortController();
  const check = setInterval(() => {
    if (!handling.has(who)) return;
    clearInterval(check);
    controller.abort(new Error('the caller went away'));
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

  it("over gRPC ends at the client's timeout as TIMEOUT, in its own words rather than grpc-js's (the peer's address, timings)", async () => {
    const conn = new GrpcClientConn({ target: `127.0.0.1:${servers.grpc.listenPort}`, timeoutMs: 100 });
    const err = await conn.invoke(whoMethod, { who: 'grpc-timeout' }).catch((e: unknown) => e);
    await conn.close();
    expect(err).toMatchObject({ code: 504, reason: 'TIMEOUT', message: 'the call exceeded its deadline' });
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
