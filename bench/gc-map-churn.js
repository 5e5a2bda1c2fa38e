// Reproduces, without tsk, the garbage-collection state that makes gRPC servers on
// Node slow after their first full collection (bench/RESULTS.md, "stop 45"): a
// long-lived Map whose entries come and go (as an HTTP/2 session's streams do) keeps
// values it no longer holds alive through young-generation collections, once a full
// collection has run. Every value then survives scavenges until the next full one.
//
//   node bench/gc-map-churn.js          the Map
//   node bench/gc-map-churn.js --ring   the same churn through a fixed array (control)
//
// Prints the young-generation collections' mean pause and the number of full ones,
// before and after one forced full collection.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const collectGarbage = runInNewContext('gc');

const LIVE = 32; // entries alive at once, like concurrent streams
const VALUE_WORDS = 500; // each value about 4 KB, like a call's objects
const PHASE_MS = 2500;

const useRing = process.argv.includes('--ring');
const live = new Map();
const ring = new Array(LIVE);
let id = 0;
let running = true;

function churn() {
  for (let i = 0; i < 200; i++) {
    const value = { id, words: new Array(VALUE_WORDS).fill(id) };
    if (useRing) ring[id % LIVE] = value;
    else {
      live.set(id, value);
      live.delete(id - LIVE);
    }
    id++;
  }
  if (running) setImmediate(churn);
}

let phase = { minor: 0, minorMs: 0, major: 0 };
const observer = new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const kind = entry.detail?.kind;
    if (kind === constants.NODE_PERFORMANCE_GC_MINOR) {
      phase.minor++;
      phase.minorMs += entry.duration;
    } else if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) phase.major++;
  }
});
observer.observe({ entryTypes: ['gc'] });

const report = (label) => {
  const mean = phase.minor ? (phase.minorMs / phase.minor).toFixed(2) : '-';
  console.log(
    `${label.padEnd(28)} young collections ${String(phase.minor).padStart(4)}, mean pause ${mean} ms; full collections ${phase.major}`,
  );
  phase = { minor: 0, minorMs: 0, major: 0 };
};

console.log(`churn through ${useRing ? 'a fixed array' : 'a long-lived Map'} (Node ${process.version})`);
churn();
await new Promise((resolve) => setTimeout(resolve, PHASE_MS));
report('before a full collection');
collectGarbage();
phase = { minor: 0, minorMs: 0, major: 0 };
await new Promise((resolve) => setTimeout(resolve, PHASE_MS));
report('after one');
running = false;
observer.disconnect();
