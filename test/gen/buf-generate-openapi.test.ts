// protoc-gen-tsk-openapi and protoc-gen-tsk-fetch under a user's own buf.gen.yaml
// write the same files as `tsk proto client --openapi --fetch`.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';
import { command } from '../helpers/async-cli.js';

describe('protoc-gen-tsk-openapi and protoc-gen-tsk-fetch under buf generate', () => {
  it('write the same documents and clients as tsk proto client', async () => {
    const dir = path.join(repoRoot, '.tmp', 'bufgen-openapi');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.cpSync(path.join(repoRoot, 'fixtures', 'edge'), path.join(dir, 'api'), { recursive: true });
    fs.cpSync(path.join(repoRoot, 'proto'), path.join(dir, 'third_party'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'buf.yaml'), 'version: v2\nmodules:\n  - path: api\n  - path: third_party\n');
    const plugin = (kind: string, opt: string) =>
      `  - local: ["${process.execPath}", "${path.join(repoRoot, 'bin', `protoc-gen-tsk-${kind}.js`)}"]\n    out: gen\n    strategy: all\n${opt ? `    opt: [${opt}]\n` : ''}`;
    fs.writeFileSync(
      path.join(dir, 'buf.gen.yaml'),
      `version: v2\nplugins:\n${plugin('openapi', 'openapi=service')}${plugin('fetch', '')}`,
    );
    const buf = await command(path.join(repoRoot, 'node_modules', '.bin', 'buf'), ['generate'], dir);
    expect(buf.stderr).toBe('');
    expect(buf.status).toBe(0);

    const viaTsk = tsk(['proto', 'client', 'api', '--openapi', '--fetch', '--runtime', 'internal/pkg'], dir);
    expect(viaTsk.status, viaTsk.stderr).toBe(0);
    for (const f of ['edge/v1/edge.Library.openapi.json', 'edge/v1/edge_fetch.ts']) {
      expect(fs.readFileSync(path.join(dir, 'gen', f), 'utf8'), f).toBe(
        fs.readFileSync(path.join(dir, 'api', f), 'utf8'),
      );
    }
  });
});
