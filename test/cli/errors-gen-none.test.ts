// `tsk errors gen` on protos that declare no error enum (the annotations left out) exits 0,
// writes nothing and says why, rather than "up to date (0 files unchanged)".
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listFiles, repoRoot, tsk } from '../helpers/cli.js';

const NOTE =
  'note: no error enum in api, so no helpers to write: an error enum sets option (errors.default_code), or its values set [(errors.code) = ...], with import "errors/errors.proto"';

function scratch(name: string, proto: string): string {
  const dir = path.join(repoRoot, '.tmp', 'errors-gen-none', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'api', 'shop', 'v1'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'api', 'shop', 'v1', 'error_reason.proto'), proto);
  return dir;
}

describe('tsk errors gen with no error enum', () => {
  it('says the protos declare none, writes nothing, exits 0', () => {
    // The reasons are there, the option is not.
    const dir = scratch(
      'forgotten',
      `syntax = "proto3";
package shop.v1;
import "errors/errors.proto";
enum ErrorReason {
  // No such item.
  ITEM_MISSING = 0;
}
`,
    );
    const before = listFiles(dir);
    const r = tsk(['errors', 'gen', 'api', '-I', 'api', '--runtime', 'rt'], dir);
    expect(r.status).toBe(0);
    expect(r.stderr.trim()).toBe(NOTE);
    expect(r.stdout).not.toContain('up to date');
    expect(listFiles(dir)).toEqual(before);
  });

  it('says so again in a project, when the cache vouches for the protos', () => {
    const dir = scratch('project', 'syntax = "proto3";\npackage shop.v1;\nmessage Thing { string name = 1; }\n');
    fs.mkdirSync(path.join(dir, '.tsk'));
    fs.writeFileSync(path.join(dir, '.tsk', 'manifest.json'), '{"tsk":"","files":{}}\n');
    for (const run of [1, 2]) {
      const r = tsk(['errors', 'gen', '--runtime', 'rt'], dir);
      expect(r.status, `run ${run}`).toBe(0);
      expect(r.stderr.trim(), `run ${run}`).toBe(NOTE);
      expect(listFiles(dir).filter((f) => f.endsWith('.ts'))).toEqual([]);
    }
  });

  it('says nothing of the kind when there is an error enum, written or up to date', () => {
    const dir = scratch(
      'annotated',
      `syntax = "proto3";
package shop.v1;
import "errors/errors.proto";
enum ErrorReason {
  option (errors.default_code) = 500;
  ITEM_MISSING = 0 [(errors.code) = 404];
}
`,
    );
    const first = tsk(['errors', 'gen', 'api', '-I', 'api', '--runtime', 'rt'], dir);
    expect(first.status).toBe(0);
    expect(first.stdout).toContain('wrote   api/shop/v1/error_reason_errors.ts');
    const again = tsk(['errors', 'gen', 'api', '-I', 'api', '--runtime', 'rt'], dir);
    expect(again.status).toBe(0);
    expect(again.stdout).toContain('up to date (1 file unchanged)');
    expect(first.stderr + again.stderr).not.toContain('no error enum');
  });
});
