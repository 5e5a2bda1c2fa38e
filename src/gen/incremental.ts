// `tsk proto client` with the codegen cache: protos whose inputs are unchanged take
// their output from the cache; the rest are compiled and generated together in one
// run. The result is the same file list a full run makes (test/gen/incremental.test.ts).
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { collectTargets, type TargetFile } from '../proto/targets.js';
import { UsageError } from '../proto/diagnostics.js';
import { packageRoot, tskProtoDir, tskVersion } from '../proto/paths.js';
import { resolveImportRoots } from '../proto/roots.js';
import { CodegenCache, hashOf, ProtoKeys } from './cache.js';
import type { GeneratorKind, PlannedTarget } from './client.js';
import type { GeneratedFile } from './file.js';
import { TS_PROTO_OPTIONS } from './tsproto-options.js';

const ALL: GeneratorKind[] = ['messages', 'http', 'grpc', 'errors', 'config'];

export interface IncrementalOptions {
  cwd: string;
  inputs: string[];
  importPaths?: string[];
  /** The project the inputs belong to: default import roots, and where the cache lives (none without one). */
  projectRoot?: string;
  runtimeFor(root: string): string;
  only?: GeneratorKind[];
}

export interface IncrementalResult {
  /** Files of the protos generated this run, to be written. */
  files: GeneratedFile[];
  /** Files of the protos the cache vouches for: on disk exactly as generated. */
  upToDate: string[];
  /** How many input protos were generated (the rest were up to date). */
  generated: number;
  cached: number;
  /** Records this run's output in the cache once written; files left out of date (skipped) are not recorded. */
  save(report: { skipped: { path: string }[] }): void;
}

export async function generateClient(options: IncrementalOptions): Promise<IncrementalResult> {
  const { cwd } = options;
  const cache = options.projectRoot ? CodegenCache.open(options.projectRoot) : undefined;
  const roots = resolveImportRoots(cwd, options.importPaths, options.projectRoot ?? cwd, cache?.modulePaths);
  const targets = collectTargets(cwd, options.inputs, roots);
  if (targets.length === 0) throw new UsageError(`no .proto files found in ${options.inputs.join(', ')}`);
  const only = (options.only ?? ALL).join(',');
  const keys = new ProtoKeys([...roots, tskProtoDir]);
  const stamp = generatorStamp();
  const idOf = (t: TargetFile) => `${only}|${t.root}|${t.protoPath}`;
  const keyOf = (t: TargetFile) => hashOf(stamp, only, options.runtimeFor(t.root), keys.of(t));

  const upToDate = new Set<string>();
  const missing: TargetFile[] = [];
  for (const t of targets) {
    const paths = cache?.fresh(idOf(t), keyOf(t));
    if (paths) for (const p of paths) upToDate.add(p);
    else missing.push(t);
  }
  const planned: PlannedTarget[] = [];
  if (missing.length > 0) {
    const [{ compileProtos }, { planClientTargets }, { TsProtoWorkers }] = await Promise.all([
      import('../proto/compile.js'),
      import('./client.js'),
      import('./tsproto.js'),
    ]);
    // ts-proto loads in its workers while buf compiles.
    const tsProtoWorkers = (options.only ?? ALL).includes('messages') ? new TsProtoWorkers(missing.length) : undefined;
    try {
      const compiled = await compileProtos({
        inputs: missing.map((t) => path.join(t.root, t.protoPath)),
        importPaths: options.importPaths,
        cwd,
        projectRoot: options.projectRoot,
        roots,
      });
      planned.push(
        ...(await planClientTargets(compiled, {
          cwd,
          runtimeFor: options.runtimeFor,
          only: options.only,
          tsProtoWorkers,
        })),
      );
    } finally {
      tsProtoWorkers?.close();
    }
  }
  // Files shared by several protos (an imported message file) are generated alike: keep one.
  const byPath = new Map<string, GeneratedFile>();
  for (const t of planned) for (const f of t.files) byPath.set(f.path, f);
  for (const p of byPath.keys()) upToDate.delete(p);
  return {
    files: [...byPath.values()],
    upToDate: [...upToDate],
    generated: missing.length,
    cached: targets.length - missing.length,
    save(report) {
      if (!cache) return;
      const skipped = new Set(report.skipped.map((s) => s.path));
      for (const t of planned) {
        const paths = t.files.map((f) => f.path);
        if (paths.some((p) => skipped.has(p))) cache.forget(idOf(t));
        else cache.set(idOf(t), keyOf(t), paths);
      }
      cache.save();
    },
  };
}

/**
 * What the generators are: tsk's version, ts-proto's version and options, and the
 * generator code itself (size and mtime of its files), so a rebuilt tsk never
 * reuses output an older build made.
 */
function generatorStamp(): string {
  const require = createRequire(import.meta.url);
  const tsProto = (require('ts-proto/package.json') as { version: string }).version;
  const parts = [tskVersion(), tsProto, TS_PROTO_OPTIONS];
  const here = path.dirname(fileURLToPath(import.meta.url));
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.isFile()) {
        const st = fs.statSync(p);
        parts.push(`${path.relative(packageRoot, p)}:${st.size}:${st.mtimeMs}`);
      }
    }
  };
  for (const dir of [here, path.join(here, '..', 'plugins'), path.join(packageRoot, 'proto')]) walk(dir);
  return hashOf(...parts.sort());
}
