// A client call made while a server call is being served, without `{ parent: ctx }`,
// carries that call's deadline and cancellation on, as a Go service passing its ctx
// does: when the served call times out, the called service's ctx.signal aborts too
// (over gRPC its deadline also travels as grpc-timeout), and the served call's
// `x-md-global-*` metadata goes on with it. `{ parent: null }` and calls made after
// the answer are on their own. The upstream server runs with and without
// the default observers; it is called with plain fetch, the downstream is a real
// server on loopback. AsyncLocalStorage context, as services run by default.
import { context } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../src/runtime/log/logger.js';
import { defaultServerObservers } from '../../../src/runtime/middleware/index.js';
import type { Context } from '../../../src/runtime/transport/context.js';
import { GrpcClientConn } from '../../../src/runtime/transport/grpc/index.js';
import { HttpClient, HttpServer } from '../../../src/runtime/transport/http/index.js';
import { serveWho, whoMethod, whoRoute, type Who, type WhoServers } from '../../helpers/who-service.js';

interface Seen {
  /** ms from the downstream handler's start to its deadline. */
  deadlineIn?: number | undefined;
  /** Why its signal aborted, if it did. */
  aborted?: string | undefined;
  /** The metadata it received. */
  tenant?: string[] | undefined;
  local?: string | undefined;
}

/** What the downstream handler saw, by the name its call was sent. */
const seen = new Map<string, Seen>();
/** How each upstream client call ended, by name: the answer's `who`, or the error's reason. */
const outcomes = new Map<string, string>();

let downstream: WhoServers;
let conn: GrpcClientConn;
let client: HttpClient;
const upstreams: HttpServer[] = [];

/** The downstream answers `late` after the ms its name gives (`name:ms`), or `aborted` when its signal aborts. */
function slowly(ctx: unknown, req: Who): Promise<Who> {
  const { signal, deadline, transport } = ctx as Context;
  const [name = '', ms = '0'] = req.who.split(':');
  const entry: Seen = {
    deadlineIn: deadline === undefined ? undefined : deadline - Date.now(),
    tenant: transport.requestHeader.values('x-md-global-tenant'),
    local: transport.requestHeader.get('x-md-local-hop'),
  };
  seen.set(name, entry);
  return new Promise((resolve) => {
    const done = setTimeout(() => resolve({ who: 'late' }), Number(ms));
    signal.addEventListener('abort', () => {
      clearTimeout(done);
      entry.aborted = String((signal.reason as { reason?: string }).reason);
      resolve({ who: 'aborted' });
    });
  });
}

/** Makes the downstream call named by the request's `who`, and records how it ended (an error is thrown on). */
function call(name: string, send: () => Promise<Who>): Promise<void> {
  return send().then(
    (res) => void outcomes.set(name, res.who),
    (err: { reason?: string }) => {
      outcomes.set(name, String(err.reason));
      throw err;
    },
  );
}

/** The upstream handler: `<transport>-<mode>-<observers>`, where mode is inherit, detached, after or metadata. */
async function upstream(_ctx: unknown, req: Who): Promise<Who> {
  const name = req.who;
  const viaGrpc = name.startsWith('grpc');
  /** The downstream call `as`, answered after `ms`. */
  const send =
    (as: string, ms: number, options: { parent?: null; headers?: Record<string, string> } = {}) =>
    () =>
      viaGrpc
        ? conn.invoke(whoMethod, { who: `${as}:${ms}` }, options)
        : client.invoke(whoRoute, { who: `${as}:${ms}` }, options);
  await new Promise((r) => setTimeout(r, 5)); // the served call is found across awaits
  if (name.includes('-metadata-')) {
    const own = name.replace('-metadata-', '-own-');
    await call(name, send(name, 0));
    await call(own, send(own, 0, { headers: { 'x-md-global-tenant': 'own' } }));
    return { who: 'done' };
  }
  if (name.includes('-after-')) {
    setTimeout(() => call(name, send(name, 700)).catch(() => {}), 0);
    return { who: 'answered' };
  }
  await call(name, send(name, 700, name.includes('-detached-') ? { parent: null } : {}));
  return { who: 'done' };
}

beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  downstream = await serveWho(slowly, { timeoutMs: 5000 });
  conn = new GrpcClientConn({ target: `127.0.0.1:${downstream.grpc.listenPort}`, timeoutMs: 5000 });
  client = new HttpClient({ target: `http://127.0.0.1:${downstream.http.listenPort}`, timeoutMs: 5000 });
  const logger = createLogger({ name: 'served-call', level: 'silent' });
  for (const observers of [defaultServerObservers({ logger }), []]) {
    const server = new HttpServer({ address: '127.0.0.1:0', timeoutMs: 300, observers });
    server.route(whoRoute, upstream);
    await server.start();
    upstreams.push(server);
  }
});

afterAll(async () => {
  await conn.close();
  await client.close();
  for (const s of [...upstreams, downstream.http, downstream.grpc]) await s.stop({ timeoutMs: 0 });
  context.disable();
});

/** Calls the upstream server with plain fetch, as any HTTP client would. */
async function callUpstream(
  server: HttpServer,
  who: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any }> {
  const res = await fetch(`http://127.0.0.1:${server.listenPort}/t.S/Who`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ who }),
  });
  return { status: res.status, body: await res.json() };
}

describe.each([
  ['default observers', 'traced', 0],
  ['no observers', 'bare', 1],
])('a client call made while serving a call, %s', (_label, tag, index) => {
  it.each(['grpc', 'http'])('over %s, without a parent, ends when the served call times out', async (transport) => {
    const name = `${transport}-inherit-${tag}`;
    const started = Date.now();
    const answer = await callUpstream(upstreams[index]!, name);
    // The server's own timeout, or the downstream call's deadline error it throws on: whichever fires first.
    expect(answer.status).toBe(504);
    // The downstream call ended with the served call, not after its 700 ms or at the client's own 5 s.
    await expect.poll(() => seen.get(name)?.aborted, { timeout: 1000 }).toBeDefined();
    expect(Date.now() - started).toBeLessThan(650);
    await expect.poll(() => outcomes.get(name), { timeout: 1000 }).toMatch(/TIMEOUT|DEADLINE_EXCEEDED|CANCELLED/);
    // Over gRPC the remaining time travelled with the call.
    if (transport === 'grpc') expect(seen.get(name)!.deadlineIn).toBeLessThanOrEqual(300);
  });

  it.each(['grpc', 'http'])('over %s, with { parent: null }, keeps its own deadline', async (transport) => {
    const name = `${transport}-detached-${tag}`;
    const answer = await callUpstream(upstreams[index]!, name);
    expect(answer.status).toBe(504);
    await expect.poll(() => outcomes.get(name), { timeout: 3000 }).toBe('late');
    expect(seen.get(name)!.aborted).toBeUndefined();
    if (transport === 'grpc') expect(seen.get(name)!.deadlineIn).toBeGreaterThan(3000);
  });

  it.each(['grpc', 'http'])('over %s, passes x-md-global-* metadata on, not x-md-local-*', async (transport) => {
    const name = `${transport}-metadata-${tag}`;
    const answer = await callUpstream(upstreams[index]!, name, {
      'x-md-global-tenant': 'acme',
      'x-md-local-hop': 'first',
    });
    expect(answer).toEqual({ status: 200, body: { who: 'done' } });
    expect(seen.get(name)).toMatchObject({ tenant: ['acme'], local: undefined });
    // A value the call sets itself wins over the forwarded one.
    expect(seen.get(`${transport}-own-${tag}`)).toMatchObject({ tenant: ['own'] });
  });

  it.each(['grpc', 'http'])('over %s, made after the answer, is on its own', async (transport) => {
    const name = `${transport}-after-${tag}`;
    const answer = await callUpstream(upstreams[index]!, name);
    expect(answer).toEqual({ status: 200, body: { who: 'answered' } });
    await expect.poll(() => outcomes.get(name), { timeout: 3000 }).toBe('late');
    expect(seen.get(name)!.aborted).toBeUndefined();
  });
});
