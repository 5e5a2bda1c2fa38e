// Our plugins driven by a user's own buf.gen.yaml produce the same files as `tsk proto client`.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';
import { command } from '../helpers/async-cli.js';

describe('protoc-gen-tsk-* under buf generate', () => {
  it('writes the same http, grpc and errors files as tsk proto client', { timeout: 180_000 }, async () => {
    const dir = path.join(repoRoot, '.tmp', 'bufgen');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.cpSync(path.join(repoRoot, 'fixtures', 'user'), path.join(dir, 'api'), { recursive: true });
    fs.cpSync(path.join(repoRoot, 'proto'), path.join(dir, 'third_party'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'buf.yaml'), 'version: v2\nmodules:\n  - path: api\n  - path: third_party\n');
    const plugin = (kind: string) =>
      `  - local: ["${process.execPath}", "${path.join(repoRoot, 'bin', `protoc-gen-tsk-${kind}.js`)}"]\n    out: gen\n    opt: [runtime=../internal/pkg]\n`;
    fs.writeFileSync(
      path.join(dir, 'buf.gen.yaml'),
      `version: v2\nplugins:\n${plugin('http')}${plugin('grpc')}${plugin('errors')}`,
    );
    const buf = await command(path.join(repoRoot, 'node_modules', '.bin', 'buf'), ['generate'], dir);
    expect(buf.stderr).toBe('');
    expect(buf.status).toBe(0);

    const viaTsk = tsk(['proto', 'client', 'api', '--runtime', 'internal/pkg'], dir);
    expect(viaTsk.status, viaTsk.stderr).toBe(0);
    for (const f of ['user/v1/user_http.ts', 'user/v1/user_grpc.ts', 'user/v1/error_reason_errors.ts']) {
      expect(fs.readFileSync(path.join(dir, 'gen', f), 'utf8'), f).toBe(
        fs.readFileSync(path.join(dir, 'api', f), 'utf8'),
      );
    }
  });
});
