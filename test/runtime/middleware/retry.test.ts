// retry(): client middleware that calls again after 503 SERVICE_UNAVAILABLE, within the
// call's deadline. Real servers and clients on loopback, over both transports.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrNotFound, ErrServerStopping } from '../../../src/runtime/errors/catalogue.js';
import { retry } from '../../../src/runtime/middleware/retry.js';
import type { Middleware } from '../../../src/runtime/transport/context.js';
import { GrpcClientConn } from '../../../src/runtime/transport/grpc/index.js';
import { HttpClient, HttpServer } from '../../../src/runtime/transport/http/index.js';
import { serveWho, type Who, whoMethod, whoRoute, type WhoServers } from '../../helpers/who-service.js';

let servers: WhoServers;
/** How many times each `who` reached the handler. */
const calls = new Map<string, number>();

beforeAll(async () => {
  // `fail-N-<x>`: the first N calls fail as an instance stopping mid-call does; `missing-<x>`: always 404.
  servers = await serveWho(async (_ctx, req) => {
    const n = (calls.get(req.who) ?? 0) + 1;
    calls.set(req.who, n);
    if (req.who.startsWith('missing')) throw ErrNotFound('no such thing');
    const failing = /^fail-(\d+)-/.exec(req.who);
    if (failing && n <= Number(failing[1])) throw ErrServerStopping();
    return { who: `${req.who} after ${n}` };
  });
});

afterAll(async () => {
  await servers.http.stop({ timeoutMs: 0 });
  await servers.grpc.stop({ timeoutMs: 0 });
});

for (const transport of ['grpc', 'http'] as const) {
  const client = (middleware: Middleware[], timeoutMs = 2000) =>
    transport === 'grpc'
      ? new GrpcClientConn({ target: `127.0.0.1:${servers.grpc.listenPort}`, timeoutMs, middleware })
      : new HttpClient({ target: `http://127.0.0.1:${servers.http.listenPort}`, timeoutMs, middleware });
  const call = async (middleware: Middleware[], who: string, timeoutMs?: number) => {
    const c = client(middleware, timeoutMs);
    try {
      return await (c instanceof GrpcClientConn ? c.invoke(whoMethod, { who }) : c.invoke(whoRoute, { who })).catch(
        (e: unknown) => e,
      );
    } finally {
      await c.close();
    }
  };

  describe(`retry() over ${transport}`, () => {
    it('calls again after SERVICE_UNAVAILABLE and returns the answer', async () => {
      const who = `fail-2-${transport}`;
      expect(await call([retry({ backoffMs: 5 })], who)).toEqual({ who: `${who} after 3` });
      expect(calls.get(who)).toBe(3);
    });

    it('gives up after `attempts` tries with the last error', async () => {
      const who = `fail-5-${transport}`;
      const err = await call([retry({ attempts: 2, backoffMs: 5 })], who);
      expect(err).toMatchObject({ code: 503, reason: 'SERVICE_UNAVAILABLE' });
      expect(calls.get(who)).toBe(2);
    });

    it('does not call again after an error that is not retryable', async () => {
      const who = `missing-${transport}`;
      expect(await call([retry({ backoffMs: 5 })], who)).toMatchObject({ code: 404, reason: 'NOT_FOUND' });
      expect(calls.get(who)).toBe(1);
    });

    it('takes the failures `retryable` names', async () => {
      const who = `missing-again-${transport}`;
      const err = await call([retry({ attempts: 3, backoffMs: 5, retryable: (e) => e.code === 404 })], who);
      expect(err).toMatchObject({ code: 404 });
      expect(calls.get(who)).toBe(3);
    });

    it('does not wait past the call deadline: the error comes at once', async () => {
      const who = `fail-1-deadline-${transport}`;
      const started = Date.now();
      const err = await call([retry({ backoffMs: 5000, maxBackoffMs: 5000 })], who, 300);
      expect(err).toMatchObject({ code: 503, reason: 'SERVICE_UNAVAILABLE' });
      expect(calls.get(who)).toBe(1);
      expect(Date.now() - started).toBeLessThan(250);
    });
  });
}

describe('retry() over HTTP while the instance restarts', () => {
  it('reaches it once it listens again', async () => {
    // A free port with nothing on it yet: the first try is refused (the client's own 503).
    const port = await new Promise<number>((resolve) => {
      const probe = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as net.AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    let restarted: HttpServer | undefined;
    const startLate: Middleware = (next) => async (ctx, req) => {
      try {
        return await next(ctx, req);
      } catch (err) {
        if (!restarted) {
          restarted = new HttpServer({ address: `127.0.0.1:${port}` });
          restarted.route(whoRoute, async (_ctx, r: Who) => ({ who: `${r.who} answered` }));
          await restarted.start();
        }
        throw err;
      }
    };
    const c = new HttpClient({
      target: `http://127.0.0.1:${port}`,
      service: 'who',
      timeoutMs: 2000,
      middleware: [retry({ backoffMs: 20 }), startLate],
    });
    try {
      expect(await c.invoke(whoRoute, { who: 'late' })).toEqual({ who: 'late answered' });
    } finally {
      await c.close();
      await restarted?.stop({ timeoutMs: 0 });
    }
  });
});
