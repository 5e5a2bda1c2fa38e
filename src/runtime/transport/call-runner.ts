// How a server runs one call, whatever the transport: the one place for the call's
// deadline, its observers and middleware, the fallback for errors that are not
// ServiceErrors, and the order of the last steps. The transport parses the request
// and builds the call's Context before, and encodes and writes the answer through
// the callbacks it passes in.
//
// A call ends exactly once, at the first of: the handler's promise settling, the
// deadline passing, or the transport rejecting it. Ending releases the deadline and
// the caller watch, encodes the answer (so observers see its size, and a response
// that does not encode fails the call for them too), ends the observers, then answers.
//
// A stream is one call of the same shape (runStream): its handler's promise resolves
// when the stream has ended (or rejects with what broke it), the stream itself encodes
// and writes the end, and the observers cover the whole stream. It lives as long as
// its caller wants: no server timeout, only the caller's deadline, and the transport
// ends it early when the caller goes away.
import type { Logger } from 'pino';
import { answeredError, ErrServerStopping, ErrTimeout, ErrUnknownRequest } from '../errors/catalogue.js';
import { isServiceError, type ServiceError } from '../errors/errors.js';
import { inServerCall, runServerCall } from '../telemetry/active-context.js';
import type { ServerCallContext } from './call-context.js';
import { chain, type Context, type Handler, type Middleware } from './context.js';
import { DeadlineQueue, type Deadline } from './deadlines.js';
import { ObservedCall, type CallObserver } from './observer.js';

/** How a call's answer is made and written. */
export interface CallAnswer<C extends ServerCallContext, Encoded> {
  /** The answer to a successful call, made before observers end; throwing fails the call. */
  encode(ctx: C, response: unknown): Encoded;
  /** The answer to a failed call, made before observers end. */
  encodeError(ctx: C, error: ServiceError): Encoded;
  /** Writes the answer: `error` is undefined for a success. Called once per call. */
  answer(ctx: C, encoded: Encoded, error: ServiceError | undefined): void;
}

/** A stream being run: its transport ends it early with `cancel` (the caller went away). */
export interface RunningStream {
  /** Aborts ctx.signal with `error` and fails the call with it; nothing once the call has ended. */
  cancel(error: ServiceError): void;
}

/** The server's unary calls are answered as the options say. */
export interface CallRunnerOptions<C extends ServerCallContext, Encoded> extends CallAnswer<C, Encoded> {
  /** Run outermost, in this order, as plain calls (see CallObserver). */
  observers?: readonly CallObserver[] | undefined;
  /** Wrap each handler inside the observers, first one outermost. */
  middleware?: readonly Middleware[] | undefined;
  /** The server's deadline for every call, in ms (a caller's sooner deadline wins); 0: none. */
  timeoutMs: number;
  /** Where errors that are not ServiceErrors are logged, with their stack. */
  logger?: Logger | undefined;
}

export class CallRunner<C extends ServerCallContext, Encoded> {
  readonly observers: readonly CallObserver[];
  /** Whether an observer logs failed calls with their errors (see CallObserver.logsFailures). */
  readonly failuresLogged: boolean;
  private readonly middleware: Middleware;
  /** The server's timeouts, one queue for all its calls; none when timeoutMs is 0. */
  readonly deadlines?: DeadlineQueue;
  /** Running calls the deadline queue does not hold (streams, and every call when there is no server timeout). */
  readonly untimed = new Set<RunningStream>();

  constructor(readonly options: CallRunnerOptions<C, Encoded>) {
    this.observers = options.observers ?? [];
    this.failuresLogged = this.observers.some((o) => o.logsFailures === true);
    this.middleware = chain(...(options.middleware ?? []));
    if (options.timeoutMs > 0) this.deadlines = new DeadlineQueue(options.timeoutMs);
  }

  /**
   * The handler with the middleware applied, run inside the call's OpenTelemetry
   * context (the server span an observer started, and the call), so it is the active one.
   * Servers wrap each handler once, as it is registered. Only middleware can leave
   * that context before the handler runs (inServerCall).
   */
  wrap(handler: Handler): Handler {
    const inner = this.options.middleware?.length ? this.middleware(inServerCall(handler)) : handler;
    return (ctx, req) => runServerCall(ctx, inner, req);
  }

  /**
   * Runs one call of a wrapped handler and answers it. `ctx.deadline`, when set, is
   * the caller's; the call ends by the sooner of it and the server's timeout.
   */
  run(ctx: C, handler: Handler, request: unknown): void {
    start(new RunningCall(this, ctx, this.options, true), handler, request);
  }

  /**
   * Runs one stream of a wrapped handler, answered through `stream`. Only the caller's
   * deadline (`ctx.deadline`) ends it; the transport ends it early through what this returns.
   */
  runStream<S extends ServerCallContext, Encoded>(
    ctx: S,
    handler: Handler,
    request: unknown,
    stream: CallAnswer<S, Encoded>,
  ): RunningStream {
    return start(new RunningCall(this, ctx, stream, false), handler, request);
  }

  /** Answers a call refused before it reached a handler (malformed, no route), after its observers have seen it. */
  reject(ctx: C, error: ServiceError): void {
    new RunningCall(this, ctx, this.options, true).fail(error);
  }

  /** The answer to an error that is not a ServiceError: logged with its stack, answered without its details. */
  unknown(ctx: Context, err: unknown): ServiceError {
    this.logUnknown(ctx, err);
    return ErrUnknownRequest(err);
  }

  /** Logs an error that is not a ServiceError, with its stack and the call's operation. */
  logUnknown(ctx: Context, err: unknown): void {
    this.options.logger?.error({ err, operation: ctx.transport.operation }, 'unhandled error in call');
  }

  /**
   * Ends every call still running (the `transport` server is stopping and can wait no
   * longer): each is answered 503 / UNAVAILABLE, which another instance may take, and seen
   * by its observers, and its handler's signal is aborted. One warn line counts them.
   */
  cutRunning(transport: 'http' | 'grpc'): void {
    const error = ErrServerStopping();
    const timed = this.deadlines?.expireAll(error) ?? 0;
    const untimed = [...this.untimed];
    for (const call of untimed) call.cancel(error);
    const calls = timed + untimed.length;
    if (calls > 0) this.options.logger?.warn({ transport, calls }, 'calls still running at the stop timeout were cut');
  }

  /** Drops pending deadlines: the server has stopped. */
  stop(): void {
    this.deadlines?.clear();
  }
}

/** Starts a call's handler once its observers have started; the call ends as the handler settles. */
function start<C extends ServerCallContext, Encoded>(
  call: RunningCall<C, Encoded>,
  handler: Handler,
  request: unknown,
): RunningCall<C, Encoded> {
  if (call.failedToStart) {
    call.fail(call.startError);
    return call;
  }
  call.watchDeadline();
  try {
    handler(call.ctx, request).then(
      (res) => call.succeed(res),
      (err) => call.fail(err),
    );
  } catch (err) {
    call.fail(err); // a handler that throws synchronously
  }
  return call;
}

/** What a running call uses of the runner that runs it. */
interface Runner {
  readonly observers: readonly CallObserver[];
  readonly deadlines?: DeadlineQueue;
  readonly untimed: Set<RunningStream>;
  readonly options: { readonly timeoutMs: number };
  readonly failuresLogged: boolean;
  logUnknown(ctx: Context, err: unknown): void;
}

/** A call from its observers' start to its answer. */
class RunningCall<C extends ServerCallContext, Encoded> extends ObservedCall<C> implements RunningStream {
  private ended = false;
  private own?: Deadline | undefined;
  /** The timer of a caller's deadline sooner than the server's. */
  private sooner?: NodeJS.Timeout;

  constructor(
    private readonly runner: Runner,
    ctx: C,
    private readonly answering: CallAnswer<C, Encoded>,
    /** Whether the server's timeout applies (not to streams). */
    private readonly timed: boolean,
  ) {
    super(runner.observers, ctx);
  }

  /** Arms the call's deadline: the server's shared queue, plus a timer of its own for a caller's sooner deadline. */
  watchDeadline(): void {
    const expire = (cut?: Error) => this.expire(cut as ServiceError | undefined);
    if (this.timed) this.own = this.runner.deadlines?.add(expire);
    if (!this.own) this.runner.untimed.add(this);
    const caller = this.ctx.deadline;
    const own = this.own?.at;
    if (caller !== undefined && (own === undefined || caller < own))
      this.sooner = setTimeout(expire, Math.max(0, caller - Date.now()));
    else this.ctx.deadline = own;
  }

  succeed(response: unknown): void {
    if (this.ended) return;
    this.release();
    // A caller that left while a handler which never read ctx.signal ran on: the answer
    // reaches nobody, and the call is the caller's cancel (or its deadline), not a success.
    if (this.timed && this.ctx.callerGone()) return this.failReleased(this.ctx.goneError());
    let encoded: Encoded;
    try {
      encoded = this.answering.encode(this.ctx, response);
    } catch (err) {
      return this.failReleased(err);
    }
    const err = this.succeeded();
    if (err === undefined) this.answering.answer(this.ctx, encoded, undefined);
    else this.answerError(err);
  }

  fail(err: unknown): void {
    if (this.ended) return;
    const cause = this.abortedBy(err);
    this.release();
    this.failReleased(cause);
  }

  /**
   * The call's own error when `err` is the handler giving up on its aborted signal: Node's
   * AbortError (timers, events, streams given ctx.signal) wraps the reason the signal aborted
   * with (the caller went away, its deadline passed), which is what the call ended by, not
   * a failure of the service's.
   */
  private abortedBy(err: unknown): unknown {
    if ((err as { name?: unknown } | undefined)?.name !== 'AbortError') return err;
    const signal = this.ctx.signal;
    return signal.aborted && isServiceError(signal.reason) ? signal.reason : err;
  }

  cancel(error: ServiceError): void {
    if (this.ended) return;
    this.ctx.abort(error);
    this.fail(error);
  }

  private failReleased(err: unknown): void {
    // Encoded before observers end, so they see the answer's size.
    const expected = answeredError(err);
    const encoded = this.answering.encodeError(this.ctx, expected);
    const ended = this.failed(err);
    if (ended === err) this.answer(encoded, expected, err);
    else this.answerError(ended);
  }

  /** Answers an error observers have not seen encoded (one an observer threw). */
  private answerError(err: unknown): void {
    const error = answeredError(err);
    this.answer(this.answering.encodeError(this.ctx, error), error, err);
  }

  private answer(encoded: Encoded, error: ServiceError, cause: unknown): void {
    // Its stack is logged once: by the runner unless an observer logs failed calls (the access log).
    if (!isServiceError(cause) && !this.runner.failuresLogged) this.runner.logUnknown(this.ctx, cause);
    this.answering.answer(this.ctx, encoded, error);
  }

  /**
   * The call's deadline has passed, or `cut` ends it early. A caller already gone when
   * the server's own timeout passes went before it (a handler that never read ctx.signal
   * did not notice): that is its cancel, or its deadline when it left at that.
   */
  private expire(cut?: ServiceError): void {
    if (cut) return this.cancel(cut);
    const err = this.sooner
      ? ErrTimeout("request exceeded the caller's deadline")
      : this.ctx.callerGone()
        ? this.ctx.goneError()
        : ErrTimeout(`request exceeded the ${this.runner.options.timeoutMs} ms deadline`);
    this.cancel(err);
  }

  /** The call has ended: its deadline and the watch on its caller go. */
  private release(): void {
    this.ended = true;
    if (this.own) this.runner.deadlines?.cancel(this.own);
    else this.runner.untimed.delete(this);
    if (this.sooner) clearTimeout(this.sooner);
    this.ctx.release();
  }
}
