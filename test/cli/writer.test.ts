// The writer's guarantees, in-process: owned files are never overwritten, locally changed
// generated files only with force, and a failing write leaves the tree as it was.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { writeFiles, writeTree } from '../../src/cli/writer.js';
import { MANIFEST_PATH, readManifest } from '../../src/cli/manifest.js';

let root: string;
beforeEach(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-writer-'));
  fs.mkdirSync(path.join(root, '.tsk'));
  fs.writeFileSync(path.join(root, MANIFEST_PATH), '{"tsk":"","files":{}}\n');
});
afterEach(() => fs.rmSync(root, { recursive: true, force: true }));

const read = (rel: string) => fs.readFileSync(path.join(root, rel), 'utf8');

describe('writeFiles', () => {
  it('writes paths relative to the project root and records them with their owner', () => {
    const report = writeFiles(
      [
        { path: 'a/gen.ts', content: 'g1' },
        { path: 'a/mine.ts', content: 'm1', kind: 'owned' },
      ],
      { projectRoot: root },
    );
    expect(report.written).toEqual([path.join(root, 'a/gen.ts'), path.join(root, 'a/mine.ts')]);
    expect(readManifest(root).files).toMatchObject({
      'a/gen.ts': { kind: 'generated' },
      'a/mine.ts': { kind: 'owned' },
    });
  });

  it('refuses a path outside the project before writing anything', () => {
    const outside = `../${path.basename(root)}-outside.ts`;
    expect(() =>
      writeFiles(
        [
          { path: 'inside.ts', content: 'i' },
          { path: outside, content: 'o' },
        ],
        { projectRoot: root },
      ),
    ).toThrow(/would be outside the tsk project at .*; tsk writes only inside it/);
    expect(fs.existsSync(path.join(root, 'inside.ts'))).toBe(false);
    expect(fs.existsSync(path.join(root, outside))).toBe(false);
    expect(readManifest(root).files).toEqual({});
  });

  it('never overwrites an owned file that exists', () => {
    writeFiles([{ path: 'mine.ts', content: 'v1', kind: 'owned' }], { projectRoot: root });
    const report = writeFiles([{ path: 'mine.ts', content: 'v2', kind: 'owned' }], { projectRoot: root });
    expect(read('mine.ts')).toBe('v1');
    expect(report.skipped).toEqual([
      { path: path.join(root, 'mine.ts'), reason: 'exists (yours to edit; not overwritten)' },
    ]);
  });

  it('leaves a generated file changed by hand unless forced', () => {
    writeFiles([{ path: 'gen.ts', content: 'v1' }], { projectRoot: root });
    fs.writeFileSync(path.join(root, 'gen.ts'), 'edited');
    const kept = writeFiles([{ path: 'gen.ts', content: 'v2' }], { projectRoot: root });
    expect(read('gen.ts')).toBe('edited');
    expect(kept.skipped[0]).toMatchObject({ stale: true });
    writeFiles([{ path: 'gen.ts', content: 'v2' }], { projectRoot: root, force: true });
    expect(read('gen.ts')).toBe('v2');
  });

  it("removes only tsk's output still as tsk wrote it, unless forced", () => {
    writeFiles(
      [
        { path: 'gen.ts', content: 'g' },
        { path: 'edited.ts', content: 'e' },
        { path: 'mine.ts', content: 'm', kind: 'owned' },
      ],
      { projectRoot: root },
    );
    fs.writeFileSync(path.join(root, 'edited.ts'), 'e, changed');
    fs.writeFileSync(path.join(root, 'unrecorded.ts'), 'u');
    const remove = ['gen.ts', 'edited.ts', 'mine.ts', 'unrecorded.ts', 'gone.ts'];
    const report = writeFiles([], { projectRoot: root, remove });
    expect(report.removed).toEqual([path.join(root, 'gen.ts')]);
    expect(report.skipped).toEqual([
      {
        path: path.join(root, 'edited.ts'),
        reason: 'no longer generated, but changed locally since tsk wrote it; not removed (delete it, or --force)',
        stale: true,
      },
    ]);
    expect(fs.readdirSync(root).sort()).toEqual(['.tsk', 'edited.ts', 'mine.ts', 'unrecorded.ts']);
    expect(Object.keys(readManifest(root).files).sort()).toEqual(['edited.ts', 'mine.ts']);

    const forced = writeFiles([], { projectRoot: root, remove, force: true });
    expect(forced.removed.map((p) => path.basename(p)).sort()).toEqual(['edited.ts', 'mine.ts', 'unrecorded.ts']);
    expect(readManifest(root).files).toEqual({});
  });

  it('writes nothing when one file cannot be written', () => {
    fs.writeFileSync(path.join(root, 'blocker'), 'a file where a directory is wanted');
    const before = fs.readFileSync(path.join(root, MANIFEST_PATH), 'utf8');
    expect(() =>
      writeFiles(
        [
          { path: 'ok.ts', content: 'x' },
          { path: 'blocker/inner.ts', content: 'y' },
        ],
        { projectRoot: root },
      ),
    ).toThrow();
    expect(fs.existsSync(path.join(root, 'ok.ts'))).toBe(false);
    expect(fs.readFileSync(path.join(root, MANIFEST_PATH), 'utf8')).toBe(before);
    expect(fs.readdirSync(root).sort()).toEqual(['.tsk', 'blocker']);
  });

  it('puts back the files it replaced when one cannot be moved into place (an immutable file), leaving nothing staged', () => {
    writeFiles(
      ['a.ts', 'b.ts', 'c.ts'].map((f) => ({ path: f, content: `old ${f}` })),
      { projectRoot: root },
    );
    const manifest = fs.readFileSync(path.join(root, MANIFEST_PATH), 'utf8');
    const rename = fs.renameSync;
    const refused = vi.spyOn(fs, 'renameSync').mockImplementation((from, to) => {
      if ([String(from), String(to)].includes(path.join(root, 'b.ts')))
        throw Object.assign(new Error(`EPERM: operation not permitted, rename '${from}'`), { code: 'EPERM' });
      rename(from, to);
    });
    try {
      expect(() =>
        writeFiles(
          ['a.ts', 'b.ts', 'c.ts', 'd.ts'].map((f) => ({ path: f, content: `new ${f}` })),
          { projectRoot: root },
        ),
      ).toThrow(/EPERM/);
    } finally {
      refused.mockRestore();
    }
    for (const f of ['a.ts', 'b.ts', 'c.ts']) expect(read(f)).toBe(`old ${f}`);
    expect(fs.readFileSync(path.join(root, MANIFEST_PATH), 'utf8')).toBe(manifest);
    expect(fs.readdirSync(root).sort()).toEqual(['.tsk', 'a.ts', 'b.ts', 'c.ts']);
    expect(fs.readdirSync(path.join(root, '.tsk'))).toEqual(['manifest.json']);
  });

  it('refuses a directory where a file is to go, before anything moves', () => {
    writeFiles([{ path: 'a.ts', content: 'old' }], { projectRoot: root });
    fs.mkdirSync(path.join(root, 'b.ts'));
    expect(() =>
      writeFiles(
        [
          { path: 'a.ts', content: 'new' },
          { path: 'b.ts', content: 'new' },
        ],
        { projectRoot: root },
      ),
    ).toThrow(/EISDIR/);
    expect(read('a.ts')).toBe('old');
    expect(fs.statSync(path.join(root, 'b.ts')).isDirectory()).toBe(true);
    expect(fs.readdirSync(root).sort()).toEqual(['.tsk', 'a.ts', 'b.ts']);
  });
});

describe('writeTree', () => {
  it('moves a finished tree into place, and on failure leaves neither it nor its staging', async () => {
    const target = path.join(root, 'svc');
    await writeTree(target, async (staging) => void writeFiles([{ path: 'x.ts', content: 'x' }], { root: staging }));
    expect(fs.readFileSync(path.join(target, 'x.ts'), 'utf8')).toBe('x');
    const failed = path.join(root, 'broken');
    await expect(
      writeTree(failed, async (staging) => {
        writeFiles([{ path: 'x.ts', content: 'x' }], { root: staging });
        throw new Error('generation failed');
      }),
    ).rejects.toThrow('generation failed');
    expect(fs.readdirSync(root).sort()).toEqual(['.tsk', 'svc']);
  });

  it.runIf(fs.existsSync('/proc/self'))(
    'refuses a place where no directory can be made, without building',
    async () => {
      let built = false;
      await expect(writeTree('/proc/tsk-nowhere', async () => void (built = true))).rejects.toThrow(
        'cannot create /proc/tsk-nowhere: ENOENT',
      );
      expect(built).toBe(false);
    },
  );
});
