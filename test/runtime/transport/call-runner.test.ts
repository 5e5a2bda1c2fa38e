// CallRunner runs every server call: observers outermost as plain calls, then the
// middleware and handler, one answer per call. Each outcome, and the order in which
// observers and middleware see it, must be what nesting them as middleware would give.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { CallRunner, type CallRunnerOptions } from '../../../src/runtime/transport/call-runner.js';
import { ServerCallContext } from '../../../src/runtime/transport/call-context.js';
import { HeaderMap, type Handler, type Middleware } from '../../../src/runtime/transport/context.js';
import type { CallObserver } from '../../../src/runtime/transport/observer.js';
import { fromError, isServiceError, newError, type ServiceError } from '../../../src/runtime/errors/errors.js';

class TestCall extends ServerCallContext {
  constructor(callerDeadline?: number) {
    super(
      {
        kind: 'grpc',
        endpoint: '',
        operation: '/pkg.S/M',
        requestHeader: new HeaderMap(),
        replyHeader: new HeaderMap(),
      },
      callerDeadline,
    );
  }
  callerGone(): boolean {
    return false;
  }
  protected watchCaller(_listener: () => void): void {}
  protected unwatchCaller(): void {}
}

interface Answered {
  encoded: string;
  error?: ReturnType<ServiceError['toJSON']> | undefined;
}

/** What an observer saw of each call, in the order observers ended. */
function recorder(log: string[], name: string): CallObserver<string> {
  return {
    onStart: () => {
      log.push(`${name} start`);
      return name;
    },
    onEnd: (_ctx, started, outcome) => {
      expect(started).toBe(name);
      expect(outcome.elapsedMs).toBeGreaterThanOrEqual(0);
      const e = outcome.error;
      log.push(
        `${name} end ${e === undefined ? 'ok' : `failed ${isServiceError(e) ? fromError(e).reason : e instanceof Error ? e.message : String(e)}`}`,
      );
    },
  };
}

const tagging =
  (log: string[]): Middleware =>
  (next) =>
  async (c, r) => {
    log.push('middleware');
    return next(c, r);
  };

/** Runs one call and resolves with its answer, the log lines and what was logged as unhandled. */
function runOne(
  options: Partial<CallRunnerOptions<TestCall, string>> & { handler: Handler; ctx?: TestCall; reject?: ServiceError },
) {
  const unhandled: unknown[] = [];
  const logger = { error: (fields: { err: unknown }) => unhandled.push(fields.err) } as unknown as Logger;
  const ctx = options.ctx ?? new TestCall();
  const answers: Answered[] = [];
  return new Promise<{ answer: Answered; answers: Answered[]; ctx: TestCall; unhandled: unknown[] }>((resolve) => {
    const runner = new CallRunner<TestCall, string>({
      timeoutMs: 0,
      logger,
      encode: (c, response) => {
        const json = JSON.stringify(response);
        c.responseBytes = json.length;
        return json;
      },
      encodeError: (c, error) => {
        const json = JSON.stringify(error.toJSON());
        c.responseBytes = json.length;
        return json;
      },
      ...options,
      answer: (_c, encoded, error) => {
        answers.push({ encoded, error: error?.toJSON() });
        // Let a late handler or deadline try to answer again before resolving.
        setTimeout(() => resolve({ answer: answers[0]!, answers, ctx, unhandled }), 30);
      },
    });
    if (options.reject) runner.reject(ctx, options.reject);
    else runner.run(ctx, runner.wrap(options.handler), {});
  });
}

const UNKNOWN = { code: 500, reason: 'UNKNOWN', message: 'unknown request error', metadata: {} };

describe('CallRunner', () => {
  const cases: Record<string, { handler: Handler; answer: Answered; ends: string }> = {
    succeeds: { handler: async () => ({ ok: 1 }), answer: { encoded: '{"ok":1}' }, ends: 'ok' },
    'throws a ServiceError': {
      handler: async () => {
        throw newError(404, 'MISSING', 'no such thing');
      },
      answer: {
        encoded: JSON.stringify({ code: 404, reason: 'MISSING', message: 'no such thing', metadata: {} }),
        error: { code: 404, reason: 'MISSING', message: 'no such thing', metadata: {} },
      },
      ends: 'failed MISSING',
    },
    'throws an Error': {
      handler: async () => {
        throw new Error('boom');
      },
      answer: { encoded: JSON.stringify(UNKNOWN), error: UNKNOWN },
      ends: 'failed boom',
    },
    'throws undefined': {
      handler: async () => {
        throw undefined;
      },
      answer: { encoded: JSON.stringify(UNKNOWN), error: UNKNOWN },
      ends: 'failed the call failed without an error',
    },
    'throws synchronously': {
      handler: () => {
        throw new Error('sync');
      },
      answer: { encoded: JSON.stringify(UNKNOWN), error: UNKNOWN },
      ends: 'failed sync',
    },
  };
  for (const [name, c] of Object.entries(cases)) {
    it(`runs observers outermost and answers once when the handler ${name}`, async () => {
      const log: string[] = [];
      const result = await runOne({
        observers: [recorder(log, 'a'), recorder(log, 'b')],
        middleware: [tagging(log)],
        handler: c.handler,
      });
      expect(result.answers).toEqual([c.answer]);
      // Observers see the error as thrown; the caller gets ErrUnknownRequest for what is not a ServiceError.
      expect(log).toEqual(['a start', 'b start', 'middleware', `b end ${c.ends}`, `a end ${c.ends}`]);
      expect(result.unhandled).toHaveLength(c.answer.error?.reason === 'UNKNOWN' ? 1 : 0);
      // Observers see the size of the answer actually sent.
      expect(result.ctx.responseBytes).toBe(c.answer.encoded.length);
    });
  }

  it('leaves the stack of an error that is not a ServiceError to an observer that logs failed calls', async () => {
    const log: string[] = [];
    const logging = { ...recorder(log, 'log'), logsFailures: true };
    const thrown = new Error('boom');
    const result = await runOne({
      observers: [logging],
      handler: async () => {
        throw thrown;
      },
    });
    expect(result.answer.error).toEqual(UNKNOWN);
    expect(log).toEqual(['log start', 'log end failed boom']);
    expect(result.unhandled).toEqual([]);
  });

  it('ends only the observers that started when an onStart throws, and fails the call with its error', async () => {
    const log: string[] = [];
    const throwing: CallObserver = {
      onStart: () => {
        throw newError(401, 'NO_TOKEN', 'x');
      },
      onEnd: () => void log.push('never'),
    };
    const result = await runOne({
      observers: [recorder(log, 'a'), throwing, recorder(log, 'c')],
      middleware: [tagging(log)],
      handler: async () => 'ran',
    });
    expect(log).toEqual(['a start', 'a end failed NO_TOKEN']);
    expect(result.answer.error).toMatchObject({ code: 401, reason: 'NO_TOKEN' });
  });

  it('fails the call with what an onEnd throws, for the observers outside it and the caller', async () => {
    const log: string[] = [];
    const throwing: CallObserver = {
      onStart: () => undefined,
      onEnd: () => {
        throw newError(500, 'OBSERVER', 'broken');
      },
    };
    const result = await runOne({ observers: [recorder(log, 'a'), throwing], handler: async () => 'ok' });
    expect(log).toEqual(['a start', 'a end failed OBSERVER']);
    expect(result.answers).toEqual([
      {
        encoded: JSON.stringify({ code: 500, reason: 'OBSERVER', message: 'broken', metadata: {} }),
        error: { code: 500, reason: 'OBSERVER', message: 'broken', metadata: {} },
      },
    ]);
  });

  it('fails a call whose response does not encode, before observers end', async () => {
    const log: string[] = [];
    const result = await runOne({ observers: [recorder(log, 'a')], handler: async () => ({ big: 1n }) });
    expect(log[1]).toMatch(/^a end failed .*BigInt/);
    expect(result.answer.error).toEqual(UNKNOWN);
    expect(result.unhandled).toHaveLength(1);
  });

  it("answers 504 at the server's timeout, aborts the call's signal and ignores the late response", async () => {
    const log: string[] = [];
    let signal: AbortSignal | undefined;
    const result = await runOne({
      timeoutMs: 20,
      observers: [recorder(log, 'a')],
      handler: (ctx) => {
        signal = ctx.signal;
        return new Promise((resolve) => setTimeout(() => resolve('late'), 40));
      },
    });
    await new Promise((r) => setTimeout(r, 30));
    expect(result.answers).toHaveLength(1);
    expect(result.answer.error).toMatchObject({
      code: 504,
      reason: 'TIMEOUT',
      message: 'request exceeded the 20 ms deadline',
    });
    expect(signal?.aborted).toBe(true);
    expect(log).toEqual(['a start', 'a end failed TIMEOUT']);
    expect(result.ctx.deadline).toBeGreaterThan(Date.now() - 1000);
  });

  it('gives a handler that first reads ctx.signal after its deadline an aborted signal', async () => {
    let signal: AbortSignal | undefined;
    const result = await runOne({
      timeoutMs: 20,
      handler: async (ctx) => {
        await new Promise((r) => setTimeout(r, 40));
        signal = ctx.signal;
        return 'late';
      },
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(result.answer.error).toMatchObject({ code: 504, reason: 'TIMEOUT' });
    expect(signal?.aborted).toBe(true);
    expect(fromError(signal?.reason).reason).toBe('TIMEOUT');
  });

  it("ends a call whose handler gave up on its aborted signal (Node's AbortError) by the signal's reason, logging no stack", async () => {
    class LeavingCall extends TestCall {
      gone = false;
      leave?: () => void;
      override callerGone(): boolean {
        return this.gone;
      }
      protected override watchCaller(listener: () => void): void {
        this.leave = () => {
          this.gone = true;
          listener();
        };
      }
    }
    const ctx = new LeavingCall();
    const log: string[] = [];
    const result = await runOne({
      timeoutMs: 5000,
      ctx,
      observers: [recorder(log, 'a')],
      handler: async (c) => {
        const sleeping = sleep(5000, undefined, { signal: c.signal });
        ctx.leave?.();
        return sleeping;
      },
    });
    expect(result.answer.error).toMatchObject({ code: 499, reason: 'CANCELLED' });
    expect(log).toEqual(['a start', 'a end failed CANCELLED']);
    expect(result.unhandled).toEqual([]);
  });

  it('keeps an AbortError the handler threw while its own signal stayed unaborted', async () => {
    const result = await runOne({
      handler: async () => {
        const controller = new AbortController();
        controller.abort();
        return sleep(5000, undefined, { signal: controller.signal });
      },
    });
    expect(result.answer.error).toMatchObject({ code: 500, reason: 'UNKNOWN' });
    expect((result.unhandled[0] as Error).name).toBe('AbortError');
  });

  it("keeps a caller's deadline that is sooner than the server's timeout", async () => {
    const ctx = new TestCall(Date.now() + 15);
    const started = Date.now();
    const result = await runOne({ timeoutMs: 5000, ctx, handler: () => new Promise(() => {}) });
    expect(result.answer.error).toMatchObject({
      code: 504,
      reason: 'TIMEOUT',
      message: "request exceeded the caller's deadline",
    });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('lets observers see a call refused before it ran, and answers with its error', async () => {
    const log: string[] = [];
    const result = await runOne({
      observers: [recorder(log, 'a')],
      handler: async () => 'never',
      reject: newError(400, 'CODEC', 'bad'),
    });
    expect(log).toEqual(['a start', 'a end failed CODEC']);
    expect(result.answers).toEqual([
      {
        encoded: JSON.stringify({ code: 400, reason: 'CODEC', message: 'bad', metadata: {} }),
        error: { code: 400, reason: 'CODEC', message: 'bad', metadata: {} },
      },
    ]);
  });
});

describe('CallRunner.runStream', () => {
  /** A runner whose unary answers would be JSON: a stream must never use them. */
  const runnerFor = (log: string[], timeoutMs: number) =>
    new CallRunner<TestCall, string>({
      timeoutMs,
      observers: [recorder(log, 'a')],
      middleware: [tagging(log)],
      encode: () => {
        throw new Error('the unary encode ran for a stream');
      },
      encodeError: () => {
        throw new Error('the unary encodeError ran for a stream');
      },
      answer: () => log.push('unary answer'),
    });

  /** A stream's own end, logged; `ended` resolves once it has answered. */
  function streamEnd(log: string[]) {
    let answered: () => void = () => {};
    const ended = new Promise<void>((resolve) => (answered = resolve));
    return {
      ended,
      encode: (_c: TestCall, response: unknown) => `end ${String(response)}`,
      encodeError: () => 'error status',
      answer: (_c: TestCall, encoded: string, error: ServiceError | undefined) => {
        log.push(`stream answer ${encoded}${error ? ` ${error.reason}` : ''}`);
        answered();
      },
    };
  }

  /** A handler that watches ctx.signal, as streaming handlers do, and settles when told. */
  function pending() {
    const seen: { signal?: AbortSignal; settle: (value: unknown) => void } = { settle: () => {} };
    const handler: Handler = (ctx) => {
      seen.signal = ctx.signal;
      return new Promise((resolve) => (seen.settle = resolve));
    };
    return { seen, handler };
  }

  it("outlives the server's timeout, and is answered through the stream", async () => {
    const log: string[] = [];
    const runner = runnerFor(log, 10);
    const end = streamEnd(log);
    const { seen, handler } = pending();
    runner.runStream(new TestCall(), runner.wrap(handler), {}, end);
    await new Promise((r) => setTimeout(r, 50));
    seen.settle('done');
    await end.ended;
    expect(log).toEqual(['a start', 'middleware', 'a end ok', 'stream answer end done']);
    expect(seen.signal?.aborted).toBe(false);
    runner.stop();
  });

  it("ends at the caller's deadline, aborting ctx.signal", async () => {
    const log: string[] = [];
    const runner = runnerFor(log, 0);
    const end = streamEnd(log);
    const { seen, handler } = pending();
    runner.runStream(new TestCall(Date.now() + 20), runner.wrap(handler), {}, end);
    await end.ended;
    expect(log).toEqual(['a start', 'middleware', 'a end failed TIMEOUT', 'stream answer error status TIMEOUT']);
    expect(seen.signal?.aborted).toBe(true);
  });

  it('ends once when the transport cancels it, with the error observers and ctx.signal see', async () => {
    const log: string[] = [];
    const runner = runnerFor(log, 0);
    const end = streamEnd(log);
    const { seen, handler } = pending();
    const stream = runner.runStream(new TestCall(), runner.wrap(handler), {}, end);
    await new Promise((r) => setTimeout(r, 5));
    stream.cancel(newError(499, 'CANCELLED', 'the caller went away'));
    stream.cancel(newError(499, 'CANCELLED', 'again'));
    seen.settle('late');
    await new Promise((r) => setTimeout(r, 10));
    expect(log).toEqual(['a start', 'middleware', 'a end failed CANCELLED', 'stream answer error status CANCELLED']);
    expect(fromError(seen.signal?.reason).message).toBe('the caller went away');
  });
});
