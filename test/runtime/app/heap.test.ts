// releaseStartupMemory gives back the young generation start-up grew, on the Node line
// generated services run on (it relies on that V8's memory-reducing collection), and
// does not leave V8's gc function exposed to the service.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { nodeBinaryFor } from '../../helpers/image-node.js';

const heapModule = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../src/runtime/app/heap.ts');
const node24 = nodeBinaryFor('24');

// Grows the young generation the way loading modules does (short-lived garbage), then
// reports new space before and after, the RSS given back, and whether gc leaked out.
const script = `
import v8 from 'node:v8';
import { releaseStartupMemory } from ${JSON.stringify(heapModule)};
const newSpace = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
let garbage = [];
for (let i = 0; i < 400_000; i++) { garbage.push({ i, s: 'x' + i }); if (garbage.length > 50_000) garbage = []; }
garbage = [];
const before = newSpace();
const released = releaseStartupMemory();
const after = newSpace();
for (let i = 0; i < 400_000; i++) { garbage.push({ i, s: 'x' + i }); if (garbage.length > 50_000) garbage = []; }
console.log(JSON.stringify({ before, after, released, regrown: newSpace(), exposed: typeof globalThis.gc }));
`;

// Keeps the event loop busy for 1.2 s, then idles: the release must come after the busy part.
const whenIdleScript = `
import { releaseStartupMemoryWhenIdle } from ${JSON.stringify(heapModule)};
const start = performance.now();
let busyUntil = start + 1200;
const spin = () => { const t = performance.now(); while (performance.now() - t < 20); if (performance.now() < busyUntil) setImmediate(spin); };
spin();
releaseStartupMemoryWhenIdle((bytes) => { console.log(JSON.stringify({ at: performance.now() - start, bytes })); process.exit(0); });
setTimeout(() => { console.log("never released"); process.exit(1); }, 8000);
`;

describe.skipIf(!node24 && !process.env['CI'])('releaseStartupMemory (Node 24)', () => {
  it('shrinks the young generation, which grows back under allocation, without exposing gc', () => {
    if (!node24) throw new Error('no Node 24: set TSK_IMAGE_NODE (.ci/run does)');
    const r = spawnSync(node24, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(0);
    const { before, after, released, regrown, exposed } = JSON.parse(r.stdout);
    expect(before).toBeGreaterThanOrEqual(16 * 1048576);
    expect(after).toBeLessThanOrEqual(2 * 1048576);
    expect(released).toBeGreaterThan(8 * 1048576);
    expect(regrown).toBeGreaterThan(after);
    expect(exposed).toBe('undefined');
  });

  it('waits for an idle event loop', () => {
    if (!node24) throw new Error('no Node 24: set TSK_IMAGE_NODE (.ci/run does)');
    const r = spawnSync(node24, ['--input-type=module', '-e', whenIdleScript], { encoding: 'utf8' });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    const { at } = JSON.parse(r.stdout);
    expect(at).toBeGreaterThan(1200 + 2000); // the busy part, then a whole idle window
  });
});
