// `tsk generate`: the whole generate step of a tsk project, from its root wherever it
// runs: the OpenAPI module (api/openapi.ts) from the protos under api/, then the
// messages, servers, clients, errors and config code of api/ and internal/conf/.
// --force and --keep-local apply to every step.
import fs from 'node:fs';
import path from 'node:path';
import chalk from 'chalk';
import type { GeneratorKind } from '../../gen/client.js';
import type { CompiledProtos } from '../../proto/compile.js';
import type { GeneratedFile } from '../../gen/file.js';
import { CompileError, UsageError } from '../../proto/diagnostics.js';
import { CLIENTS_PATH, findProjectRoot } from '../manifest.js';
import { combinedReport, failOnStale, printReport, reportsChanges } from '../output.js';
import { writeFiles, type WriteReport } from '../writer.js';
import { clientApiDrift, writeClientsModule } from './client.js';
import { planClientCode } from './proto.js';
import { servedOnly, writeOpenApiDocuments } from './proto-openapi.js';
import { cachedTreeStep } from '../../gen/incremental.js';
import { DEFAULT_RUNTIME_DIR } from '../../plugins/types.js';
import { packageName } from '../../scaffold/project-package.js';

export interface GenerateFlags {
  force?: boolean | undefined;
  keepLocal?: boolean | undefined;
}

/** The proto directories of a tsk project's layout that exist, absolute. */
export function projectProtoDirs(root: string): string[] {
  return ['api', path.join('internal', 'conf')].map((d) => path.join(root, d)).filter((d) => fs.existsSync(d));
}

/**
 * What one generate step runs, in order: everything of every proto under `dirs`, then
 * the outputs `tsk proto client --fetch` and `--openapi` add, for the protos that have
 * them beside them (`<stem>_fetch.ts`, `<stem>.<Service>.openapi.json`): asked for once,
 * per proto, they are then regenerated with the rest of its files.
 */
export function generateRuns(dirs: string[]): { inputs: string[]; only?: GeneratorKind[] }[] {
  const fetch: string[] = [];
  const openapi: string[] = [];
  for (const dir of dirs) {
    const files = fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }) as string[];
    const present = new Set(files);
    for (const rel of files) {
      if (!rel.endsWith('.proto')) continue;
      const stem = rel.slice(0, -'.proto'.length);
      if (present.has(`${stem}_fetch.ts`)) fetch.push(path.join(dir, rel));
      if (files.some((f) => f.startsWith(`${stem}.`) && f.endsWith('.openapi.json'))) openapi.push(path.join(dir, rel));
    }
  }
  return [
    { inputs: dirs },
    ...(fetch.length > 0 ? [{ inputs: fetch, only: ['fetch' as const] }] : []),
    ...(openapi.length > 0 ? [{ inputs: openapi, only: ['openapi' as const] }] : []),
  ];
}

export async function generate(flags: GenerateFlags): Promise<void> {
  const root = findProjectRoot(process.cwd());
  if (!root)
    throw new UsageError(
      'not inside a tsk project (no .tsk/manifest.json found here or above); run tsk proto client <dirs> outside one',
    );
  // One report for all steps: a line per file written, removed or skipped, else one "up to date".
  const all = combinedReport();
  try {
    await generateProject(root, flags, all.add);
  } catch (err) {
    // A step failed: what the steps before it wrote is said before the error.
    if (reportsChanges(all)) printReport(all, process.cwd());
    throw err;
  }
  printReport(all, process.cwd());
  failOnStale(all, flags.keepLocal);
  for (const line of clientApiDrift(root)) console.error(`${chalk.yellow('warning:')} ${line}`);
}

/**
 * A module rendered from the protos under api/ (`served`: compiled, those of services the
 * project calls left out), cached as a whole: api/services.ts, api/descriptors.ts.
 */
async function writeTreeModule(
  root: string,
  flags: GenerateFlags,
  served: () => Promise<CompiledProtos>,
  name: 'services' | 'descriptors',
  render: (compiled: CompiledProtos) => Promise<GeneratedFile>,
): Promise<WriteReport> {
  const api = path.join(root, 'api');
  const output = path.join(api, `${name}.ts`);
  const step = cachedTreeStep({
    cwd: root,
    inputs: [api],
    projectRoot: root,
    id: `${name}|${output}`,
    settings: '',
    extraInputs: [path.join(root, CLIENTS_PATH)],
  });
  if (step.upToDate) return { written: [], unchanged: step.upToDate, removed: [], skipped: [] };
  const report = writeFiles([await render(await served())], { projectRoot: root, force: flags.force });
  step.save([output], report);
  return report;
}

/**
 * The modules generated from the whole api/ tree of the project at `root`, when it has
 * one: api/openapi.ts (the document its HTTP server serves), api/services.ts (what its
 * servers serve) and api/descriptors.ts (what gRPC reflection describes).
 */
export async function writeApiModules(
  root: string,
  flags: GenerateFlags,
  each: (report: WriteReport) => void,
  served = servedTree(root),
): Promise<void> {
  const api = path.join(root, 'api');
  if (!fs.existsSync(api)) return;
  // The document the service serves is titled after the service (its package.json name).
  const title = packageName(root);
  each(
    await writeOpenApiDocuments(
      [api],
      { output: path.join(api, 'openapi.ts'), ...(title ? { title } : {}), ...flags },
      root,
      served,
    ),
  );
  each(
    await writeTreeModule(root, flags, served, 'services', async ({ targets }) =>
      (await import('../../gen/services-module.js')).servicesModule(targets, DEFAULT_RUNTIME_DIR),
    ),
  );
  each(
    await writeTreeModule(root, flags, served, 'descriptors', async ({ fileSet, targets }) =>
      (await import('../../gen/descriptors-module.js')).descriptorsModule(
        fileSet,
        new Set(targets.map((file) => file.proto.name)),
      ),
    ),
  );
}

/**
 * The protos under the api/ of the project at `root` that its servers serve (those of the
 * services it calls left out), compiled on the first call; the steps that need them share
 * one compile. Bindings of two files that take the same paths are refused, as one server
 * serves them all.
 */
export function servedTree(root: string): () => Promise<CompiledProtos> {
  const api = path.join(root, 'api');
  let tree: Promise<CompiledProtos> | undefined;
  return () =>
    (tree ??= import('../../proto/compile.js').then(async ({ compileProtos }) => {
      const compiled = await servedOnly(await compileProtos({ inputs: [api], cwd: root, projectRoot: root }), root);
      // One server serves every service: bindings in two files that take the same paths are refused before a write.
      const { routeConflicts } = await import('../../gen/http-rules.js');
      const conflicts = routeConflicts(compiled.targets.flatMap((file) => file.services));
      if (conflicts.length > 0)
        throw new CompileError(
          conflicts.map((p) => ({ ...p, file: path.relative(process.cwd(), path.join(api, p.file)) })),
        );
      return compiled;
    }));
}

/** Every step of `tsk generate` in the project at `root` (`tsk dev` regenerates with it too), each step's report to `each`. */
export async function generateProject(
  root: string,
  flags: GenerateFlags,
  each: (report: WriteReport) => void,
): Promise<void> {
  const dirs = projectProtoDirs(root);
  if (dirs.length === 0) throw new UsageError(`${root}: neither api/ nor internal/conf/ exists; nothing to generate`);
  // Every proto's code is generated, and the whole tree's routes checked, before anything is
  // written: a proto that fails leaves the project as it was.
  const planned = [];
  for (const { inputs, only } of generateRuns(dirs)) planned.push(await planClientCode(inputs, flags, root, only));
  const served = servedTree(root);
  if (fs.existsSync(path.join(root, 'api')) && planned.some((code) => code.changes)) await served();
  for (const code of planned) each(code.write());
  await writeApiModules(root, flags, each, served);
  const clients = writeClientsModule(root, flags);
  if (clients) each(clients);
}
