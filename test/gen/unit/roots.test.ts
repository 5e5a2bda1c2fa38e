// Import roots from buf.yaml, with and without the memo the codegen cache keeps:
// the memo answers only for the exact text it saw, so an edited buf.yaml is parsed again.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { type ModulePathsMemo, resolveImportRoots } from '../../../src/proto/roots.js';

const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-roots-')));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
for (const d of ['api', 'third_party', 'other']) fs.mkdirSync(path.join(dir, d));

function recordingMemo(): ModulePathsMemo & { parsed: string[] } {
  const seen = new Map<string, string[]>();
  const parsed: string[] = [];
  return {
    parsed,
    get: (text) => seen.get(text),
    set: (text, paths) => {
      parsed.push(text);
      seen.set(text, paths);
    },
  };
}

describe('resolveImportRoots', () => {
  it('gives the same roots with a memo as without, and parses each buf.yaml text once', () => {
    const memo = recordingMemo();
    const write = (text: string) => fs.writeFileSync(path.join(dir, 'buf.yaml'), text);
    write('version: v2\nmodules:\n  - path: api\n  - path: third_party\n');
    const plain = resolveImportRoots(dir);
    expect(plain).toEqual([path.join(dir, 'api'), path.join(dir, 'third_party')]);
    expect(resolveImportRoots(dir, undefined, dir, memo)).toEqual(plain);
    expect(resolveImportRoots(dir, undefined, dir, memo)).toEqual(plain);
    expect(memo.parsed).toHaveLength(1);

    write('version: v2\nmodules:\n  - path: other\n');
    expect(resolveImportRoots(dir, undefined, dir, memo)).toEqual([path.join(dir, 'other')]);
    expect(memo.parsed).toHaveLength(2);

    write('version: v1\n');
    expect(resolveImportRoots(dir, undefined, dir, memo)).toEqual([dir]);
  });

  it('reports a buf.yaml that is not YAML in one line', () => {
    fs.writeFileSync(path.join(dir, 'buf.yaml'), 'modules: [\n');
    expect(() => resolveImportRoots(dir, undefined, dir, recordingMemo())).toThrow(/^buf\.yaml: /);
  });
});
