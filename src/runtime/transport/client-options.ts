// What the clients of both transports take: where they call and how they find it,
// what watches and wraps their calls, and what each call is made for.
import { ErrTimeout } from '../errors/catalogue.js';
import type { ServiceError } from '../errors/errors.js';
import type { Discovery } from '../registry/registry.js';
import type { InstanceFilter } from '../registry/target.js';
import { servedCall } from '../telemetry/active-context.js';
import { callDeadline, HeaderMap, type Context, type Middleware, type Transport } from './context.js';
import type { CallObserver } from './observer.js';

export interface ClientOptions {
  /** The address to call, or `discovery:///service-name`. */
  target: string;
  /** The called service's name, which its errors name when it cannot be reached; default: the name in a discovery:/// target. */
  service?: string | undefined;
  /** Required for `discovery:///` targets. */
  discovery?: Discovery | undefined;
  /** `discovery:///` targets: which registered instances to call (versionFilter); default every one. */
  instanceFilter?: InstanceFilter | undefined;
  /** Watch every call, outermost and in this order (tracing, access log, metrics). */
  observers?: CallObserver[] | undefined;
  /** Wrap every call inside the observers, first one outermost. */
  middleware?: Middleware[] | undefined;
  /** Default deadline of unary calls (streams have none unless a call gives one); 0 disables it. Default 2000 ms. */
  timeoutMs?: number | undefined;
}

export interface CallOptions {
  /**
   * The server call this one is made for: its deadline (if sooner) and cancellation
   * carry over, and its trace context when no span is active. Default: the call being
   * served, while unanswered; `null`: none (its trace context still comes from the active span).
   * Its `x-md-global-*` request headers are sent on too.
   */
  parent?: Context | null | undefined;
  /** Request headers (HTTP) or metadata (gRPC) of this call; they win over forwarded `x-md-global-*` ones. */
  headers?: Record<string, string> | undefined;
  timeoutMs?: number | undefined;
  signal?: AbortSignal | undefined;
}

/**
 * Refuses client options that cannot work: a `discovery:///` target without a registry
 * to look it up in, or an instance filter on an address, which has no instances to choose from.
 */
export function checkClientOptions(options: ClientOptions, discovered: string | undefined): void {
  if (discovered !== undefined && !options.discovery)
    throw new Error(`target ${options.target} needs a discovery (registry) option`);
  if (discovered === undefined && options.instanceFilter)
    throw new Error(
      `target ${options.target}: an instance filter (${options.instanceFilter.description}) needs a discovery:/// target`,
    );
}

/** The server call whose deadline and cancellation a client call takes: the one named, else the one being served. */
export function callParent(options: CallOptions): Context | undefined {
  return options.parent === undefined ? servedCall() : (options.parent ?? undefined);
}

/** Metadata a service passes on to every service it calls for a request, hop after hop (Kratos's prefix). */
export const GLOBAL_METADATA_PREFIX = 'x-md-global-';

/**
 * The request headers of a client call: its own, and the global metadata
 * (`x-md-global-*`) of the call it is made for, which every hop passes on.
 */
export function callHeaders(options: CallOptions, parent: Context | undefined): HeaderMap {
  const headers = new HeaderMap(options.headers ? Object.entries(options.headers) : undefined);
  if (parent === undefined) return headers;
  const received = parent.transport.requestHeader;
  for (const key of received.keys()) {
    if (!key.startsWith(GLOBAL_METADATA_PREFIX) || headers.get(key) !== undefined) continue;
    for (const value of received.values(key)) headers.add(key, value);
  }
  return headers;
}

/** The signal of a call nothing can cancel: one for all, instead of a controller per call. */
export const NEVER_ABORTED: AbortSignal = new AbortController().signal;

/**
 * The context of a client call: the transport `describe` builds around the request
 * headers (the call's own and the forwarded global metadata); the deadline (the call's
 * timeout, else `unaryTimeoutMs` for a unary call, never later than its parent's); and
 * a signal aborted by the caller, by the parent and, with `abortAtDeadline`, at the
 * deadline (grpc-js enforces deadlines itself; fetch needs the signal).
 */
export function clientCallContext(
  options: CallOptions,
  unaryTimeoutMs: number,
  abortAtDeadline: boolean,
  describe: (requestHeader: HeaderMap) => Transport,
): Context {
  const parent = callParent(options);
  const transport = describe(callHeaders(options, parent));
  const timeoutMs = options.timeoutMs ?? (transport.stream ? 0 : unaryTimeoutMs);
  const deadline = callDeadline(timeoutMs, parent);
  const timeout =
    abortAtDeadline && deadline !== undefined ? AbortSignal.timeout(Math.max(1, deadline - Date.now())) : undefined;
  const signals = [options.signal, parent?.signal, timeout].filter((s): s is AbortSignal => s !== undefined);
  const ctx: DeadlineContext = {
    transport,
    signal: signals.length === 0 ? NEVER_ABORTED : signals.length === 1 ? signals[0]! : AbortSignal.any(signals),
    deadline,
    values: new Map(options.parent?.values),
    requestBytes: undefined,
    responseBytes: undefined,
    responseStatus: undefined,
    // The deadline is the client's own unless the request the call serves has the sooner one.
    [OWN_TIMEOUT_MS]: deadline !== undefined && deadline !== parent?.deadline ? timeoutMs : undefined,
    [DEADLINE_TIMER]: timeout,
  };
  return ctx;
}

/** On a client call's context: its timeout in ms when that set its deadline. */
const OWN_TIMEOUT_MS = Symbol('tsk.ownTimeoutMs');
/** On a client call's context: the signal that aborts it at its deadline (HTTP; grpc-js keeps gRPC's). */
const DEADLINE_TIMER = Symbol('tsk.deadlineTimer');

type DeadlineContext = Context & { [OWN_TIMEOUT_MS]?: number | undefined; [DEADLINE_TIMER]?: AbortSignal | undefined };

/**
 * Whether `reason`, what the call's signal aborted with, is its own deadline timer's, not
 * that of a signal the caller passed (a user's AbortSignal.timeout is a TimeoutError too).
 */
export function abortedAtDeadline(ctx: Context, reason: unknown): boolean {
  const timer = (ctx as DeadlineContext)[DEADLINE_TIMER];
  return timer?.aborted === true && timer.reason === reason;
}

/**
 * A client call's deadline passed: whose it was (the client's timeout, or the request the
 * call serves) tells an on-call engineer which setting to look at.
 */
export function deadlineExceeded(ctx: Context): ServiceError {
  const own = (ctx as DeadlineContext)[OWN_TIMEOUT_MS];
  if (own !== undefined) return ErrTimeout(`the call exceeded the client's ${own} ms timeout`);
  return ErrTimeout(
    ctx.deadline !== undefined
      ? 'the call exceeded the deadline of the request it serves'
      : 'the call exceeded its deadline',
  );
}
