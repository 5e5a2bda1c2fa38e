// What the clients of both transports take: where they call and how they find it,
// what watches and wraps their calls, and what each call is made for.
import type { Discovery } from '../registry/registry.js';
import { servedCall } from '../telemetry/active-context.js';
import type { Context, Middleware } from './context.js';
import type { CallObserver } from './observer.js';

export interface ClientOptions {
  /** The address to call, or `discovery:///service-name`. */
  target: string;
  /** The called service's name, which its errors name when it cannot be reached; default: the name in a discovery:/// target. */
  service?: string;
  /** Required for `discovery:///` targets. */
  discovery?: Discovery;
  /** Watch every call, outermost and in this order (tracing, access log, metrics). */
  observers?: CallObserver[];
  /** Wrap every call inside the observers, first one outermost. */
  middleware?: Middleware[];
  /** Default deadline of unary calls (streams have none unless a call gives one); 0 disables it. Default 2000 ms. */
  timeoutMs?: number;
}

export interface CallOptions {
  /**
   * The server call this one is made for: its deadline (if sooner) and cancellation
   * carry over, and its trace context when no span is active. Default: the call being
   * served, while unanswered; `null`: none (its trace context still comes from the active span).
   */
  parent?: Context | null;
  headers?: Record<string, string>;
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** The server call whose deadline and cancellation a client call takes: the one named, else the one being served. */
export function callParent(options: CallOptions): Context | undefined {
  return options.parent === undefined ? servedCall() : (options.parent ?? undefined);
}
