// The one place files reach the disk. Its guarantees:
// - every check runs before any write, then everything is staged (temp files in the
//   target directories) and renamed into place, so a failure part-way leaves the tree
//   as it was;
// - a file the user owns is never overwritten once it exists;
// - a generated file changed since tsk wrote it (or, in a project, one tsk has no record
//   of; outside one, one without tsk's header) is left alone unless `force` says
//   otherwise, and so is a file to be removed;
// - within a project, `.tsk/manifest.json` records what was written, under a lock.
// `writeTree` builds a whole new tree (tsk new, tsk example) the same way, one level up.
import fs from 'node:fs';
import path from 'node:path';
import type { GeneratedFile } from '../gen/file.js';
import { GENERATED_HEADER } from '../gen/printer.js';
import { UsageError } from '../proto/diagnostics.js';
import { tskVersion } from '../proto/paths.js';
import {
  MANIFEST_PATH,
  readManifest,
  refuseOlderTsk,
  serializeManifest,
  sha256,
  withManifestLock,
} from './manifest.js';

export interface WriteReport {
  written: string[];
  unchanged: string[];
  removed: string[];
  /**
   * Kept as they are, with the reason. `stale` marks a generated file left out of
   * date (changed locally, or not tsk's) or left behind by a deleted proto: the tree
   * may no longer match its inputs.
   */
  skipped: { path: string; reason: string; stale?: boolean }[];
}

export interface WriteOptions {
  /** What relative file paths are relative to; default the project root, else the working directory. */
  root?: string | undefined;
  /** Project root holding `.tsk/manifest.json`; files outside any project are written without one. */
  projectRoot?: string | undefined;
  /** Overwrite locally modified generated files and existing owned files. */
  force?: boolean | undefined;
  /**
   * Project-relative files to delete (and drop from the manifest) once everything is
   * written. Unless `force`, only tsk's output still as tsk wrote it goes: a changed one
   * is kept and reported, one the user owns (or tsk has no record of) is left alone.
   */
  remove?: string[] | undefined;
}

/** A file as the writer handles it: absolute path, owner decided. */
interface Placed {
  path: string;
  content: string;
  kind: NonNullable<GeneratedFile['kind']>;
}

/** Writes `files` under the rules above; the report names files by absolute path. */
export function writeFiles(files: readonly GeneratedFile[], options: WriteOptions = {}): WriteReport {
  const root = options.root ?? options.projectRoot ?? process.cwd();
  const placed = files.map(
    (f): Placed => ({ path: path.resolve(root, f.path), content: f.content, kind: f.kind ?? 'generated' }),
  );
  // Within a project, one run at a time reads, writes and records (see withManifestLock).
  return options.projectRoot
    ? withManifestLock(options.projectRoot, () => writeUnlocked(placed, options))
    : writeUnlocked(placed, options);
}

function writeUnlocked(files: Placed[], options: WriteOptions): WriteReport {
  const report: WriteReport = { written: [], unchanged: [], skipped: [], removed: [] };
  const manifest = options.projectRoot ? readManifest(options.projectRoot) : undefined;
  if (manifest && options.projectRoot)
    refuseOlderTsk(options.projectRoot, manifest, 'not writing over what it generated');
  if (options.projectRoot) refuseOutside(options.projectRoot, files);
  const plan: Placed[] = [];
  for (const file of files) {
    const rel = options.projectRoot
      ? path.relative(options.projectRoot, file.path).split(path.sep).join('/')
      : file.path;
    const exists = fs.existsSync(file.path);
    const current = exists ? fs.readFileSync(file.path, 'utf8') : undefined;
    if (current === file.content) {
      report.unchanged.push(file.path);
      if (manifest) manifest.files[rel] = { sha256: sha256(file.content), kind: file.kind };
      continue;
    }
    if (current !== undefined && !options.force) {
      const recorded = manifest?.files[rel];
      if (file.kind === 'owned') {
        report.skipped.push({ path: file.path, reason: 'exists (yours to edit; not overwritten)' });
        continue;
      }
      if (recorded && recorded.sha256 !== sha256(current)) {
        report.skipped.push({
          path: file.path,
          reason: 'changed locally since tsk wrote it; not overwritten (--force overwrites)',
          stale: true,
        });
        continue;
      }
      // In a project, tsk records every file it writes: one it has no record of may hold
      // edits even when it carries tsk's header (a manifest restored from an older commit).
      if (!recorded && manifest) {
        report.skipped.push({
          path: file.path,
          reason: `exists, and ${MANIFEST_PATH} has no record of tsk writing it; not overwritten (--force overwrites)`,
          stale: true,
        });
        continue;
      }
      if (!recorded && !current.startsWith(GENERATED_HEADER) && !current.includes('Code generated by tsk')) {
        report.skipped.push({
          path: file.path,
          reason: 'exists and was not generated by tsk; not overwritten (--force overwrites)',
          stale: true,
        });
        continue;
      }
    }
    plan.push(file);
    if (manifest) manifest.files[rel] = { sha256: sha256(file.content), kind: file.kind };
  }
  const removals: string[] = [];
  for (const rel of options.remove ?? []) {
    const abs = path.join(options.projectRoot ?? '', rel);
    if (!options.force && fs.existsSync(abs)) {
      const recorded = manifest?.files[rel];
      // Only tsk's own output goes: a file the user owns, or one tsk has no record of, is theirs.
      if (!recorded || recorded.kind === 'owned') continue;
      if (recorded.sha256 !== sha256(fs.readFileSync(abs, 'utf8'))) {
        report.skipped.push({
          path: abs,
          reason: 'no longer generated, but changed locally since tsk wrote it; not removed (delete it, or --force)',
          stale: true,
        });
        continue;
      }
    }
    removals.push(rel);
  }
  if (manifest && options.projectRoot) {
    manifest.tsk = tskVersion();
    for (const rel of removals) delete manifest.files[rel];
    const manifestPath = path.join(options.projectRoot, MANIFEST_PATH);
    const content = serializeManifest(manifest);
    // An unchanged manifest is left alone, so a run that changes nothing touches nothing.
    if (!fs.existsSync(manifestPath) || fs.readFileSync(manifestPath, 'utf8') !== content)
      plan.push({ path: manifestPath, content, kind: 'generated' });
  }
  commit(plan);
  for (const rel of removals) {
    const abs = path.join(options.projectRoot ?? '', rel);
    if (fs.existsSync(abs)) {
      fs.rmSync(abs);
      report.removed.push(abs);
      if (options.projectRoot) removeEmptiedDirs(path.dirname(abs), options.projectRoot);
    }
  }
  // The manifest follows the files, so it goes unsaid, unless it is all a run changed
  // (hashes or the tsk version it records were stale): then "up to date" would hide a change.
  const written = plan.filter((f) => !f.path.endsWith(MANIFEST_PATH)).map((f) => f.path);
  report.written.push(...(written.length > 0 || removals.length > 0 ? written : plan.map((f) => f.path)));
  return report;
}

/** Removes `dir` and its parents below `root` while a removal left them empty (a deleted proto's package directory). */
function removeEmptiedDirs(dir: string, root: string): void {
  for (let d = dir; d.startsWith(root + path.sep) && fs.readdirSync(d).length === 0; d = path.dirname(d))
    fs.rmdirSync(d);
}

/** A project's manifest records only what lies inside it; a path that leads out is refused before anything is written. */
function refuseOutside(projectRoot: string, files: Placed[]): void {
  const outside = files.filter((f) => withinProject(projectRoot, [f.path]).length === 0);
  if (outside.length === 0) return;
  const shown = outside.map((f) => path.relative(process.cwd(), f.path) || f.path).join(', ');
  throw new UsageError(`${shown} would be outside the tsk project at ${projectRoot}; tsk writes only inside it`);
}

/** Project-relative paths (as `remove` takes them) of the files among `files` that lie inside `projectRoot`. */
export function withinProject(projectRoot: string, files: readonly string[]): string[] {
  return files
    .map((f) => path.relative(projectRoot, f))
    .filter((rel) => rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel))
    .map((rel) => rel.split(path.sep).join('/'));
}

/** Stage every file, then rename all into place; on any failure the tree is left as it was, with nothing staged left behind. */
function commit(files: Placed[]): void {
  const staged: { temp: string; final: string }[] = [];
  const createdDirs: string[] = [];
  try {
    for (const file of files) {
      const dir = path.dirname(file.path);
      if (!fs.existsSync(dir)) {
        const first = fs.mkdirSync(dir, { recursive: true });
        if (first) createdDirs.push(first);
      }
      const temp = path.join(dir, `.${path.basename(file.path)}.tsk-${process.pid}.tmp`);
      fs.writeFileSync(temp, file.content);
      staged.push({ temp, final: file.path });
    }
  } catch (err) {
    for (const s of staged) fs.rmSync(s.temp, { force: true });
    for (const d of createdDirs.reverse()) fs.rmSync(d, { recursive: true, force: true });
    throw err;
  }
  // Renames within one directory are atomic; all content is already on disk. A file in
  // the way is moved aside first, so one rename that fails (an immutable file) puts back
  // every file already replaced and the tree is as it was.
  const placed: { final: string; aside?: string | undefined }[] = [];
  try {
    for (const s of staged) {
      const aside = fs.existsSync(s.final) ? s.temp.replace(/\.tmp$/, '.old') : undefined;
      if (aside) fs.renameSync(s.final, aside);
      try {
        fs.renameSync(s.temp, s.final);
      } catch (err) {
        if (aside) fs.renameSync(aside, s.final);
        throw err;
      }
      placed.push({ final: s.final, aside });
    }
  } catch (err) {
    for (const p of placed.reverse()) {
      if (p.aside) fs.renameSync(p.aside, p.final);
      else fs.rmSync(p.final, { force: true });
    }
    for (const s of staged) fs.rmSync(s.temp, { force: true });
    for (const d of createdDirs.reverse()) fs.rmSync(d, { recursive: true, force: true });
    throw err;
  }
  for (const p of placed) if (p.aside) fs.rmSync(p.aside, { force: true });
}

/**
 * Builds a new tree in a staging directory next to `target` (`build` writes into it,
 * through writeFiles), then moves it into place: renamed when `target` does not exist,
 * moved into it when it does (an empty directory, or a project `tsk new --force`
 * has already checked). On any failure the staging directory goes and `target` is untouched.
 */
export async function writeTree(target: string, build: (staging: string) => Promise<void>): Promise<void> {
  const staging = path.join(path.dirname(target), `.${path.basename(target)}.tsk-staging-${process.pid}`);
  // Ctrl-C (or a stop) while building: the half-built tree goes too, then the usual exit code.
  const abandon = (signal: NodeJS.Signals) => {
    fs.rmSync(staging, { recursive: true, force: true });
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  process.once('SIGINT', abandon);
  process.once('SIGTERM', abandon);
  try {
    fs.rmSync(staging, { recursive: true, force: true });
    // The parent on its own, then the staging directory: Node's recursive mkdir loops
    // forever (and deaf to signals) where a parent refuses new entries with ENOENT (/proc).
    fs.mkdirSync(path.dirname(staging), { recursive: true });
    try {
      fs.mkdirSync(staging);
    } catch (err) {
      throw new Error(`cannot create ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
    await build(staging);
    if (!fs.existsSync(target)) fs.renameSync(staging, target);
    else {
      moveInto(staging, target);
      fs.rmSync(staging, { recursive: true, force: true });
    }
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  } finally {
    process.off('SIGINT', abandon);
    process.off('SIGTERM', abandon);
  }
}

/**
 * Moves the entries of `from` into `to`: directories merge; a file or a link (dangling or
 * not) at a destination is replaced, never written through, so nothing lands outside `to`.
 */
function moveInto(from: string, to: string): void {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const destination = path.join(to, entry.name);
    const there = fs.lstatSync(destination, { throwIfNoEntry: false });
    if (entry.isDirectory() && there?.isDirectory()) {
      moveInto(source, destination);
      continue;
    }
    if (there) fs.rmSync(destination);
    fs.renameSync(source, destination);
  }
}
