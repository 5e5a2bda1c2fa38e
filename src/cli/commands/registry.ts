// `tsk registry <kind>`: switch an existing project's registry (none, etcd, consul).
// Touches only what the registry feature owns: its npm dependency, the vendored
// client, registry.* in the config and the ConfigMap, the registry address in the
// Deployment, and internal/server/registry.ts.
// A file among those that was changed by hand is named and nothing is written.
import fs from 'node:fs';
import path from 'node:path';
import chalk from 'chalk';
import { UsageError } from '../../proto/diagnostics.js';
import {
  installedRegistry, REGISTRY_INSTALLERS, REGISTRY_KINDS, registryFiles, withRegistryConfig, withRegistryConfigMap,
  withRegistryDependencies, withRegistryDeployment, type RegistryKind,
} from '../../scaffold/registry.js';
import { envPrefixFor } from '../../scaffold/project.js';
import { runtimeFiles } from '../../scaffold/runtime.js';
import { findProjectRoot, readManifest, sha256 } from '../manifest.js';
import { printReport } from '../output.js';
import type { GeneratedFile } from '../../gen/file.js';
import { writeFiles } from '../writer.js';

export async function switchRegistry(kind: string, opts: { force?: boolean }): Promise<void> {
  if (!REGISTRY_KINDS.includes(kind as RegistryKind)) throw new UsageError(`unknown registry "${kind}" (choose ${REGISTRY_KINDS.join(', ')})`);
  const to = kind as RegistryKind;
  const cwd = process.cwd();
  const root = findProjectRoot(cwd);
  if (!root) throw new UsageError('not inside a tsk project (no .tsk/manifest.json found here or above)');
  const manifest = readManifest(root);
  const from = installedRegistry(root, Object.keys(manifest.files));
  if (from === to) {
    console.log(chalk.dim(`the project already uses registry ${to}; nothing to change`));
    return;
  }

  const abs = (rel: string) => path.join(root, rel);
  const read = (rel: string) => (fs.existsSync(abs(rel)) ? fs.readFileSync(abs(rel), 'utf8') : undefined);
  /** Whether tsk's record says the file is as it wrote it. */
  const untouched = (rel: string, content: string) => manifest.files[rel]?.sha256 === sha256(content);
  const changedByHand: string[] = [];
  const files: GeneratedFile[] = [];

  // Edited in place: the user's other settings and dependencies stay as they are.
  const edits: [string, (text: string) => string][] = [
    ['package.json', (t) => withRegistryDependencies(t, from, to)],
    ['configs/config.yaml', (t) => withRegistryConfig(t, to)],
    ['deploy/kubernetes/configmap.yaml', (t) => withRegistryConfigMap(t, to)],
    ['deploy/kubernetes/deployment.yaml', (t) => withRegistryDeployment(t, to, envPrefixOf(root))],
  ];
  for (const [rel, edit] of edits) {
    const current = read(rel);
    if (current === undefined) continue;
    let next: string;
    try {
      next = edit(current);
    } catch (err) {
      throw new UsageError(`${rel}: ${(err as Error).message}; fix it, then run tsk registry ${to} again`);
    }
    if (next !== current) files.push({ path: rel, content: next, kind: 'owned' });
  }
  // Replaced whole: the wiring, unless it was changed by hand.
  for (const f of registryFiles(to)) {
    const current = read(f.path);
    if (current !== undefined && !untouched(f.path, current) && !opts.force) changedByHand.push(f.path);
    files.push({ ...f, kind: 'owned' });
  }
  // The vendored client: the new one in, the old one out (unless edited).
  const wanted = new Set(REGISTRY_INSTALLERS[to].runtime);
  for (const f of runtimeFiles()) if (wanted.has(f.path)) files.push({ path: `internal/pkg/${f.path}`, content: f.content, kind: 'runtime' });
  const remove = REGISTRY_INSTALLERS[from].runtime.map((name) => `internal/pkg/${name}`).filter((rel) => read(rel) !== undefined);
  for (const rel of remove) if (!untouched(rel, read(rel)!) && !opts.force) changedByHand.push(rel);

  if (changedByHand.length > 0) {
    throw new UsageError(`not switching to ${to}: changed by hand since tsk wrote them: ${changedByHand.join(', ')} (merge by hand, or --force to replace them)`);
  }
  printReport(writeFiles(files, { projectRoot: root, force: true, remove }), cwd);
  const deps = [...Object.keys(REGISTRY_INSTALLERS[from].dependencies), ...Object.keys(REGISTRY_INSTALLERS[to].dependencies)];
  console.log(chalk.dim(`registry: ${from} -> ${to}${deps.length ? `; run npm install to update ${deps.join(', ')}` : ''}`));
}

/** The project's environment prefix, as `tsk new` made it from the project's name. */
function envPrefixOf(root: string): string {
  const { name } = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { name?: string };
  if (!name) throw new UsageError('package.json has no name; tsk registry needs it for the environment prefix');
  return envPrefixFor(name);
}
