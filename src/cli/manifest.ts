// `.tsk/manifest.json`: which files tsk wrote and their hashes, so regeneration and
// `tsk upgrade` rewrite only what tsk owns and report files the user changed.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export type FileKind = 'generated' | 'runtime' | 'owned';

export interface Manifest {
  tsk: string;
  files: Record<string, { sha256: string; kind: FileKind }>;
}

export const MANIFEST_PATH = path.join('.tsk', 'manifest.json');

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
