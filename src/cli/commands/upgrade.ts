// `tsk upgrade`: refresh the vendored runtime in internal/pkg from this tsk: the
// files every project has plus the clients of the features it installed (its registry);
// the npm packages that runtime imports, in package.json, at the versions this tsk is
// tested with; and the packed tsk in .tsk/ (the project's devDependency) when this tsk's version differs.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../proto/diagnostics.js';
import { pinRuntimeDependencies, runtimeDependencies } from '../../scaffold/package-json.js';
import { readProjectPackage, writeProjectPackage } from '../../scaffold/project-package.js';
import {
  installedRegistry,
  REGISTRY_INSTALLERS,
  runtimeFileWanted,
  type RegistryKind,
} from '../../scaffold/registry.js';
import { runtimeFiles } from '../../scaffold/runtime.js';
import { tskVersion } from '../../proto/paths.js';
import { findProjectRoot, readManifest, refuseOlderTsk, sha256 } from '../manifest.js';
import { installCommand, runScript } from '../install-command.js';
import { failOnStale, printReport } from '../output.js';
import { serviceFlagsHint, startsWithoutServiceFlags } from '../service-start-flags.js';
import { refreshVendoredTsk } from '../self-pack.js';
import { writeFiles } from '../writer.js';

export async function upgrade(opts: { force?: boolean; keepLocal?: boolean }): Promise<void> {
  const cwd = process.cwd();
  const root = findProjectRoot(cwd);
  if (!root) throw new UsageError('not inside a tsk project (no .tsk/manifest.json found here or above)');
  const manifest = readManifest(root);
  // It would put its runtime back over the newer one, and take away what the newer one added.
  refuseOlderTsk(root, manifest, 'not downgrading its runtime');
  const registry = installedRegistry(root, Object.keys(manifest.files));
  const runtime = runtimeFiles();
  const files = runtime
    .filter((f) => runtimeFileWanted(f.path, registry))
    .map((f) => ({ path: `internal/pkg/${f.path}`, content: f.content, kind: 'runtime' as const }));
  const unchanged = (rel: string) => manifest.files[rel]?.sha256 === sha256(fs.readFileSync(path.join(root, rel)));
  // Clients of features the project does not use (left by an older tsk) go, unless edited.
  const unused = runtime
    .filter((f) => !runtimeFileWanted(f.path, registry))
    .map((f) => `internal/pkg/${f.path}`)
    .filter((rel) => fs.existsSync(path.join(root, rel)) && unchanged(rel));
  // Runtime files an older tsk vendored that this one no longer has (renamed or merged away):
  // left in place, tsc still compiles them against the new runtime and the build breaks.
  const shipped = new Set(runtime.map((f) => `internal/pkg/${f.path}`));
  const obsolete = Object.entries(manifest.files)
    .filter(([rel, f]) => f.kind === 'runtime' && rel.startsWith('internal/pkg/') && !shipped.has(rel))
    .map(([rel]) => rel)
    .filter((rel) => fs.existsSync(path.join(root, rel)));
  const [obsoleteEdited, obsoleteUnchanged] = partition(obsolete, (rel) => !unchanged(rel));
  const remove = [...unused, ...obsoleteUnchanged, ...(opts.force ? obsoleteEdited : [])];
  const report = writeFiles(files, { projectRoot: root, force: opts.force, remove });
  if (!opts.force)
    for (const rel of obsoleteEdited)
      report.skipped.push({
        path: path.join(root, rel),
        reason: `no longer part of tsk ${tskVersion()}'s runtime; kept because it was changed locally (--force removes it)`,
      });
  const pins = pinProjectDependencies(root, registry);
  if (pins.length > 0) report.written.push(path.join(root, 'package.json'));
  const vendored = await refreshVendoredTsk(root);
  report.written.push(...vendored.written.filter((p) => !report.written.includes(p)));
  report.removed.push(...vendored.removed);
  printReport(report, cwd);
  for (const pin of pins) console.log(`  ${pin}`);
  // The generated code is the old tsk's until the new one (once installed) writes it again.
  const generate = vendored.written.length > 0 ? `, then ${runScript(root, 'generate')}` : '';
  if (pins.length > 0)
    console.log(
      `package.json now lists what tsk ${tskVersion()}'s runtime imports: run ${installCommand(root)}${generate}`,
    );
  else if (vendored.written.length > 0)
    console.log(`tsk ${tskVersion()} is now the project's devDependency: run ${installCommand(root)}${generate}`);
  const unflagged = startsWithoutServiceFlags(root);
  if (unflagged.length > 0) console.log(serviceFlagsHint(unflagged));
  if (reflectsFromProtoFiles(root))
    console.log(
      'internal/server/grpc.ts describes the services for gRPC reflection from the .proto files, which @grpc/proto-loader merges into one file per package: after npm run generate, pass reflection: { descriptorSet: async () => (await import(\'../../api/descriptors.js\')).descriptorSet() } instead (docs/services.md, "gRPC reflection and health")',
    );
  failOnStale(report, opts.keepLocal, { files: 'runtime', mismatch: `the rest of tsk ${tskVersion()}'s runtime` });
}

/** Whether the project's gRPC server still builds reflection from .proto files (projects made before api/descriptors.ts). */
function reflectsFromProtoFiles(root: string): boolean {
  try {
    return /reflection:\s*\{\s*includeDirs:/.test(fs.readFileSync(path.join(root, 'internal/server/grpc.ts'), 'utf8'));
  } catch {
    return false;
  }
}

/**
 * package.json's runtime dependencies set to this tsk's versions (and those its runtime
 * no longer imports removed), other keys and the file's indentation kept. Returns the changes.
 */
function pinProjectDependencies(root: string, registry: RegistryKind): string[] {
  const file = path.join(root, 'package.json');
  if (!fs.existsSync(file)) return [];
  const pkg = readProjectPackage<Parameters<typeof pinRuntimeDependencies>[0]>(root);
  const installer = REGISTRY_INSTALLERS[registry];
  const changes = pinRuntimeDependencies(
    pkg,
    { ...runtimeDependencies(), ...installer.dependencies },
    installer.retiredDependencies,
  );
  if (changes.length > 0) writeProjectPackage(root, pkg);
  return changes;
}

function partition<T>(items: T[], test: (item: T) => boolean): [T[], T[]] {
  return [items.filter(test), items.filter((item) => !test(item))];
}
