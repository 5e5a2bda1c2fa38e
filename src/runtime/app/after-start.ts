// Work that should be done early but must not slow start-up (loading a validator a
// first call would otherwise wait for). It runs a short while after the app has started
// and answers /readyz, one task per macrotask, so a readiness probe or first call that
// arrives right after the start is not queued behind it; queued once that has begun, a
// task runs at once. In a process that never runs an app (a test building servers
// directly) it never runs, and whatever needs the work does it itself.
const pending: (() => unknown)[] = [];
let running = false;

/** How long after the start the queued tasks begin: a probe's first poll comes first. */
export const AFTER_START_DELAY_MS = 100;

/** Queues `task` (which may return a promise) for after the start. */
export function afterStart(task: () => unknown): void {
  if (running) setImmediate(task);
  else pending.push(task);
}

/**
 * Called by the app once its servers listen and it is marked ready; runs the queued
 * tasks AFTER_START_DELAY_MS later and resolves when they have all settled (failed ones
 * included).
 */
export function appStarted(delayMs = AFTER_START_DELAY_MS): Promise<void> {
  return new Promise<void>((resolve) => setTimeout(resolve, delayMs)).then(async () => {
    running = true;
    const outcomes: Promise<unknown>[] = [];
    // Each task in its own macrotask: I/O that is ready (a request) is handled between them.
    while (pending.length > 0) {
      const task = pending.shift()!;
      await new Promise<void>((resolve) =>
        setImmediate(() => {
          // Settled here, not only at the end: a rejection nobody handles until a later
          // macrotask would count as an unhandled one and stop the process.
          outcomes.push(Promise.allSettled([settle(task)]));
          resolve();
        }),
      );
    }
    await Promise.all(outcomes);
  });
}

/** The task's outcome as a promise: a synchronous throw becomes a rejection. */
function settle(task: () => unknown): Promise<unknown> {
  try {
    return Promise.resolve(task());
  } catch (err) {
    return Promise.reject(err);
  }
}
