// Which project a proto belongs to. Generation is computed from that project's
// root (its buf.yaml import roots, its internal/pkg, its manifest), never from the
// directory the command was started in.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './diagnostics.js';

export interface Project {
  /** Absolute, real path of the directory holding `.tsk/manifest.json` or `buf.yaml`. */
  root: string;
  /** Whether the root is a tsk project (has `.tsk/manifest.json`). */
  tsk: boolean;
}

/** Where a tsk project's manifest lives, relative to its root: it marks the root. */
export const MANIFEST_PATH = path.join('.tsk', 'manifest.json');

/**
 * Refuses a tsk project whose manifest is gone: `tsk new` leaves tsk's own tarball in
 * `.tsk/`, and without the manifest's record tsk cannot tell a file the user changed
 * from its own output, so treating the tree as a plain buf project would write over edits.
 */
export function refuseLostManifest(dir: string): void {
  const tskDir = path.join(dir, path.dirname(MANIFEST_PATH));
  if (fs.existsSync(path.join(dir, MANIFEST_PATH)) || !fs.existsSync(tskDir)) return;
  if (!fs.readdirSync(tskDir).some((name) => /^tsk-.+\.tgz$/.test(name))) return;
  throw new UsageError(
    `${path.join(dir, MANIFEST_PATH)} is missing, and without it tsk cannot tell files you changed from its own output; restore it (git checkout -- ${MANIFEST_PATH}), or if no copy is left write {"files": {}} to it: tsk then records the files that match what it would write and keeps and lists the others (docs/codegen.md, "A lost manifest")`,
  );
}

/** The nearest directory at or above `from` holding `.tsk/manifest.json` or `buf.yaml`. */
export function projectAt(from: string): Project | undefined {
  let dir = fs.existsSync(from) ? fs.realpathSync(from) : path.resolve(from);
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) dir = path.dirname(dir);
  for (;;) {
    refuseLostManifest(dir);
    const tsk = fs.existsSync(path.join(dir, MANIFEST_PATH));
    if (tsk || fs.existsSync(path.join(dir, 'buf.yaml'))) return { root: dir, tsk };
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * The one project all `inputs` (paths as typed, relative to `cwd`) belong to.
 * Undefined only when none is found and explicit import roots were given, which
 * then say everything generation needs; otherwise a proto outside any project is refused.
 */
export function projectOfInputs(cwd: string, inputs: string[], explicitRoots: boolean): Project | undefined {
  let found: Project | undefined;
  for (const input of inputs) {
    const abs = path.resolve(cwd, input);
    if (!fs.existsSync(abs)) throw new UsageError(`${input}: no such file or directory`);
    const project = projectAt(abs);
    if (!project) {
      if (explicitRoots) continue;
      throw new UsageError(
        `${input}: not inside a project (no .tsk/manifest.json or buf.yaml above it); run tsk new, add a buf.yaml, or pass -I <import root>`,
      );
    }
    if (found && found.root !== project.root) {
      throw new UsageError(`${input} belongs to ${project.root}, not ${found.root}; generate one project at a time`);
    }
    found = project;
  }
  return found;
}
