// Work that should be done early but must not slow start-up (loading a validator a
// first call would otherwise wait for): it runs once the app has started and answers
// /readyz, or at once if it already has. In a process that never runs an app (a test
// building servers directly) it never runs, and whatever needs the work does it itself.
const pending: (() => void)[] = [];
let started = false;

export function afterStart(task: () => void): void {
  if (started) setImmediate(task);
  else pending.push(task);
}

/** Called by the app once its servers listen and it is marked ready. */
export function appStarted(): void {
  started = true;
  for (const task of pending.splice(0)) setImmediate(task);
}
