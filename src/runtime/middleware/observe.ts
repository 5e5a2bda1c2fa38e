// Middleware that only watches calls (tracing, logging, metrics) share one shape:
// do something as the call starts, time it, and when it ends hand over how it
// ended. Observers are plain functions, so the default chain can run several of
// them in one layer (telemetry.ts).
import { hookMiddleware, type Context, type Middleware } from '../transport/context.js';

/** Told of each ended call: how long it took, and the error it failed with. */
export type CallObserver = (ctx: Context, elapsedMs: number, failed: boolean, error: unknown) => void;

/** What a watching middleware does as a call starts, and what it does when the call ends with that start's result. */
export interface CallWatcher<Started> {
  start(ctx: Context): Started;
  end(ctx: Context, started: Started, elapsedMs: number, failed: boolean, error: unknown): void;
}

/**
 * A middleware that runs `watcher` around each call; results and errors pass
 * through unchanged. Servers run the watcher directly when it is among their
 * outermost middleware (CallHooks).
 */
export function watching<Started>(watcher: CallWatcher<Started>): Middleware {
  return hookMiddleware<Started>({
    start: (ctx) => watcher.start(ctx),
    end(ctx, started, elapsedMs, failed, error) {
      watcher.end(ctx, started, elapsedMs, failed, error);
      return error;
    },
  });
}

/** A middleware that times each call and tells `observer` how it ended. */
export function observing(observer: CallObserver): Middleware {
  return watching({ start: () => undefined, end: (ctx, _started, elapsedMs, failed, error) => observer(ctx, elapsedMs, failed, error) });
}
