// Giving back the memory start-up used. Loading and compiling the service's modules
// grows V8's young generation to its largest size (two 16 MB semi-spaces), and V8
// keeps it: it shrinks only in a memory-reducing collection, which its memory reducer
// runs once the allocation rate is low, and that rate is only measured at collections,
// which an idle service no longer does (checked: still 32 MB after 30 s idle). One
// such collection once start-up is done returns about 18 MB of RSS; the young
// generation grows back as load needs it, so requests pay nothing for it later
// (unlike a smaller --max-semi-space-size, which costs CPU on every request).
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import vm from 'node:vm';

type Gc = (options?: {
  type?: 'major' | 'minor';
  execution?: 'sync' | 'async';
  flavor?: 'regular' | 'last-resort';
}) => void;

/** V8's gc function, without exposing it to the service's own code when node was not started with --expose-gc. */
function gcFunction(): Gc {
  const exposed = (globalThis as { gc?: Gc }).gc;
  if (typeof exposed === 'function') return exposed;
  v8.setFlagsFromString('--expose-gc');
  try {
    return vm.runInNewContext('gc') as Gc;
  } finally {
    v8.setFlagsFromString('--no-expose-gc');
  }
}

/**
 * Runs V8's memory-reducing collection (two full collections in one pause of about
 * 0.1-0.2 s); returns the RSS it gave back, in bytes.
 */
export function releaseStartupMemory(): number {
  const before = process.memoryUsage.rss();
  gcFunction()({ type: 'major', flavor: 'last-resort' });
  return before - process.memoryUsage.rss();
}

/**
 * How long the event loop must have been idle, and how idle. Longer than a call usually
 * waits on another service, so a process waiting for a reply is not taken for idle.
 */
const IDLE_WINDOW_MS = 2000;
const IDLE_UTILIZATION = 0.05;
/** A process that is never idle this long after its start needs its young generation; stop checking. */
const GIVE_UP_AFTER_MS = 5 * 60_000;

/**
 * Calls releaseStartupMemory once the event loop has been idle for a whole window, so
 * the collection's pause does not fall on calls being served. Returns a
 * function that cancels it (the app stopping).
 */
export function releaseStartupMemoryWhenIdle(released?: (bytes: number) => void): () => void {
  let last = performance.eventLoopUtilization();
  const started = performance.now();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    const busy = performance.eventLoopUtilization(now, last).utilization;
    last = now;
    if (busy < IDLE_UTILIZATION) {
      clearInterval(timer);
      released?.(releaseStartupMemory());
    } else if (performance.now() - started > GIVE_UP_AFTER_MS) clearInterval(timer);
  }, IDLE_WINDOW_MS).unref();
  return () => clearInterval(timer);
}
