// A server's middleware chain, split in two: the outermost middleware that are
// made of call hooks (the default chain: recovery, then telemetry) run as plain
// function calls when the call starts and when the server answers it; the rest
// wraps the handler as usual. Each async middleware frame costs a promise and its
// reactions per call; the default chain's two were a measurable share of a small
// call in a busy server. The split keeps the nested order exactly: starts run
// outermost first, ends innermost first, each end sees the error the one inside
// it passed out.
import { performance } from 'node:perf_hooks';
import { runInCallContext } from '../telemetry/active-context.js';
import { callHooksOf, chain, type CallHooks, type Context, type Handler, type Middleware } from './context.js';

export class ServerChain {
  /** Outermost first. */
  private readonly hooks: readonly CallHooks[];
  private readonly inner: Middleware;

  constructor(middleware: readonly Middleware[]) {
    const hooks: CallHooks[] = [];
    for (const m of middleware) {
      const h = callHooksOf(m);
      if (!h) break;
      hooks.push(h);
    }
    this.hooks = hooks;
    this.inner = chain(...middleware.slice(hooks.length));
  }

  /**
   * The handler with the middleware after the hooks applied, run inside the call's
   * OpenTelemetry context (the server span the hooks started), so it is the active one.
   */
  wrap(handler: Handler): Handler {
    const inner = this.inner(handler);
    return (ctx, req) => runInCallContext(ctx, inner, req);
  }

  /** Runs the start hooks for a call; end the returned call exactly once. */
  begin(ctx: Context): OpenCall {
    return new OpenCall(this.hooks, ctx);
  }
}

/** A call between its start hooks and its end. */
export class OpenCall {
  /** What a start hook threw, when one did (see failedToStart). */
  startError: unknown;
  private readonly started: unknown[];
  /** How many start hooks ran; when one throws, the call fails there and the hooks inside it never start. */
  private readonly startedCount: number;
  private readonly at: number;

  constructor(private readonly hooks: readonly CallHooks[], private readonly ctx: Context) {
    const started = new Array<unknown>(hooks.length);
    let i = 0;
    try {
      for (; i < hooks.length; i++) started[i] = hooks[i]!.start(ctx);
    } catch (err) {
      this.startError = err;
    }
    this.started = started;
    this.startedCount = i;
    this.at = performance.now();
  }

  /** True when a start hook threw: answer with end(true, call.startError) without running the handler. */
  get failedToStart(): boolean {
    return this.startedCount < this.hooks.length;
  }

  /**
   * Runs the end hooks, innermost first, with how the rest of the chain ended.
   * Returns the error the call fails with from the outermost hook, or undefined
   * when it succeeds; a failure without an error (a rejection with undefined) gets
   * one, so undefined always means success.
   */
  end(failed: boolean, error: unknown): unknown {
    const elapsedMs = performance.now() - this.at;
    for (let i = this.startedCount - 1; i >= 0; i--) {
      try {
        const passed = this.hooks[i]!.end(this.ctx, this.started[i], elapsedMs, failed, error);
        if (failed) error = passed;
      } catch (err) {
        // As a middleware whose code after the call throws: the call fails with that.
        failed = true;
        error = err;
      }
    }
    return failed ? error ?? new Error('rejected') : undefined;
  }
}
