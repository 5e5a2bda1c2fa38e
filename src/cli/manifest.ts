// `.tsk/manifest.json`: which files tsk wrote and their hashes, so regeneration and
// `tsk upgrade` rewrite only what tsk owns and report files the user changed.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

import type { FileKind } from '../gen/file.js';
import { UsageError } from '../proto/diagnostics.js';
import { MANIFEST_PATH } from '../proto/project.js';

export { MANIFEST_PATH };

export interface Manifest {
  tsk: string;
  files: Record<string, { sha256: string; kind: FileKind }>;
}

/** The services this project calls (`tsk add client`) and the protos copied for each. */
export const CLIENTS_PATH = path.join('.tsk', 'clients.json');

export function sha256(content: string | Buffer): string {
  return createHash('sha256').update(content).digest('hex');
}

/** The nearest directory at or above `from` holding a tsk manifest. */
export function findProjectRoot(from: string): string | undefined {
  let dir = path.resolve(from);
  for (;;) {
    if (fs.existsSync(path.join(dir, MANIFEST_PATH))) return dir;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

/**
 * A new tree (`tsk new`, `tsk example`) inside a tsk project, in its root or any directory
 * below, would break that project: Biome stops at a second root biome.jsonc ("nested root
 * configuration"), and its type check and image take in what lies under their folders.
 * Refused, with `retry` spelling the command for a directory beside the project. The
 * target being that project itself (`tsk new --force` over it) is not nesting.
 */
export function refuseInsideProject(target: string, cwd: string, retry: (outside: string) => string): void {
  const outer = findProjectRoot(path.dirname(target));
  if (!outer) return;
  const outside = path.relative(cwd, path.join(path.dirname(outer), path.basename(target)));
  throw new UsageError(
    `${path.relative(cwd, target)} would be inside the tsk project at ${outer}, whose lint (a second Biome root configuration), type check and image would take it in; create it outside, e.g. ${retry(outside)}`,
  );
}

export function readManifest(root: string): Manifest {
  const file = path.join(root, MANIFEST_PATH);
  if (!fs.existsSync(file)) return { tsk: '', files: {} };
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as Manifest;
  } catch {
    throw new Error(`${file} is not valid JSON; fix or delete it`);
  }
}

export function serializeManifest(manifest: Manifest): string {
  const files = Object.fromEntries(Object.entries(manifest.files).sort(([a], [b]) => a.localeCompare(b)));
  return `${JSON.stringify({ tsk: manifest.tsk, files }, null, 2)}\n`;
}

export const MANIFEST_LOCK_PATH = path.join('.tsk', 'manifest.lock');

/** How long a run waits for another one's lock before giving up. */
const LOCK_WAIT_MS = 30_000;
/** A lock older than this is left over from a run that died without removing it. */
const LOCK_STALE_MS = 120_000;

/**
 * Runs `update` (read the manifest, write files, write the manifest back) while
 * holding `.tsk/manifest.lock`, so concurrent tsk runs in one project take turns
 * instead of each writing back a manifest that lacks the other's entries.
 */
export function withManifestLock<T>(root: string, update: () => T): T {
  const lock = path.join(root, MANIFEST_LOCK_PATH);
  fs.mkdirSync(path.dirname(lock), { recursive: true });
  const until = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      fs.writeFileSync(lock, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      if (isStale(lock)) {
        fs.rmSync(lock, { force: true });
        continue;
      }
      if (Date.now() > until) {
        throw new Error(
          `${lock} is held by another tsk run (pid ${readPid(lock) ?? 'unknown'}); try again once it finishes, or delete the file if no tsk is running`,
        );
      }
      sleepSync(25);
    }
  }
  try {
    return update();
  } finally {
    fs.rmSync(lock, { force: true });
  }
}

function readPid(lock: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(lock, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** Left by a process that no longer runs, or older than any run takes. */
function isStale(lock: string): boolean {
  let age: number;
  try {
    age = Date.now() - fs.statSync(lock).mtimeMs;
  } catch {
    return false; // just removed by its owner: try again
  }
  if (age > LOCK_STALE_MS) return true;
  const pid = readPid(lock);
  if (pid === undefined) return age > 1000; // being written, or garbage
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
function sleepSync(ms: number): void {
  Atomics.wait(sleeper, 0, 0, ms);
}
