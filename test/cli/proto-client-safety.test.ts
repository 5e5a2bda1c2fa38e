// `tsk proto client` refuses input that is not proto source, and concurrent runs in
// one project keep every manifest entry (they take turns on .tsk/manifest.lock).
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tsk, tskBin } from '../helpers/cli.js';

function scratch(name: string): string {
  const dir = path.join(repoRoot, '.tmp', 'proto-client-safety', name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, '.tsk'), { recursive: true });
  fs.writeFileSync(path.join(dir, '.tsk', 'manifest.json'), '{"tsk":"","files":{}}\n');
  return dir;
}

function writeProto(dir: string, pkg: string): string {
  const rel = `${pkg}/v1/${pkg}.proto`;
  fs.mkdirSync(path.join(dir, pkg, 'v1'), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), `syntax = "proto3";\npackage ${pkg}.v1;\nmessage Thing { string name = 1; }\n`);
  return rel;
}

function tskAsync(
  args: string[],
  cwd: string,
): { done: Promise<{ status: number | null; stderr: string }>; exited: () => boolean } {
  const child = spawn(process.execPath, [tskBin, ...args], {
    cwd,
    env: { ...process.env, FORCE_COLOR: '0' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  let exited = false;
  const done = new Promise<{ status: number | null; stderr: string }>((resolve) =>
    child.on('close', (status) => {
      exited = true;
      resolve({ status, stderr });
    }),
  );
  return { done, exited: () => exited };
}

const manifestFiles = (dir: string) =>
  Object.keys(JSON.parse(fs.readFileSync(path.join(dir, '.tsk', 'manifest.json'), 'utf8')).files);

describe('tsk proto client input and manifest safety', () => {
  it('refuses a binary file named .proto with one line and exit 1, writing nothing', () => {
    const dir = scratch('binary');
    fs.writeFileSync(path.join(dir, 'blob.proto'), Buffer.from([0x0a, 0x00, 0xff, 0xfe, 0x00, 0x01]));
    const r = tsk(['proto', 'client', 'blob.proto'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/blob\.proto: not a text \.proto file/);
    expect(fs.existsSync(path.join(dir, 'blob.ts'))).toBe(false);
    expect(manifestFiles(dir)).toEqual([]);
  });

  it('keeps every entry when runs on different protos overlap', async () => {
    const dir = scratch('concurrent');
    const protos = ['alpha', 'beta', 'gamma', 'delta'].map((p) => writeProto(dir, p));
    const runs = protos.map((p) => tskAsync(['proto', 'client', p, '--runtime', 'internal/pkg'], dir).done);
    for (const r of await Promise.all(runs)) expect(r.status, r.stderr).toBe(0);
    const files = manifestFiles(dir);
    for (const p of protos) expect(files).toContain(p.replace(/\.proto$/, '.ts'));
    expect(fs.existsSync(path.join(dir, '.tsk', 'manifest.lock'))).toBe(false);
  }, 120_000);

  it('waits for a lock held by a live process, then writes', async () => {
    const dir = scratch('waits');
    const proto = writeProto(dir, 'omega');
    const lock = path.join(dir, '.tsk', 'manifest.lock');
    fs.writeFileSync(lock, `${process.pid}\n`); // this test runner: alive
    const run = tskAsync(['proto', 'client', proto, '--runtime', 'internal/pkg'], dir);
    await new Promise((r) => setTimeout(r, 4000));
    expect(run.exited()).toBe(false);
    expect(manifestFiles(dir)).toEqual([]);
    fs.rmSync(lock);
    const r = await run.done;
    expect(r.status, r.stderr).toBe(0);
    expect(manifestFiles(dir)).toContain('omega/v1/omega.ts');
  }, 120_000);
});

describe('outside a project', () => {
  it('refuses to guess where code that imports the runtime should import it from, and writes nothing', () => {
    const dir = path.join(repoRoot, '.tmp', 'proto-client-safety', 'no-project');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(
      path.join(dir, 'order_errors.proto'),
      'syntax = "proto3";\npackage order.v1;\nimport "errors/errors.proto";\nenum ErrorReason {\n  option (errors.default_code) = 500;\n  ORDER_NOT_FOUND = 0 [(errors.code) = 404];\n}\n',
    );
    const refused = tsk(['errors', 'gen', '-I', '.', 'order_errors.proto'], dir);
    expect(refused.status).toBe(1);
    expect(refused.stderr).toContain(
      "order_errors_errors.ts imports tsk's runtime, and outside a project there is no internal/pkg to take it from: name the runtime's directory with --runtime <dir>",
    );
    expect(fs.readdirSync(dir)).toEqual(['order_errors.proto']);
    // A runtime directory that is not there (yet) is named: the imports resolve once the runtime is vendored there.
    const missing = tsk(['errors', 'gen', '-I', '.', 'order_errors.proto', '--runtime', 'vendor/tsk'], dir);
    expect(missing.status, missing.stderr).toBe(0);
    expect(missing.stderr).toContain(
      "warning: order_errors_errors.ts imports tsk's runtime from vendor/tsk, which does not exist: vendor the runtime there",
    );
    fs.mkdirSync(path.join(dir, 'vendor', 'tsk'), { recursive: true });
    const named = tsk(['errors', 'gen', '-I', '.', 'order_errors.proto', '--runtime', 'vendor/tsk', '--force'], dir);
    expect(named.status, named.stderr).toBe(0);
    expect(named.stderr).toBe('');
    expect(fs.readFileSync(path.join(dir, 'order_errors_errors.ts'), 'utf8')).toContain("from './vendor/tsk/");
  });

  it('in a directory with only a buf.yaml, names the internal/pkg its code imports when it is not there', () => {
    const dir = path.join(repoRoot, '.tmp', 'proto-client-safety', 'buf-only');
    fs.rmSync(dir, { recursive: true, force: true });
    fs.mkdirSync(path.join(dir, 'api'), { recursive: true });
    fs.writeFileSync(path.join(dir, 'buf.yaml'), 'version: v2\nmodules:\n  - path: api\n');
    fs.writeFileSync(
      path.join(dir, 'api', 'order_errors.proto'),
      'syntax = "proto3";\npackage order.v1;\nimport "errors/errors.proto";\nenum ErrorReason {\n  option (errors.default_code) = 500;\n  ORDER_NOT_FOUND = 0 [(errors.code) = 404];\n}\n',
    );
    const warned = tsk(['errors', 'gen', 'api'], dir);
    expect(warned.status, warned.stderr).toBe(0);
    expect(warned.stderr).toContain(
      `warning: ${path.join('api', 'order_errors_errors.ts')} imports tsk's runtime from internal/pkg, which does not exist`,
    );
  });
});
