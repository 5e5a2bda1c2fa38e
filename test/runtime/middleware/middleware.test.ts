import { describe, expect, it } from 'vitest';
import {
  adaptiveLimiter,
  circuitBreaker,
  rateLimit,
  registerRules,
  RequestRules,
  selector,
  SreBreaker,
  validate,
} from '../../../src/runtime/middleware/index.js';
import {
  backgroundContext,
  chain,
  HeaderMap,
  type Handler,
  type Middleware,
} from '../../../src/runtime/transport/context.js';
import { fromError, newError } from '../../../src/runtime/errors/errors.js';
import { observed } from '../../helpers/observed.js';

const ctx = (operation = '/pkg.S/M') =>
  backgroundContext({
    kind: 'http',
    endpoint: '',
    operation,
    requestHeader: new HeaderMap(),
    replyHeader: new HeaderMap(),
  });

describe('validate', () => {
  it('rejects with 400 VALIDATOR per operation', async () => {
    const h = validate({ '/pkg.S/M': (req: any) => (req.name ? undefined : 'name is required') })(async () => 'ok');
    expect(fromError(await h(ctx(), {}).catch((e) => e)).toJSON()).toMatchObject({
      code: 400,
      reason: 'VALIDATOR',
      message: 'name is required',
    });
    expect(await h(ctx(), { name: 'a' })).toBe('ok');
    expect(await h(ctx('/pkg.S/Other'), {})).toBe('ok');
  });

  it('checks the rules of registered services, and rules given for a service registered by hand', async () => {
    const needsName = (operation: string) =>
      new RequestRules({
        [operation]: {
          check: (req: { name?: string }) =>
            req.name ? [] : [{ field: 'name', rule: 'required', message: 'value is required' }],
        },
      });
    const handler = validate()(async () => 'ok');
    // Not registered: nothing to check.
    expect(await handler(ctx('/reg.S/M'), {})).toBe('ok');
    registerRules(needsName('/reg.S/M'));
    // Registered after the middleware was built, as servers are built before services register.
    expect(fromError(await handler(ctx('/reg.S/M'), {}).catch((e) => e)).toJSON()).toMatchObject({
      code: 400,
      reason: 'VALIDATOR',
      metadata: { field: 'name' },
    });
    expect(await handler(ctx('/reg.S/M'), { name: 'a' })).toBe('ok');
    const byHand = validate(needsName('/hand.S/M'))(async () => 'ok');
    expect(fromError(await byHand(ctx('/hand.S/M'), {}).catch((e) => e)).reason).toBe('VALIDATOR');
    // ...and the registered rules still apply beside them.
    expect(fromError(await byHand(ctx('/reg.S/M'), {}).catch((e) => e)).reason).toBe('VALIDATOR');
    expect(await handler(ctx('/hand.S/M'), {})).toBe('ok');
  });
});

describe('selector', () => {
  it('applies middleware only to matching operations', async () => {
    const seen: string[] = [];
    const tag: Middleware = (next) => async (c, r) => {
      seen.push(c.transport.operation);
      return next(c, r);
    };
    const h = selector(tag)
      .prefix('/admin.')
      .path('/pkg.S/Exact')
      .regex(/Delete$/)
      .build()(async () => 'ok');
    for (const op of ['/admin.v1.A/B', '/pkg.S/Exact', '/pkg.S/Delete', '/pkg.S/Get']) await h(ctx(op), {});
    expect(seen).toEqual(['/admin.v1.A/B', '/pkg.S/Exact', '/pkg.S/Delete']);
  });
});

describe('rate limit (adaptive)', () => {
  it('sheds with 429 RATELIMIT when overloaded and in-flight exceeds what was proven', async () => {
    let cpu = 0;
    const limiter = adaptiveLimiter({ cpu: () => cpu, windowMs: 1000, buckets: 10 });
    // Learn capacity while healthy: short requests, one at a time.
    for (let i = 0; i < 20; i++) limiter.allow()();
    cpu = 950;
    const pending: (() => void)[] = [];
    let rejected = 0;
    for (let i = 0; i < 50; i++) {
      try {
        pending.push(limiter.allow());
      } catch (err) {
        expect(fromError(err).toJSON()).toMatchObject({ code: 429, reason: 'RATELIMIT' });
        rejected++;
      }
    }
    expect(rejected).toBeGreaterThan(0);
    expect(pending.length).toBeGreaterThan(0);
    for (const done of pending) done();
  });

  it('lets everything through while the CPU is idle', async () => {
    const h = rateLimit(adaptiveLimiter({ cpu: () => 0 }))(async () => 'ok');
    const results = await Promise.all(Array.from({ length: 100 }, () => h(ctx(), {})));
    expect(results.every((r) => r === 'ok')).toBe(true);
  });
});

describe('circuit breaker (SRE)', () => {
  it('opens after failures with 503 CIRCUITBREAKER and recovers with successes', async () => {
    let fail = true;
    const backend: Handler = async () => {
      if (fail) throw newError(503, 'DOWN', 'down');
      return 'ok';
    };
    const h = circuitBreaker({ minRequests: 10, random: () => 0.5 })(backend);
    const reasons: string[] = [];
    for (let i = 0; i < 60; i++)
      reasons.push(
        await h(ctx(), {}).then(
          () => 'ok',
          (e) => fromError(e).reason,
        ),
      );
    expect(reasons).toContain('CIRCUITBREAKER');
    const breaker = new SreBreaker({ minRequests: 1, random: () => 0.99 });
    for (let i = 0; i < 10; i++) breaker.markSuccess();
    expect(breaker.allow()).toBe(true);
    fail = false;
  });

  it('does not count client errors (4xx) as backend failures', async () => {
    const h = circuitBreaker({ minRequests: 5, random: () => 0 })(async () => {
      throw newError(404, 'NF', 'nf');
    });
    const reasons = new Set<string>();
    for (let i = 0; i < 50; i++)
      reasons.add(
        await h(ctx(), {}).then(
          () => 'ok',
          (e) => fromError(e).reason,
        ),
      );
    expect([...reasons]).toEqual(['NF']);
  });
});

describe('chain', () => {
  it('runs the first middleware outermost', async () => {
    const order: string[] = [];
    const mk =
      (n: string): Middleware =>
      (next) =>
      async (c, r) => {
        order.push(`>${n}`);
        const res = await next(c, r);
        order.push(`<${n}`);
        return res;
      };
    await chain(
      mk('a'),
      mk('b'),
    )(async () => {
      order.push('h');
    })(ctx(), {});
    expect(order).toEqual(['>a', '>b', 'h', '<b', '<a']);
  });
});

describe('logging', () => {
  it('passes results and errors through and writes one JSON line per call', async () => {
    const { createLogger } = await import('../../../src/runtime/log/logger.js');
    const { loggingServer } = await import('../../../src/runtime/middleware/logging.js');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const logger = createLogger({ name: 'svc', destination: file });
    await new Promise((r) => setTimeout(r, 50)); // the file destination opens asynchronously
    const ok = observed(loggingServer(logger), async () => ({ answer: 42 }));
    expect(await ok(ctx('/pkg.S/Ok'), {})).toEqual({ answer: 42 });
    const failing = observed(loggingServer(logger), async () => {
      throw newError(404, 'NOPE', 'not here');
    });
    await expect(failing(ctx('/pkg.S/Fail'), {})).rejects.toMatchObject({ reason: 'NOPE' });
    const crashing = observed(loggingServer(logger), async () => {
      throw new TypeError('x is not a function');
    });
    await expect(crashing(ctx('/pkg.S/Crash'), {})).rejects.toThrow(TypeError);
    const unavailable = observed(loggingServer(logger), async () => {
      throw newError(503, 'SERVICE_UNAVAILABLE', 'the user service is unavailable').withCause(
        Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9'), { code: 'ECONNREFUSED' }),
      );
    });
    await expect(unavailable(ctx('/pkg.S/Down'), {})).rejects.toMatchObject({ code: 503 });
    const stringly = observed(loggingServer(logger), async () => {
      throw 'a bare string';
    });
    await expect(stringly(ctx('/pkg.S/Stringly'), {})).rejects.toBe('a bare string');
    logger.flush();
    await new Promise((r) => setTimeout(r, 50));
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines[0]).toMatchObject({
      level: 'info',
      'service.name': 'svc',
      kind: 'server',
      component: 'http',
      operation: '/pkg.S/Ok',
      code: 200,
      reason: '',
      msg: 'request',
    });
    expect(typeof lines[0].latency).toBe('number');
    expect(lines[1]).toMatchObject({
      level: 'warn',
      operation: '/pkg.S/Fail',
      code: 404,
      reason: 'NOPE',
      msg: 'not here',
    });
    // What is not a ServiceError is logged as the caller is answered (500 UNKNOWN), with its stack.
    expect(lines[2]).toMatchObject({
      level: 'error',
      operation: '/pkg.S/Crash',
      code: 500,
      reason: 'UNKNOWN',
      msg: 'unknown request error',
      err: { type: 'TypeError', message: 'x is not a function' },
    });
    expect(lines[2].err.stack).toContain('TypeError: x is not a function');
    // Another 5xx is a condition, not a place in the code: no stack, the cause as its message.
    expect(lines[3]).toMatchObject({
      level: 'error',
      code: 503,
      reason: 'SERVICE_UNAVAILABLE',
      msg: 'the user service is unavailable',
    });
    expect(lines[3].err).toEqual({ type: 'ServiceError', cause: 'Error: connect ECONNREFUSED 127.0.0.1:9' });
    // A thrown string is an object in `err` too, as every other line's is.
    expect(lines[4]).toMatchObject({ code: 500, reason: 'UNKNOWN', err: { type: 'string', value: 'a bare string' } });
    expect(lines).toHaveLength(5);
  });

  it('logs trace ids and flags unless they are the all-zero ones of a disabled tracer', async () => {
    const { createLogger } = await import('../../../src/runtime/log/logger.js');
    const { loggingServer } = await import('../../../src/runtime/middleware/logging.js');
    const { OTEL_CONTEXT } = await import('../../../src/runtime/middleware/tracing.js');
    const { INVALID_SPAN_CONTEXT, ROOT_CONTEXT, trace, TraceFlags } = await import('@opentelemetry/api');
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-log-')), 'out.log');
    const logger = createLogger({ name: 'ids', destination: file });
    const handler = observed(loggingServer(logger), async () => ({}));
    const withSpan = (spanContext: typeof INVALID_SPAN_CONTEXT) => {
      const c = ctx();
      c.values.set(OTEL_CONTEXT, trace.setSpanContext(ROOT_CONTEXT, spanContext));
      return c;
    };
    // Ids that start with zeros but are not all zero are real ids.
    const real = {
      traceId: '0000000000000000000000000000000a',
      spanId: '000000000000000b',
      traceFlags: TraceFlags.NONE,
    };
    await handler(withSpan(real), {});
    await handler(withSpan(INVALID_SPAN_CONTEXT), {});
    await handler(withSpan({ ...real, spanId: INVALID_SPAN_CONTEXT.spanId }), {});
    await handler(withSpan({ ...real, traceFlags: TraceFlags.SAMPLED }), {});
    logger.flush();
    await new Promise((r) => setTimeout(r, 50));
    const lines = fs
      .readFileSync(file, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    // The flags as W3C writes them, so a line says whether its trace was sampled.
    expect(lines[0]).toMatchObject({ trace_id: real.traceId, span_id: real.spanId, trace_flags: '00' });
    expect(lines[1]).not.toHaveProperty('trace_id');
    expect(lines[1]).not.toHaveProperty('trace_flags');
    expect(lines[2]).not.toHaveProperty('trace_id');
    expect(lines[3]).toMatchObject({ trace_id: real.traceId, trace_flags: '01' });
  });

  it('writes the time as Date.toISOString does, across seconds, backwards and outside years 1970-9999', async () => {
    const { isoAt } = await import('../../../src/runtime/middleware/logging.js');
    const base = Date.UTC(2026, 11, 31, 23, 59, 58, 990);
    const times = [0, 999, 1000, -1, -1001, 253_402_300_799_999, 253_402_300_800_000, base - 5, base];
    for (let ms = base; ms < base + 2_100; ms += 7) times.push(ms);
    for (const ms of times) expect(isoAt(ms)).toBe(new Date(ms).toISOString());
  });

  it('writes latency in seconds with six decimals, as toFixed(6) does', async () => {
    const { secondsText } = await import('../../../src/runtime/middleware/logging.js');
    expect(secondsText(0)).toBe('0.000000');
    expect(secondsText(0.0004)).toBe('0.000000');
    expect(secondsText(0.0123)).toBe('0.000012');
    expect(secondsText(999.9999)).toBe('1.000000');
    expect(secondsText(61_234.5678)).toBe('61.234568');
    for (const ms of [0.001, 0.37, 1.5, 12.345678, 250, 4_000.25, 86_400_000.125]) {
      expect(Math.abs(Number(secondsText(ms)) - ms / 1000)).toBeLessThanOrEqual(0.5e-6 + 1e-12);
      expect(secondsText(ms)).toMatch(/^\d+\.\d{6}$/);
    }
  });
});
