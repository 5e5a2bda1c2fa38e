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
  installedRegistry,
  installRegistry,
  REGISTRY_INSTALLERS,
  REGISTRY_KINDS,
  registryFiles,
  userDeploymentEndpoints,
  userRegistryEndpoints,
  type RegistryKind,
} from '../../scaffold/registry.js';
import { envPrefixFor } from '../../scaffold/project.js';
import { findProjectRoot, readManifest, sha256 } from '../manifest.js';
import { installCommand } from '../install-command.js';
import { printReport } from '../output.js';
import type { GeneratedFile } from '../../gen/file.js';
import { writeFiles } from '../writer.js';
import { readProjectPackage } from '../../scaffold/project-package.js';

export async function switchRegistry(kind: string, opts: { force?: boolean }): Promise<void> {
  if (!REGISTRY_KINDS.includes(kind as RegistryKind))
    throw new UsageError(`unknown registry "${kind}" (choose ${REGISTRY_KINDS.join(', ')})`);
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

  // Replaced whole, so refused when changed by hand: the wiring and the old vendored client.
  const replaced = [
    ...registryFiles(to).map((f) => f.path),
    ...REGISTRY_INSTALLERS[from].runtime.map((name) => `internal/pkg/${name}`),
  ];
  const changedByHand = replaced.filter((rel) => {
    const current = read(rel);
    return current !== undefined && !untouched(rel, current) && !opts.force;
  });
  if (changedByHand.length > 0) {
    throw new UsageError(
      `not switching to ${to}: changed by hand since tsk wrote them: ${changedByHand.join(', ')} (merge by hand, or --force to replace them)`,
    );
  }

  // The other files are edited in place: the user's other settings and dependencies stay as they are.
  const files: GeneratedFile[] = [];
  const remove: string[] = [];
  const envPrefix = envPrefixOf(root);
  const config = read('configs/config.yaml');
  const kept = config === undefined ? undefined : userRegistryEndpoints(config, from);
  const deployment = read('deploy/kubernetes/deployment.yaml');
  const keptInDeployment = deployment === undefined ? undefined : userDeploymentEndpoints(deployment, from, envPrefix);
  try {
    installRegistry(
      {
        read,
        write: (rel, content, kind) => files.push({ path: abs(rel), content, kind }),
        remove: (rel) => {
          if (read(rel) !== undefined) remove.push(rel);
        },
      },
      from,
      to,
      envPrefix,
    );
  } catch (err) {
    throw new UsageError(`${(err as Error).message}; fix it, then run tsk registry ${to} again`);
  }
  printReport(writeFiles(files, { projectRoot: root, force: true, remove }), cwd);
  if (kept && to !== 'none')
    console.log(
      `${chalk.yellow('note:')} registry.endpoints in configs/config.yaml kept as you set them (${kept.join(', ')}): check they are ${to}'s`,
    );
  if (keptInDeployment && to !== 'none')
    console.log(
      `${chalk.yellow('note:')} ${envPrefix}REGISTRY_ENDPOINTS in deploy/kubernetes/deployment.yaml kept as you set it (${keptInDeployment}): check it is ${to}'s`,
    );
  const added = Object.keys(REGISTRY_INSTALLERS[to].dependencies);
  const removed = Object.keys(REGISTRY_INSTALLERS[from].dependencies);
  const npm = [added.length ? `adds ${added.join(', ')}` : '', removed.length ? `removes ${removed.join(', ')}` : '']
    .filter(Boolean)
    .join(', ');
  console.log(chalk.dim(`registry: ${from} -> ${to}${npm ? `; run ${installCommand(root)} (${npm})` : ''}`));
}

/** The project's environment prefix, as `tsk new` made it from the project's name. */
function envPrefixOf(root: string): string {
  const { name } = readProjectPackage(root);
  if (!name) throw new UsageError('package.json has no name; tsk registry needs it for the environment prefix');
  return envPrefixFor(name);
}
