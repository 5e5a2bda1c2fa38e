// `tsk upgrade`: refresh the vendored runtime in internal/pkg from this tsk: the
// files every project has plus the clients of the features it installed (its registry).
import path from 'node:path';
import { UsageError } from '../../proto/diagnostics.js';
import { installedRegistry, runtimeFileWanted } from '../../scaffold/registry.js';
import { runtimeFiles } from '../../scaffold/runtime.js';
import { findProjectRoot, readManifest } from '../manifest.js';
import { printReport } from '../output.js';
import { writeFiles } from '../writer.js';

export async function upgrade(opts: { force?: boolean }): Promise<void> {
  const cwd = process.cwd();
  const root = findProjectRoot(cwd);
  if (!root) throw new UsageError('not inside a tsk project (no .tsk/manifest.json found here or above)');
  const registry = installedRegistry(Object.keys(readManifest(root).files));
  const files = runtimeFiles()
    .filter((f) => runtimeFileWanted(f.name, registry))
    .map((f) => ({ path: path.join(root, 'internal', 'pkg', f.name), content: f.content, kind: 'runtime' as const }));
  printReport(writeFiles(files, { projectRoot: root, force: opts.force }), cwd);
}
