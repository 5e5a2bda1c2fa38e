// `tsk upgrade`: refresh the vendored runtime in internal/pkg from this tsk: the
// files every project has plus the clients of the features it installed (its registry);
// and the packed tsk in .tsk/ (the project's devDependency) when this tsk's version differs.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../../proto/diagnostics.js';
import { installedRegistry, runtimeFileWanted } from '../../scaffold/registry.js';
import { runtimeFiles } from '../../scaffold/runtime.js';
import { tskVersion } from '../../proto/paths.js';
import { findProjectRoot, readManifest, sha256 } from '../manifest.js';
import { installCommand } from '../install-command.js';
import { failOnStale, printReport } from '../output.js';
import { refreshVendoredTsk } from '../self-pack.js';
import { writeFiles } from '../writer.js';

export async function upgrade(opts: { force?: boolean; keepLocal?: boolean }): Promise<void> {
  const cwd = process.cwd();
  const root = findProjectRoot(cwd);
  if (!root) throw new UsageError('not inside a tsk project (no .tsk/manifest.json found here or above)');
  const manifest = readManifest(root);
  const registry = installedRegistry(root, Object.keys(manifest.files));
  const runtime = runtimeFiles();
  const files = runtime
    .filter((f) => runtimeFileWanted(f.path, registry))
    .map((f) => ({ path: `internal/pkg/${f.path}`, content: f.content, kind: 'runtime' as const }));
  // Clients of features the project does not use (left by an older tsk) go, unless edited.
  const unused = runtime
    .filter((f) => !runtimeFileWanted(f.path, registry))
    .map((f) => `internal/pkg/${f.path}`)
    .filter((rel) => {
      const abs = path.join(root, rel);
      return fs.existsSync(abs) && manifest.files[rel]?.sha256 === sha256(fs.readFileSync(abs));
    });
  const report = writeFiles(files, { projectRoot: root, force: opts.force, remove: unused });
  const vendored = await refreshVendoredTsk(root);
  report.written.push(...vendored.written);
  report.removed.push(...vendored.removed);
  printReport(report, cwd);
  if (vendored.written.length > 0)
    console.log(`tsk ${tskVersion()} is now the project's devDependency: run ${installCommand(root)}`);
  failOnStale(report, opts.keepLocal, { files: 'runtime', mismatch: `the rest of tsk ${tskVersion()}'s runtime` });
}
