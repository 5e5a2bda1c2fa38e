// A server runs the hooks of its outermost hook-made middleware itself (ServerChain)
// instead of nesting them: every outcome, and the order in which middleware see it,
// must be what the nested chain gives.
import { describe, expect, it } from 'vitest';
import { observing, recovery, watching } from '../../../src/runtime/middleware/index.js';
import { backgroundContext, callHooksOf, chain, HeaderMap, type Handler, type Middleware } from '../../../src/runtime/transport/context.js';
import { ServerChain } from '../../../src/runtime/transport/server-chain.js';
import { fromError, isServiceError, newError } from '../../../src/runtime/errors/errors.js';

const ctx = () => backgroundContext({ kind: 'http', endpoint: '', operation: '/pkg.S/M', requestHeader: new HeaderMap(), replyHeader: new HeaderMap() });

/** What a watcher saw of each call, in the order the watchers ended. */
function recorder(log: string[], name: string): Middleware {
  return watching({
    start: () => { log.push(`${name} start`); return name; },
    end: (_ctx, started, elapsedMs, failed, error) => {
      expect(started).toBe(name);
      expect(elapsedMs).toBeGreaterThanOrEqual(0);
      log.push(`${name} end ${failed ? `failed ${isServiceError(error) ? fromError(error).reason : String(error)}` : 'ok'}`);
    },
  });
}

/** A plain middleware, which a server must nest: it and everything after it. */
const tagging = (log: string[]): Middleware => (next) => async (c, r) => {
  log.push('plain');
  return next(c, r);
};

type Outcome = { failed: boolean; value: unknown };

async function nested(middleware: Middleware[], handler: Handler): Promise<Outcome> {
  return chain(...middleware)(handler)(ctx(), {}).then((value) => ({ failed: false, value }), (value) => ({ failed: true, value }));
}

/** As HttpServer and GrpcServer run a call. */
async function hoisted(middleware: Middleware[], handler: Handler): Promise<Outcome> {
  const serverChain = new ServerChain(middleware);
  const wrapped = serverChain.wrap(handler);
  const c = ctx();
  const outer = serverChain.begin(c);
  if (outer.failedToStart) return { failed: true, value: outer.end(true, outer.startError) };
  let failed: boolean;
  let value: unknown;
  try {
    value = await wrapped(c, {});
    failed = false;
  } catch (err) {
    value = err;
    failed = true;
  }
  const err = outer.end(failed, failed ? value : undefined);
  return err !== undefined ? { failed: true, value: err } : { failed: false, value };
}

const handlers: Record<string, Handler> = {
  succeeds: async () => 'ok',
  'throws a ServiceError': async () => { throw newError(404, 'MISSING', 'no such thing'); },
  'throws an Error': async () => { throw new Error('boom'); },
  'throws undefined': async () => { throw undefined; },
  'throws synchronously': () => { throw new Error('sync'); },
};

const comparable = (o: Outcome) => ({ failed: o.failed, value: isServiceError(o.value) ? fromError(o.value).toJSON() : o.value instanceof Error ? o.value.message : o.value });

describe('ServerChain', () => {
  for (const [name, handler] of Object.entries(handlers)) {
    it(`gives the nested chain's outcome and order when the handler ${name}`, async () => {
      const build = (log: string[]) => [recovery(), recorder(log, 'a'), recorder(log, 'b'), tagging(log), recorder(log, 'c')];
      const nestedLog: string[] = [];
      const hoistedLog: string[] = [];
      const expected = await nested(build(nestedLog), handler);
      const actual = await hoisted(build(hoistedLog), handler);
      expect(comparable(actual)).toEqual(comparable(expected));
      expect(hoistedLog).toEqual(nestedLog);
      // Recovery still turns what is not a ServiceError into its 500.
      if (expected.failed) expect(isServiceError(actual.value)).toBe(true);
    });
  }

  it('ends only the hooks that started when a start hook throws, with that error', async () => {
    const build = (log: string[]) => [recorder(log, 'a'), watching({ start: () => { throw newError(401, 'NO_TOKEN', 'x'); }, end: () => log.push('never') }), recorder(log, 'c')];
    const nestedLog: string[] = [];
    const hoistedLog: string[] = [];
    const expected = await nested(build(nestedLog), handlers.succeeds!);
    const actual = await hoisted(build(hoistedLog), handlers.succeeds!);
    expect(comparable(actual)).toEqual(comparable(expected));
    expect(hoistedLog).toEqual(['a start', 'a end failed NO_TOKEN']);
    expect(hoistedLog).toEqual(nestedLog);
  });

  it('fails the call with the error an end hook throws, as the nested chain does', async () => {
    const build = (log: string[]) => [recorder(log, 'a'), observing(() => { throw newError(500, 'OBSERVER', 'broken'); })];
    const nestedLog: string[] = [];
    const hoistedLog: string[] = [];
    const expected = await nested(build(nestedLog), handlers.succeeds!);
    const actual = await hoisted(build(hoistedLog), handlers.succeeds!);
    expect(comparable(actual)).toEqual(comparable(expected));
    expect(actual.failed).toBe(true);
    expect(hoistedLog).toEqual(nestedLog);
  });

  it('runs as hooks only the leading hook-made middleware', () => {
    const log: string[] = [];
    expect(callHooksOf(recovery())).toBeDefined();
    expect(callHooksOf(recorder(log, 'a'))).toBeDefined();
    expect(callHooksOf(tagging(log))).toBeUndefined();
    // A plain middleware first: nothing is hoisted, the whole chain nests.
    const c = ctx();
    const outer = new ServerChain([tagging(log), recorder(log, 'a')]).begin(c);
    expect(log).toEqual([]);
    outer.end(false, undefined);
    expect(log).toEqual([]);
  });
});
