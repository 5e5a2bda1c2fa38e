// `tsk bundle`: the compiled service (dist/cmd/<name>/main.js) as one ES module and its
// chunks in dist/bundle/, so a start reads a few files instead of resolving and loading
// some 700 modules one at a time. What goes inside is decided in ../bundle-plan.ts.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../proto/diagnostics.js';
import {
  bundlePaths,
  bundlePlan,
  bundleSummary,
  dynamicCommonJsPackages,
  esbuildOptions,
  formatBuildMessage,
  projectDependencies,
} from '../bundle-plan.js';
import { findProjectRoot } from '../manifest.js';
import { readProjectPackage } from '../../scaffold/project-package.js';

export interface BundleFlags {
  external?: string[];
}

interface BuildFailure {
  errors: Parameters<typeof formatBuildMessage>[0][];
}

export async function bundle(flags: BundleFlags): Promise<void> {
  const root = findProjectRoot(process.cwd());
  if (!root) throw new UsageError('not inside a tsk project (no .tsk/manifest.json found here or above)');
  const pkg = readProjectPackage<{
    name: string;
    dependencies?: Record<string, string>;
    optionalDependencies?: Record<string, string>;
  }>(root);
  const { entry, outdir } = bundlePaths(pkg.name);
  if (!fs.existsSync(path.join(root, entry)))
    throw new UsageError(`${entry} not found: compile first (npx tsc -p tsconfig.build.json; npm run build does both)`);
  let plan: ReturnType<typeof bundlePlan>;
  try {
    plan = bundlePlan(projectDependencies(pkg), flags.external ?? []);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const missing = (flags.external ?? []).filter((name) => !installed(root, name));
  if (missing.length)
    throw new UsageError(
      `--external ${missing.join(', ')}: not installed in this project (no node_modules/<package> here or above); add it to dependencies and install it`,
    );

  // Built beside the old bundle and swapped in whole: a failed build leaves the last good one.
  const staging = `${outdir}.tmp-${process.pid}`;
  const stagingAbs = path.join(root, staging);
  fs.rmSync(stagingAbs, { recursive: true, force: true });
  const esbuild = await import('esbuild');
  let outputs: Record<string, { bytes: number }>;
  let external = plan.external;
  try {
    // A first pass, written nowhere, finds the CommonJS packages loaded with import().
    const probe = await esbuild.build({
      ...esbuildOptions({ root, name: pkg.name, external, outdir: staging }),
      write: false,
    });
    const lazyCommonJs = probe.metafile ? dynamicCommonJsPackages(probe.metafile) : [];
    external = [...new Set([...external, ...lazyCommonJs])].sort();
    const result = await esbuild.build(esbuildOptions({ root, name: pkg.name, external, outdir: staging }));
    outputs = result.metafile?.outputs ?? {};
  } catch (err) {
    fs.rmSync(stagingAbs, { recursive: true, force: true });
    const errors = (err as Partial<BuildFailure>).errors;
    if (!errors?.length) throw err;
    const more = errors.length > 1 ? ` (and ${errors.length - 1} more errors)` : '';
    throw new UsageError(`bundling failed: ${formatBuildMessage(errors[0]!)}${more}`);
  }
  fs.rmSync(path.join(root, outdir), { recursive: true, force: true });
  fs.renameSync(stagingAbs, path.join(root, outdir));
  const written = Object.fromEntries(
    Object.entries(outputs).map(([file, out]) => [path.join(outdir, path.relative(staging, file)), out]),
  );
  console.log(`${bundleSummary(written, outdir)}; outside the bundle: ${external.join(', ')}`);
}

/**
 * Whether Node finds package `name` from the project: the bundle's import of an external
 * package is resolved from dist/bundle/, through node_modules here and in each directory
 * above, so one that is not there would fail only when the service starts.
 */
function installed(root: string, name: string): boolean {
  for (let dir = root; ; dir = path.dirname(dir)) {
    if (fs.existsSync(path.join(dir, 'node_modules', name, 'package.json'))) return true;
    if (path.dirname(dir) === dir) return false;
  }
}
