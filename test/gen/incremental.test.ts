// The codegen cache and the parallel ts-proto run give exactly what a plain full run
// gives: after any edit, the tree equals a from-scratch generation of the same protos.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { pathToFileURL } from 'node:url';
import { repoRoot, tsk } from '../helpers/cli.js';

const work = path.join(repoRoot, '.tmp', 'incremental');

/** A tsk project (a manifest records what tsk wrote) holding the edge fixture (edge/v1 imports common/v1) and the user fixture. */
function project(name: string): string {
  const dir = path.join(work, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(dir, { recursive: true });
  fs.cpSync(path.join(repoRoot, 'fixtures', 'edge'), path.join(dir, 'api'), { recursive: true });
  fs.cpSync(path.join(repoRoot, 'fixtures', 'user'), path.join(dir, 'api'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'buf.yaml'), 'version: v2\nmodules:\n  - path: api\n');
  fs.mkdirSync(path.join(dir, '.tsk'));
  fs.writeFileSync(path.join(dir, '.tsk', 'manifest.json'), '{"tsk":"","files":{}}\n');
  return dir;
}

/** Generated files and their content (protos and the cache left out). */
function generated(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of fs.readdirSync(path.join(dir, 'api'), { recursive: true }).map(String).sort()) {
    if (f.endsWith('.ts')) out[f] = fs.readFileSync(path.join(dir, 'api', f), 'utf8');
  }
  return out;
}

function mtimes(dir: string): Record<string, number> {
  return Object.fromEntries(Object.keys(generated(dir)).map((f) => [f, fs.statSync(path.join(dir, 'api', f)).mtimeMs]));
}

/** What a run from scratch (no cache, no earlier output) makes of the same protos. */
function fromScratch(dir: string): Record<string, string> {
  const fresh = path.join(work, `${path.basename(dir)}-scratch`);
  fs.rmSync(fresh, { recursive: true, force: true });
  fs.cpSync(dir, fresh, {
    recursive: true,
    filter: (src) => !src.endsWith('.ts') && !src.includes(`${path.sep}.tsk${path.sep}cache`),
  });
  const r = tsk(['proto', 'client', 'api'], fresh);
  expect(r.status, r.stderr).toBe(0);
  return generated(fresh);
}

describe('tsk proto client with the codegen cache', () => {
  it('skips unchanged protos, regenerates what an edit reaches, and matches a full run', () => {
    const dir = project('edits');
    const cold = tsk(['proto', 'client', 'api'], dir);
    expect(cold.status, cold.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, '.tsk', 'cache', 'codegen.json'))).toBe(true);
    const before = mtimes(dir);

    const warm = tsk(['proto', 'client', 'api'], dir);
    expect(warm.status, warm.stderr).toBe(0);
    expect(warm.stdout).toContain('up to date');
    expect(mtimes(dir)).toEqual(before);

    // A field added to an imported message reaches the importer's output.
    const common = path.join(dir, 'api', 'common', 'v1', 'common.proto');
    fs.writeFileSync(
      common,
      fs.readFileSync(common, 'utf8').replace(/message Page \{/, 'message Page {\n  string cursor_hint = 99;'),
    );
    const changed = tsk(['proto', 'client', 'api'], dir);
    expect(changed.status, changed.stderr).toBe(0);
    expect(changed.stdout).toMatch(/wrote {3}api\/common\/v1\/common\.ts/);
    // Its importer is generated again too: edge/v1's HTTP schemas describe common.v1.Page.
    expect(changed.stdout).toMatch(/wrote {3}api\/edge\/v1\/edge_http\.ts/);
    expect(fs.readFileSync(path.join(dir, 'api/edge/v1/edge_http.ts'), 'utf8')).toContain(
      "{ name: 'cursor_hint', jsonName: 'cursorHint'",
    );
    expect(changed.stdout).not.toMatch(/user\/v1/);
    expect(fs.readFileSync(path.join(dir, 'api/common/v1/common.ts'), 'utf8')).toContain(
      'cursorHint?: string | undefined',
    );
    expect(generated(dir)).toEqual(fromScratch(dir));

    // A deleted output comes back; an edited one is reported, kept, and fails the run.
    fs.rmSync(path.join(dir, 'api/user/v1/user_http.ts'));
    const restored = tsk(['proto', 'client', 'api'], dir);
    expect(restored.status, restored.stderr).toBe(0);
    expect(restored.stdout).toMatch(/wrote {3}api\/user\/v1\/user_http\.ts/);
    fs.appendFileSync(path.join(dir, 'api/user/v1/user_grpc.ts'), '// mine\n');
    for (let i = 0; i < 2; i++) {
      const stale = tsk(['proto', 'client', 'api'], dir);
      expect(stale.status).toBe(1);
      expect(stale.stdout).toMatch(/skipped api\/user\/v1\/user_grpc\.ts: changed locally/);
    }
    expect(tsk(['proto', 'client', 'api', '--force'], dir).status).toBe(0);
    expect(generated(dir)).toEqual(fromScratch(dir));
  }, 300_000);
});

/** A module of the build, typed as its source: the ts-proto worker thread runs dist/gen/tsproto-worker.js. */
function built<T>(rel: string): Promise<T> {
  return import(pathToFileURL(path.join(repoRoot, 'dist', rel)).href) as Promise<T>;
}

describe('ts-proto in worker threads', () => {
  it('returns what the plugin returns when run as a process, less the files only options import', async () => {
    const { compileProtos } = await built<typeof import('../../src/proto/compile.js')>('proto/compile.js');
    const { keepReachable, runTsProto, TS_PROTO_OPTIONS } =
      await built<typeof import('../../src/gen/tsproto.js')>('gen/tsproto.js');
    const { create, toBinary, fromBinary } = await import('@bufbuild/protobuf');
    const { CodeGeneratorRequestSchema, CodeGeneratorResponseSchema } = await import('@bufbuild/protobuf/wkt');
    const dir = project('workers');
    // Every fixture that compiles: well-known types (struct, timestamp, wrappers, any, duration,
    // empty, field_mask), imports across packages, and option-only imports (annotations, validate, errors).
    for (const fixture of ['helloworld', 'json', 'rules', 'stream'])
      fs.cpSync(path.join(repoRoot, 'fixtures', fixture), path.join(dir, 'api'), { recursive: true });
    const compiled = await compileProtos({ inputs: ['api'], cwd: dir, projectRoot: dir });
    const targets = compiled.targetFiles.map((t: { protoPath: string }) => t.protoPath);
    expect(targets.length).toBeGreaterThan(2); // split over more than one worker on a multi-core machine

    const viaWorkers = await runTsProto(compiled.fileSet.file, targets);

    const request = create(CodeGeneratorRequestSchema, {
      fileToGenerate: targets,
      parameter: TS_PROTO_OPTIONS,
      protoFile: compiled.fileSet.file,
    });
    const plugin = createRequire(import.meta.url).resolve('ts-proto/protoc-gen-ts_proto');
    const r = spawnSync(process.execPath, [plugin], {
      input: toBinary(CodeGeneratorRequestSchema, request),
      maxBuffer: 64 * 1024 * 1024,
    });
    expect(r.status, String(r.stderr)).toBe(0);
    const viaProcess = fromBinary(CodeGeneratorResponseSchema, r.stdout).file.map((f) => ({
      path: f.name,
      content: f.content,
    }));

    // tsk swaps the plugin's first header line for its own; the rest is byte for byte the plugin's.
    // The plugin as a process also emits every import (descriptor.ts for annotations.proto ...);
    // what each target keeps of it is exactly what the workers return.
    const asMap = (files: { path: string; content: string }[]) =>
      Object.fromEntries(files.map((f) => [f.path, f.content.slice(f.content.indexOf('// versions:'))]));
    expect(viaWorkers.map((f) => f.path)).not.toContain('google/protobuf/descriptor.ts');
    for (const target of targets) {
      const roots = [target.replace(/\.proto$/, '.ts')];
      expect(asMap(keepReachable(viaWorkers, roots))).toEqual(asMap(keepReachable(viaProcess, roots)));
    }
    expect(asMap(viaWorkers)).toEqual(
      asMap(
        keepReachable(
          viaProcess,
          targets.map((t) => t.replace(/\.proto$/, '.ts')),
        ),
      ),
    );
  }, 120_000);
});
