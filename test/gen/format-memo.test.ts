// The formatted-statement memo between codegen runs: what it keeps, and that memos of
// texts no longer generated are pruned while the ones in use stay.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { fileMemo, MEMO_MAX_AGE_MS, pruneMemo } from '../../src/gen/format-memo.js';

const DAY = 24 * 3600 * 1000;

function memoDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-memo-'));
}

/** Writes one memo for the text whose first piece is `first`, and returns its file. */
function remember(dir: string, first: string, pieces: Record<string, string>): string {
  const before = new Set(fs.existsSync(dir) ? fs.readdirSync(dir) : []);
  const file = fileMemo(dir, 'v1').open(first, {});
  for (const [piece, formatted] of Object.entries(pieces)) file.set(piece, formatted);
  file.close();
  const added = fs.readdirSync(dir).filter((n) => !before.has(n));
  expect(added).toHaveLength(1);
  return path.join(dir, added[0]!);
}

function age(file: string, days: number): void {
  const then = new Date(Date.now() - days * DAY);
  fs.utimesSync(file, then, then);
}

describe('format memo', () => {
  it('returns what was set, under the same formatter version only, keeping exactly the pieces set last', () => {
    const dir = memoDir();
    remember(dir, 'import a;', { 'x=1': 'x = 1;', 'y=2': 'y = 2;' });
    const again = fileMemo(dir, 'v1').open('import a;', {});
    expect(again.get('x=1')).toBe('x = 1;');
    again.set('x=1', 'x = 1;');
    again.close();
    expect(fileMemo(dir, 'v1').open('import a;', {}).get('y=2')).toBeUndefined();
    expect(fileMemo(dir, 'v2').open('import a;', {}).get('x=1')).toBeUndefined();
  });

  it('prunes memos unused for longer than the limit and keeps those in use', () => {
    const dir = memoDir();
    const stale = remember(dir, 'import stale;', { a: 'a;' });
    const used = remember(dir, 'import used;', { b: 'b;' });
    const fresh = remember(dir, 'import fresh;', { c: 'c;' });
    age(stale, 40);
    age(used, 40);
    // Read by a run and left unchanged: that use keeps it.
    const reopened = fileMemo(dir, 'v1').open('import used;', {});
    expect(reopened.get('b')).toBe('b;');
    reopened.set('b', 'b;');
    reopened.close();
    pruneMemo(dir, MEMO_MAX_AGE_MS);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.existsSync(used)).toBe(true);
    expect(fs.existsSync(fresh)).toBe(true);
    pruneMemo(path.join(dir, 'missing')); // no memo directory yet: nothing to do
  });
});
