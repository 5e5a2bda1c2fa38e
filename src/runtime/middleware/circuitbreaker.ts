// Client-side circuit breaking with the adaptive throttling of Google's SRE book
// (the algorithm Kratos's sre breaker uses): when the backend accepts fewer calls
// than k times what we send, calls are rejected locally with probability
// (requests - k * accepts) / (requests + 1) and fail fast with 503.
import { fromError } from '../errors/errors.js';
import { ErrCircuitBreaker } from '../errors/catalogue.js';
import type { Middleware } from '../transport/context.js';
import { RollingWindow } from './window.js';

export interface BreakerOptions {
  /** Lower k trips sooner; default 1.5. */
  k?: number | undefined;
  /** Below this many requests in the window the breaker never trips; default 100. */
  minRequests?: number | undefined;
  windowMs?: number | undefined;
  buckets?: number | undefined;
  random?: (() => number) | undefined;
}

export class SreBreaker {
  private readonly window: RollingWindow;
  private readonly k: number;
  private readonly minRequests: number;
  private readonly random: () => number;

  constructor(options: BreakerOptions = {}) {
    const buckets = options.buckets ?? 40;
    this.window = new RollingWindow(buckets, (options.windowMs ?? 3000) / buckets);
    this.k = options.k ?? 1.5;
    this.minRequests = options.minRequests ?? 100;
    this.random = options.random ?? Math.random;
  }

  /** Whether to let a call through now. */
  allow(): boolean {
    const { accepts, total } = this.window.reduce(
      (acc, b) => ({ accepts: acc.accepts + b.sum, total: acc.total + b.count }),
      { accepts: 0, total: 0 },
    );
    if (total < this.minRequests) return true;
    const dropRatio = Math.max(0, (total - this.k * accepts) / (total + 1));
    return dropRatio <= 0 || this.random() >= dropRatio;
  }

  markSuccess(): void {
    this.window.add(1);
  }
  markFailure(): void {
    this.window.add(0);
  }
}

/** Errors that mean the backend is in trouble, as opposed to a bad request. */
function isBackendFailure(code: number): boolean {
  return code === 500 || code === 503 || code === 504;
}

/** One breaker per operation, so one failing method does not block the others. */
export function circuitBreaker(options: BreakerOptions = {}): Middleware {
  const breakers = new Map<string, SreBreaker>();
  return (next) => async (ctx, req) => {
    const op = ctx.transport.operation;
    let breaker = breakers.get(op);
    if (!breaker) breakers.set(op, (breaker = new SreBreaker(options)));
    if (!breaker.allow()) {
      breaker.markFailure();
      throw ErrCircuitBreaker('request failed due to circuit breaker triggered');
    }
    try {
      const res = await next(ctx, req);
      breaker.markSuccess();
      return res;
    } catch (err) {
      if (isBackendFailure(fromError(err).code)) breaker.markFailure();
      else breaker.markSuccess();
      throw err;
    }
  };
}
