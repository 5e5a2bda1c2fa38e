// Work that should be done early but must not slow start-up (loading a validator a
// first call would otherwise wait for): it runs once the app has started and answers
// /readyz, or at once if it already has. In a process that never runs an app (a test
// building servers directly) it never runs, and whatever needs the work does it itself.
const pending: (() => unknown)[] = [];
let started = false;

/** Queues `task` (which may return a promise) for after the start. */
export function afterStart(task: () => unknown): void {
  if (started) setImmediate(task);
  else pending.push(task);
}

/**
 * Called by the app once its servers listen and it is marked ready; runs the queued
 * tasks and resolves when they have all settled (failed ones included).
 */
export function appStarted(): Promise<void> {
  started = true;
  const running = pending.splice(0).map((task) => new Promise((resolve) => setImmediate(() => resolve(task()))));
  return Promise.allSettled(running).then(() => undefined);
}
