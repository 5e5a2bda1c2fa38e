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
import { orphansBySource } from './orphans.js';
import { TS_PROTO_OPTIONS } from './tsproto-options.js';

const ALL: GeneratorKind[] = ['messages', 'http', 'grpc', 'errors', 'config'];
/** Formatted ts-proto statements, by project (format-memo.ts). */
const FORMAT_MEMO_DIR = path.join('.tsk', 'cache', 'format');

export interface IncrementalOptions {
  cwd: string;
  inputs: string[];
  importPaths?: string[] | undefined;
  /** The project the inputs belong to: default import roots, and where the cache lives (none without one). */
  projectRoot?: string | undefined;
  runtimeFor(root: string): string;
  only?: GeneratorKind[] | undefined;
  /**
   * Files tsk's manifest records as generated (absolute). Those beside a proto that no
   * longer exists are orphaned even when the cache has no record of them (a fresh clone).
   */
  generatedFiles?: readonly string[] | undefined;
}

export interface IncrementalResult {
  /** Files of the protos generated this run, to be written. */
  files: GeneratedFile[];
  /** Files of the protos the cache vouches for: on disk exactly as generated. */
  upToDate: string[];
  /**
   * Files tsk generated that nothing generates any more (absolute): from protos that no
   * longer exist, or no longer from protos that do. To be removed with the write, which
   * keeps any that changed since tsk wrote them.
   */
  orphaned: string[];
  /** How many input protos were generated (the rest were up to date). */
  generated: number;
  cached: number;
  /**
   * Records this run's output in the cache once written; files left out of date (skipped)
   * are not recorded. A deleted proto's entry goes once none of its orphans was kept.
   */
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
    // In order of need, each start overlapping what follows: ts-proto loads in its
    // workers, buf compiles, and meanwhile the generators load here.
    const { TsProtoWorkers } = await import('./tsproto-workers.js');
    const tsProtoWorkers = (options.only ?? ALL).includes('messages')
      ? new TsProtoWorkers(missing.length, {
          formatMemoDir: options.projectRoot ? path.join(options.projectRoot, FORMAT_MEMO_DIR) : undefined,
        })
      : undefined;
    try {
      const { compileProtos } = await import('../proto/compile.js');
      const compiling = compileProtos({
        inputs: missing.map((t) => path.join(t.root, t.protoPath)),
        importPaths: options.importPaths,
        cwd,
        projectRoot: options.projectRoot,
        roots,
      });
      compiling.catch(() => {}); // awaited below, unless loading the generators fails first
      const { planClientTargets } = await import('./client.js');
      const compiled = await compiling;
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
    if (tsProtoWorkers && options.projectRoot) {
      const { pruneMemo } = await import('./format-memo.js');
      pruneMemo(path.join(options.projectRoot, FORMAT_MEMO_DIR));
    }
  }
  // Files shared by several protos (an imported message file) are generated alike: keep one.
  const byPath = new Map<string, GeneratedFile>();
  for (const t of planned) for (const f of t.files) byPath.set(f.path, f);
  for (const p of byPath.keys()) upToDate.delete(p);
  const keep = new Set([...byPath.keys(), ...upToDate]);
  const orphans = cache?.orphans(keep) ?? { ids: [], files: [] };
  const unrecorded = orphansBySource(options.generatedFiles ?? [], [...roots, tskProtoDir], keep);
  const outgrown = cache?.outgrown(new Map(planned.map((t) => [idOf(t), t.files.map((f) => f.path)])), keep) ?? [];
  return {
    files: [...byPath.values()],
    upToDate: [...upToDate],
    orphaned: [...new Set([...orphans.files, ...unrecorded, ...outgrown])],
    generated: missing.length,
    cached: targets.length - missing.length,
    save(report) {
      if (!cache) return;
      const skipped = new Set(report.skipped.map((s) => s.path));
      for (const t of planned) {
        const paths = t.files.map((f) => f.path);
        if (paths.some((p) => skipped.has(p))) cache.forget(idOf(t));
        else cache.set(idOf(t), keyOf(t), paths, path.join(t.root, t.protoPath));
      }
      if (!orphans.files.some((p) => skipped.has(p))) for (const id of orphans.ids) cache.forget(id);
      cache.save();
    },
  };
}

export interface TreeStepOptions {
  cwd: string;
  inputs: string[];
  importPaths?: string[] | undefined;
  /** The project the inputs belong to; without one nothing is cached. */
  projectRoot?: string | undefined;
  /** Names the step and its output, e.g. `openapi|/abs/api/openapi.ts`. */
  id: string;
  /** Everything else the output depends on besides the protos and tsk's build (options, in one string). */
  settings: string;
  /** Files whose content the output depends on too (a missing one counts as empty). */
  extraInputs?: string[] | undefined;
}

/** A step that makes its files from the whole input tree at once (the project's OpenAPI document). */
export interface TreeStep {
  /** The step's files when the cache vouches for them (on disk exactly as generated); else undefined: run it. */
  upToDate: string[] | undefined;
  /** Records the files the run wrote or found current; nothing is recorded when one was left out of date. */
  save(paths: string[], report: { skipped: { path: string }[] }): void;
}

/**
 * The cache for a whole-tree step, on generateClient's terms: the key covers every
 * input proto and what it imports, the settings, the extra input files and the
 * generator build, so any change runs the step again.
 */
export function cachedTreeStep(options: TreeStepOptions): TreeStep {
  if (!options.projectRoot) return { upToDate: undefined, save() {} };
  const { cwd, projectRoot } = options;
  const cache = CodegenCache.open(projectRoot);
  const roots = resolveImportRoots(cwd, options.importPaths, projectRoot, cache.modulePaths);
  const targets = collectTargets(cwd, options.inputs, roots);
  const keys = new ProtoKeys([...roots, tskProtoDir]);
  const read = (file: string) => {
    try {
      return fs.readFileSync(file, 'utf8');
    } catch {
      return '';
    }
  };
  const key = hashOf(
    generatorStamp(),
    options.settings,
    ...(options.extraInputs ?? []).map((f) => `${f}\0${read(f)}`),
    ...targets.map((t) => `${t.root}|${t.protoPath}|${keys.of(t)}`),
  );
  return {
    upToDate: targets.length > 0 ? cache.fresh(options.id, key) : undefined,
    save(paths, report) {
      const skipped = new Set(report.skipped.map((s) => s.path));
      if (paths.some((p) => skipped.has(p))) cache.forget(options.id);
      else cache.set(options.id, key, paths);
      cache.save();
    },
  };
}

let stampOfThisBuild: string | undefined;

/**
 * What the generators are: tsk's version, ts-proto's version and options, and the
 * generator code itself (size and mtime of its files), so a rebuilt tsk never
 * reuses output an older build made.
 */
function generatorStamp(): string {
  stampOfThisBuild ??= computeGeneratorStamp();
  return stampOfThisBuild;
}

function computeGeneratorStamp(): string {
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
