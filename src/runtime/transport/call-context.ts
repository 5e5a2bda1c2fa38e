// The Context a server hands to observers, middleware and handler for one incoming call. Its AbortSignal is
// created on first use: most handlers never look at it, and an AbortController plus a
// listener on the connection for every call is a measurable share of a small call.
import { ErrCancelled, ErrTimeout } from '../errors/catalogue.js';
import type { Context, Transport } from './context.js';

/**
 * A server call as the OpenTelemetry context it runs in holds it (SERVED_CALL), until it
 * is answered. A context can outlive its call: code may keep it (a closure, a timer), and
 * a gRPC server's were seen surviving young-generation collections until the next full
 * one. Emptied at the answer, it no longer keeps the call's request, response and
 * connection objects alive.
 */
export class ServedCall {
  constructor(public call: ServerCallContext | undefined) {}
}

/**
 * How close to its deadline a caller that goes away counts as the deadline passing: a
 * caller cancels at its deadline, which the server (counting from the moment the call
 * arrived, after network transit) puts a little later.
 */
const DEADLINE_SLACK_MS = 50;

export abstract class ServerCallContext<T extends Transport = Transport> implements Context {
  readonly values = new Map<string | symbol, unknown>();
  readonly served = new ServedCall(this);
  requestBytes?: number | undefined = undefined;
  responseBytes?: number | undefined = undefined;
  responseStatus?: number | undefined = undefined;
  /**
   * performance.now() when the request's headers had arrived, for a call whose body was
   * read before it started: its duration (metrics, access log, span) counts from here.
   */
  receivedAt?: number | undefined = undefined;
  private controller?: AbortController;
  private listener?: (() => void) | undefined;
  private settled = false;
  /** Why the call was aborted before anyone asked for its signal. */
  private abortReason?: unknown;

  /** The deadline the caller sent, if any; `deadline` may be the server's sooner one. */
  readonly callerDeadline: number | undefined;

  /**
   * @param deadline the caller's deadline, if it sent one; CallRunner makes it the
   * sooner of that and the server's timeout as the call starts.
   */
  constructor(
    readonly transport: T,
    public deadline: number | undefined,
  ) {
    this.callerDeadline = deadline;
  }

  get signal(): AbortSignal {
    if (!this.controller) {
      const controller = (this.controller = new AbortController());
      // A handler that first looks after its deadline passed must still see the call as aborted.
      if (this.abortReason !== undefined) controller.abort(this.abortReason);
      else if (!this.settled) {
        if (this.callerGone()) controller.abort(this.goneError());
        else {
          // Removed by release(), so it only ever fires for a call still unanswered.
          this.listener = () => {
            if (this.callerGone()) controller.abort(this.goneError());
          };
          this.watchCaller(this.listener);
        }
      }
    }
    return this.controller.signal;
  }

  /** Aborts the signal (the deadline passed, the caller went away), now or when it is first asked for. */
  abort(reason: unknown): void {
    if (this.controller) this.controller.abort(reason);
    else this.abortReason ??= reason;
  }

  /** Whether the call has been answered (or failed): it is no longer waited for. */
  get answered(): boolean {
    return this.settled;
  }

  /** The call is answered: the connection closing from now on cancels nothing. */
  release(): void {
    this.settled = true;
    this.served.call = undefined;
    if (this.listener) {
      this.unwatchCaller(this.listener);
      this.listener = undefined;
    }
  }

  /** Whether the caller's deadline has come, give or take its network transit (DEADLINE_SLACK_MS). */
  get atDeadline(): boolean {
    return this.callerDeadline !== undefined && Date.now() >= this.callerDeadline - DEADLINE_SLACK_MS;
  }

  /** What a caller going away means: at its deadline, the deadline passing; before it, a cancel. */
  goneError() {
    return this.atDeadline
      ? ErrTimeout("request exceeded the caller's deadline")
      : ErrCancelled('the caller went away before the call was answered');
  }

  /** Whether the caller has gone away before the call was answered; asked without watching the connection. */
  abstract callerGone(): boolean;
  /** Calls `listener` when the caller may have gone away. */
  protected abstract watchCaller(listener: () => void): void;
  protected abstract unwatchCaller(listener: () => void): void;
}
