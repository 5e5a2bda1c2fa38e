// Middleware that only watches calls (logging, metrics) share one shape: time the
// call, then hand how it ended to an observer. Observers are plain functions, so
// the default chain can run several of them in one layer (telemetry.ts).
import { performance } from 'node:perf_hooks';
import type { Context, Middleware } from '../transport/context.js';

/** Told of each ended call: how long it took, and the error it failed with. */
export type CallObserver = (ctx: Context, elapsedMs: number, failed: boolean, error: unknown) => void;

/** A middleware that times each call and tells `observer` how it ended; errors pass through unchanged. */
export function observing(observer: CallObserver): Middleware {
  return (next) => async (ctx, req) => {
    const start = performance.now();
    let failed = false;
    let error: unknown;
    try {
      return await next(ctx, req);
    } catch (err) {
      failed = true;
      error = err;
      throw err;
    } finally {
      observer(ctx, performance.now() - start, failed, error);
    }
  };
}
