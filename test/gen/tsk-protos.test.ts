// tsk's own protos (google/api, errors, buf/validate) stay importable whatever a project
// ships of them: a project with its own google/api in third_party still imports
// errors/errors.proto and buf/validate/validate.proto from tsk, and never gets two copies
// of one file (which buf refuses).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileProtos } from '../../src/proto/compile.js';
import { tskProtoDir } from '../../src/proto/paths.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

/** A buf project (modules api/ and third_party/) holding `shipped` of tsk's proto directories in third_party/. */
function project(shipped: string[]): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-protos-'));
  dirs.push(dir);
  fs.writeFileSync(path.join(dir, 'buf.yaml'), 'version: v2\nmodules:\n  - path: api\n  - path: third_party\n');
  for (const sub of shipped)
    fs.cpSync(path.join(tskProtoDir, sub), path.join(dir, 'third_party', sub), { recursive: true });
  fs.mkdirSync(path.join(dir, 'third_party'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'api', 'x', 'v1'), { recursive: true });
  fs.writeFileSync(
    path.join(dir, 'api', 'x', 'v1', 'x.proto'),
    [
      'syntax = "proto3";',
      'package x.v1;',
      'import "google/api/annotations.proto";',
      'import "errors/errors.proto";',
      'import "buf/validate/validate.proto";',
      'enum ErrorReason { option (errors.default_code) = 500; X_UNKNOWN = 0; }',
      'message Req { string id = 1 [(buf.validate.field).string.min_len = 1]; }',
      'service X { rpc Get(Req) returns (Req) { option (google.api.http) = { get: "/v1/x/{id}" }; } }',
      '',
    ].join('\n'),
  );
  return dir;
}

describe("tsk's protos", () => {
  for (const shipped of [[], ['google/api'], ['google/api', 'errors'], ['google/api', 'errors', 'buf']]) {
    it(`are importable when the project ships ${shipped.length ? shipped.join(', ') : 'none of them'}`, async () => {
      const dir = project(shipped);
      const compiled = await compileProtos({ inputs: [path.join(dir, 'api')], cwd: dir, projectRoot: dir });
      expect(compiled.targets.map((f) => f.name)).toEqual(['x/v1/x']);
    });
  }
});
