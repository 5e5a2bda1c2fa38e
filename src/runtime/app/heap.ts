// Giving back the memory start-up used. Loading and compiling the service's modules
// grows V8's young generation to its largest size (two 16 MB semi-spaces), and V8
// keeps it: it shrinks only in a memory-reducing collection, which its memory reducer
// schedules only after a full collection, and an idle service never does one. One
// such collection once start-up is done returns about 20 MB of RSS; the young
// generation grows back as load needs it, so requests pay nothing for it later
// (unlike a smaller --max-semi-space-size, which costs CPU on every request).
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

/** Runs a memory-reducing full collection (a pause of a few tens of ms); returns the RSS it gave back, in bytes. */
export function releaseStartupMemory(): number {
  const before = process.memoryUsage.rss();
  gcFunction()({ type: 'major', flavor: 'last-resort' });
  return before - process.memoryUsage.rss();
}
