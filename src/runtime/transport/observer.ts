// Observers: the stage of a call outside all middleware. Tracing, the access log and
// metrics only watch calls, so they are plain functions the server or client calls as
// the call starts and as it ends, rather than middleware, which would cost an async
// frame each per call. Servers and clients take them apart from their middleware and
// always run them outermost, in the order given.
import { performance } from 'node:perf_hooks';
import { runInCallContext } from '../telemetry/active-context.js';
import type { Context, Handler } from './context.js';

/** How a call ended, as observers see it. */
export interface CallOutcome {
  /** From the observers' start to the end of the call (a server's answer encoded, not yet written). */
  readonly elapsedMs: number;
  /** What the call failed with; undefined when it succeeded. */
  readonly error?: unknown;
}

/**
 * Watches calls. `onStart` runs before any middleware, first observer first; `onEnd`
 * runs once the call has ended, last observer first, with what that observer's
 * `onStart` returned. Whatever call context `onStart` puts in `ctx` (a span) is
 * active for the middleware and handler. An observer that throws fails the call
 * with what it threw: from `onStart`, before the call runs (observers after it do
 * not start); from `onEnd`, for the observers before it and the caller.
 */
export interface CallObserver<Started = unknown> {
  onStart(ctx: Context): Started;
  onEnd(ctx: Context, started: Started, outcome: CallOutcome): void;
  /**
   * Whether `onEnd` logs a failed call's error with its stack and the call's trace ids (the
   * access log does): then the server does not log an error that is not a ServiceError again.
   */
  readonly logsFailures?: boolean;
}

/** A failure without an error (a promise rejected with undefined) still needs one to report. */
function failure(err: unknown): unknown {
  return err === undefined ? new Error('the call failed without an error') : err;
}

/**
 * One call between its observers' starts and their end. Starting happens in the
 * constructor; call `succeeded` or `failed` exactly once, as the call ends.
 */
export class ObservedCall<C extends Context = Context> {
  /** What an observer's onStart threw, when one did (see failedToStart). */
  readonly startError: unknown;
  private readonly started: unknown[];
  /** How many observers started; when one throws, the ones after it never start. */
  private readonly startedCount: number;
  private readonly at: number;

  constructor(
    private readonly observers: readonly CallObserver[],
    readonly ctx: C,
  ) {
    const started = new Array<unknown>(observers.length);
    let i = 0;
    try {
      for (; i < observers.length; i++) started[i] = observers[i]!.onStart(ctx);
    } catch (err) {
      this.startError = failure(err);
    }
    this.started = started;
    this.startedCount = i;
    // A server call whose body was read first counts from its headers' arrival.
    this.at = (ctx as { receivedAt?: number }).receivedAt ?? performance.now();
  }

  /** True when an observer's onStart threw: the call fails with startError without running. */
  get failedToStart(): boolean {
    return this.startedCount < this.observers.length;
  }

  /** Ends the observers of a call that succeeded; returns the error it fails with if an observer threw, else undefined. */
  succeeded(): unknown {
    return this.end(undefined);
  }

  /** Ends the observers of a call that failed with `err`; returns the error it fails with. */
  failed(err: unknown): unknown {
    return this.end(failure(err));
  }

  private end(error: unknown): unknown {
    let outcome: CallOutcome = { elapsedMs: performance.now() - this.at, error };
    for (let i = this.startedCount - 1; i >= 0; i--) {
      try {
        this.observers[i]!.onEnd(this.ctx, this.started[i], outcome);
      } catch (err) {
        outcome = { elapsedMs: outcome.elapsedMs, error: failure(err) };
      }
    }
    return outcome.error;
  }
}

/**
 * Runs `handler` (middleware applied) between the observers' start and end, in the
 * call's OpenTelemetry context: how clients run their calls. Servers use CallRunner.
 */
export async function runObserved(
  observers: readonly CallObserver[],
  ctx: Context,
  handler: Handler,
  request: unknown,
): Promise<unknown> {
  const call = new ObservedCall(observers, ctx);
  if (call.failedToStart) throw call.failed(call.startError);
  let response: unknown;
  try {
    response = await runInCallContext(ctx, handler, request);
  } catch (err) {
    throw call.failed(err);
  }
  const err = call.succeeded();
  if (err !== undefined) throw err;
  return response;
}

/**
 * How a client runs a call: inside its observers when it has any (runObserved), else
 * the handler alone, without the async frame observers would cost.
 */
export function runClientCall(
  observers: readonly CallObserver[],
  ctx: Context,
  handler: Handler,
  request: unknown,
): Promise<unknown> {
  return observers.length > 0 ? runObserved(observers, ctx, handler, request) : handler(ctx, request);
}
