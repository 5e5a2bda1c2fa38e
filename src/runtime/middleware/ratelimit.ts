// Adaptive rate limiting in the spirit of Kratos's BBR limiter: while the process
// is overloaded (CPU above a threshold), a request is shed when the requests in
// flight exceed what the service has proven it can complete (max pass rate per
// bucket times the minimum latency). Shed requests get 429 RATELIMIT.
import { ErrRateLimit } from '../errors/catalogue.js';
import type { Middleware } from '../transport/context.js';
import { RollingWindow } from './window.js';

export interface RateLimitOptions {
  /** Overload threshold, CPU per mille of one core (0..1000); default 800. */
  cpuThreshold?: number | undefined;
  /** Window length (10 s) and bucket count (100) over which pass rate and latency are measured. */
  windowMs?: number | undefined;
  buckets?: number | undefined;
  /** CPU reading; injectable for tests. Default: this process's CPU use, sampled every 250 ms. */
  cpu?: (() => number) | undefined;
}

export interface Limiter {
  /** Returns a `done()` to call when the request finishes, or throws 429. */
  allow(): () => void;
}

export function adaptiveLimiter(options: RateLimitOptions = {}): Limiter {
  const buckets = options.buckets ?? 100;
  const bucketMs = (options.windowMs ?? 10_000) / buckets;
  const passed = new RollingWindow(buckets, bucketMs);
  const latency = new RollingWindow(buckets, bucketMs);
  const threshold = options.cpuThreshold ?? 800;
  const cpu = options.cpu ?? processCpu();
  let inflight = 0;
  let lastDrop = 0;

  const maxInflight = (): number => {
    const maxPass = passed.reduce((m, b) => Math.max(m, b.sum), 0);
    const minRt = latency.reduce((m, b) => (b.count > 0 ? Math.min(m, b.sum / b.count) : m), Infinity);
    if (maxPass === 0 || !Number.isFinite(minRt)) return Infinity; // nothing learned yet: let traffic through
    return Math.max(1, Math.ceil((maxPass * minRt) / bucketMs));
  };
  const shouldDrop = (): boolean => {
    const overloaded = cpu() >= threshold;
    // Keep shedding briefly after a drop (cool-down), as BBR does, so the limit does not flap.
    if (!overloaded && Date.now() - lastDrop > 1000) return false;
    return inflight > maxInflight();
  };

  return {
    allow() {
      if (shouldDrop()) {
        lastDrop = Date.now();
        throw ErrRateLimit('service unavailable due to rate limit exceeded');
      }
      inflight++;
      const start = performance.now();
      return () => {
        inflight--;
        passed.add(1);
        latency.add(performance.now() - start);
      };
    },
  };
}

export function rateLimit(limiter: Limiter = adaptiveLimiter()): Middleware {
  return (next) => async (ctx, req) => {
    const done = limiter.allow();
    try {
      return await next(ctx, req);
    } finally {
      done();
    }
  };
}

/** Smoothed CPU use of this process in per mille of one core. */
function processCpu(): () => number {
  let value = 0;
  let last = process.cpuUsage();
  let lastAt = performance.now();
  const timer = setInterval(() => {
    const now = performance.now();
    const usage = process.cpuUsage(last);
    const perMille = ((usage.user + usage.system) / 1000 / (now - lastAt)) * 1000;
    value = value * 0.8 + perMille * 0.2;
    last = process.cpuUsage();
    lastAt = now;
  }, 250);
  timer.unref();
  return () => value;
}
