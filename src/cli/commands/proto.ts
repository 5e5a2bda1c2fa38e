// `tsk proto client` and `tsk errors gen`, and what every `tsk proto` command shares:
// where the project is and which runtime directory generated code imports.
// Kept light: a cached run loads this, the cache and the writer, and nothing that compiles.
import fs from 'node:fs';
import chalk from 'chalk';
import path from 'node:path';
import type { GeneratorKind } from '../../gen/client.js';
import { generateClient } from '../../gen/incremental.js';
import { UsageError } from '../../proto/diagnostics.js';
import { projectAt, projectOfInputs, type Project } from '../../proto/project.js';
import { DEFAULT_RUNTIME_DIR } from '../../plugins/types.js';
import { findProjectRoot, generatedFiles } from '../manifest.js';
import { combinedReport, failOnStale, printReport, reportsChanges } from '../output.js';
import { withinProject, writeFiles, type WriteReport } from '../writer.js';

export interface ProtoFlags {
  protoPath?: string[] | undefined;
  runtime?: string | undefined;
  force?: boolean | undefined;
  /** Leaving locally changed generated files as they are is intended: exit 0. */
  keepLocal?: boolean | undefined;
}

/** The runtime dir to import from generated files under an import root: a flag (relative to cwd), else the project's internal/pkg. */
export function runtimeDirFor(cwd: string, project: Project | undefined, flags: ProtoFlags): (root: string) => string {
  const runtime = runtimeDirOf(cwd, project, flags);
  if (!runtime) return () => DEFAULT_RUNTIME_DIR;
  return (root) => path.relative(root, runtime).split(path.sep).join('/');
}

/** The runtime's directory: `--runtime`, else the project's internal/pkg; undefined outside a project. */
function runtimeDirOf(cwd: string, project: Project | undefined, flags: ProtoFlags): string | undefined {
  if (flags.runtime) return path.resolve(cwd, flags.runtime);
  return project ? path.join(project.root, 'internal', 'pkg') : undefined;
}

/** Whether a generated file imports from the runtime at `runtimeDir` (its imports are relative to the file). */
function importsRuntime(file: { path: string; content: string }, runtimeDir: string): boolean {
  const rel = path.relative(path.dirname(file.path), runtimeDir).split(path.sep).join('/');
  return file.content.includes(`'${rel.startsWith('.') ? rel : `./${rel}`}/`);
}

/** The project the inputs belong to, and the manifest (if any) that records what tsk wrote there. */
export function locate(
  cwd: string,
  inputs: string[],
  flags: ProtoFlags,
): { project?: Project | undefined; manifestRoot?: string | undefined } {
  const project = projectOfInputs(cwd, inputs, Boolean(flags.protoPath?.length));
  return { project, manifestRoot: project ? findProjectRoot(project.root) : undefined };
}

/** `none`: what to say (instead of "up to date") when the inputs generate no file at all. */
export async function protoClient(
  inputs: string[],
  flags: ProtoFlags & { openapi?: boolean | undefined; fetch?: boolean | undefined },
  only?: GeneratorKind[],
  none?: string,
): Promise<void> {
  const cwd = process.cwd();
  const located = locate(cwd, inputs, flags);
  // The OpenAPI documents and fetch clients a flag adds are runs of their own, as tsk
  // generate runs them, so both record (and later replace) the same outputs.
  const runs: (GeneratorKind[] | undefined)[] = only
    ? [only]
    : [undefined, ...(flags.openapi ? [['openapi' as const]] : []), ...(flags.fetch ? [['fetch' as const]] : [])];
  const planned: PlannedCode[] = [];
  for (const kinds of runs) planned.push(await planClientCode(inputs, flags, cwd, kinds, located));
  // The project's api/openapi.ts and api/services.ts derive from every proto under api/:
  // refreshed with the code of one of them, they never lag behind it. The tree's routes are
  // checked before the file's code is written.
  const root = only ? undefined : projectApiRoot(cwd, inputs, located.manifestRoot);
  const tree = root ? await import('./generate.js') : undefined;
  const served = root ? tree?.servedTree(root) : undefined;
  if (served && planned.some((code) => code.changes)) await served();
  // One report for the code and the api/ modules, as tsk generate prints its steps.
  const all = combinedReport();
  for (const code of planned) all.add(code.write());
  try {
    if (root) await tree?.writeApiModules(root, { force: flags.force, keepLocal: flags.keepLocal }, all.add, served);
  } catch (err) {
    if (reportsChanges(all)) printReport(all, cwd);
    throw err;
  }
  printReport(all, cwd, planned.every((code) => code.files === 0) ? none : undefined);
  failOnStale(all, flags.keepLocal);
}

/** The root of the tsk project whose api/ holds one of `inputs`, if any. */
function projectApiRoot(cwd: string, inputs: string[], manifestRoot: string | undefined): string | undefined {
  if (!manifestRoot) return undefined;
  const inside = withinProject(
    manifestRoot,
    inputs.map((i) => path.resolve(cwd, i)),
  );
  return inside.some((rel) => rel === 'api' || rel.startsWith('api/')) ? manifestRoot : undefined;
}

/** Code generated and not written yet: a run that fails part-way has written nothing. */
export interface PlannedCode {
  /** Whether any file is to be written or removed (protos the cache vouches for are not). */
  readonly changes: boolean;
  /** How many files the inputs generate: to be written, or up to date. */
  readonly files: number;
  /** Writes the code and removes what deleted protos generated; what was written, kept and skipped. */
  write(): WriteReport;
}

/** Generates the code of `inputs`; protos the cache vouches for are left as they are. */
export async function planClientCode(
  inputs: string[],
  flags: ProtoFlags & { openapi?: boolean | undefined; fetch?: boolean | undefined },
  cwd: string,
  only?: GeneratorKind[],
  { project, manifestRoot } = locate(cwd, inputs, flags),
): Promise<PlannedCode> {
  const kinds = only ?? ['messages', 'http', 'grpc', 'errors', 'config'];
  const result = await generateClient({
    cwd,
    inputs,
    importPaths: flags.protoPath,
    projectRoot: project?.root,
    runtimeFor: runtimeDirFor(cwd, project, flags),
    only: kinds,
    ...(manifestRoot ? { generatedFiles: generatedFiles(manifestRoot) } : {}),
  });
  // Outside a project there is no internal/pkg to import the runtime from: the import would not resolve.
  const guessed = !project && !flags.runtime && result.files.find((f) => f.content.includes(`${DEFAULT_RUNTIME_DIR}/`));
  if (guessed)
    throw new UsageError(
      `${path.relative(cwd, guessed.path)} imports tsk's runtime, and outside a project there is no internal/pkg to take it from: name the runtime's directory with --runtime <dir>`,
    );
  // A directory that is not there (yet): the imports will not resolve until the runtime is
  // vendored there (a buf.yaml project has no internal/pkg of its own), or --runtime was mistyped.
  const runtimeDir = runtimeDirOf(cwd, project, flags);
  const importer =
    runtimeDir !== undefined && !fs.existsSync(runtimeDir) && result.files.find((f) => importsRuntime(f, runtimeDir));
  if (importer)
    console.error(
      `${chalk.yellow('warning:')} ${path.relative(cwd, importer.path)} imports tsk's runtime from ${path.relative(cwd, runtimeDir) || '.'}, which does not exist: vendor the runtime there (docs/codegen.md), or name its directory with --runtime <dir>`,
    );
  const remove = manifestRoot ? withinProject(manifestRoot, result.orphaned) : [];
  return {
    changes: result.files.length > 0 || remove.length > 0,
    files: result.files.length + result.upToDate.length,
    write() {
      const report = writeFiles(result.files, { projectRoot: manifestRoot, force: flags.force, remove });
      result.save(report);
      report.unchanged.push(...result.upToDate);
      return report;
    },
  };
}

export async function errorsGen(inputs: string[], flags: ProtoFlags): Promise<void> {
  const cwd = process.cwd();
  const base = projectAt(cwd)?.root ?? cwd;
  const defaults = [fs.existsSync(path.join(base, 'api')) ? path.join(base, 'api') : cwd];
  const given = inputs.length > 0 ? inputs : defaults;
  const named = given.map((i) => path.relative(cwd, path.resolve(cwd, i)) || '.').join(', ');
  // Annotations that are missing (the option left out) give no helpers and no error: say why nothing was written.
  await protoClient(
    given,
    flags,
    ['errors'],
    `no error enum in ${named}, so no helpers to write: an error enum sets option (errors.default_code), or its values set [(errors.code) = ...], with import "errors/errors.proto"`,
  );
}
