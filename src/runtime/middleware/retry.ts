// Client middleware that calls again when a call failed in a way another try may
// mend: by default, when the service could not be reached or its instance stopped
// before answering (503 SERVICE_UNAVAILABLE). Waits grow exponentially with
// jitter, and the call's deadline and cancellation bound every wait and try.
// Apply it only to idempotent methods: an instance that stopped mid-call may have
// done the work.
import { fromError, type ServiceError } from '../errors/errors.js';
import { Reason } from '../errors/catalogue.js';
import type { Context, Middleware } from '../transport/context.js';

export interface RetryOptions {
  /** Tries in all, the first included; default 3. */
  attempts?: number | undefined;
  /** The wait before the second try, doubled before each later one; default 50 ms. */
  backoffMs?: number | undefined;
  /** The longest wait between two tries; default 1000 ms. */
  maxBackoffMs?: number | undefined;
  /** Which failures to try again; default: 503 SERVICE_UNAVAILABLE. */
  retryable?: ((err: ServiceError) => boolean) | undefined;
  random?: (() => number) | undefined;
}

const serviceUnavailable = (err: ServiceError): boolean => err.reason === Reason.SERVICE_UNAVAILABLE;

/** Calls again after a retryable failure, up to `attempts` tries within the call's deadline. Unary calls only: streams pass through. */
export function retry(options: RetryOptions = {}): Middleware {
  const attempts = Math.max(1, Math.floor(options.attempts ?? 3));
  const backoffMs = options.backoffMs ?? 50;
  const maxBackoffMs = options.maxBackoffMs ?? 1000;
  const retryable = options.retryable ?? serviceUnavailable;
  const random = options.random ?? Math.random;
  return (next) => async (ctx, req) => {
    if (ctx.transport.stream) return next(ctx, req);
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(ctx, req);
      } catch (err) {
        if (attempt >= attempts || ctx.signal.aborted || !retryable(fromError(err))) throw err;
        // Half the backoff for sure, the other half at random, so callers that failed together spread out.
        const backoff = Math.min(maxBackoffMs, backoffMs * 2 ** (attempt - 1));
        const wait = backoff / 2 + (random() * backoff) / 2;
        if (ctx.deadline !== undefined && Date.now() + wait >= ctx.deadline) throw err;
        if (!(await waited(wait, ctx))) throw err;
      }
    }
  };
}

/** Waits `ms`; false when the call was cancelled meanwhile. */
function waited(ms: number, ctx: Context): Promise<boolean> {
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', cancelled);
      resolve(ok);
    };
    const cancelled = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    ctx.signal.addEventListener('abort', cancelled, { once: true });
  });
}
