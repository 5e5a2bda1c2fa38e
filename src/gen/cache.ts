// The codegen cache: which files each input proto generated, keyed by a hash of
// everything that output depends on (the proto and, transitively, the protos it
// imports, the generator options, the runtime path, the generator's build). Each
// file is recorded with the size and mtime it had on disk right after tsk wrote or
// checked it. A proto whose key matches and whose files all still carry those
// stamps is done: nothing is compiled, generated, read or written. Any difference
// (an edited proto, an edited or deleted output, an output the project's manifest no
// longer records) regenerates that proto.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { TargetFile } from '../proto/compile.js';
import { MANIFEST_PATH } from '../proto/project.js';
import type { ModulePathsMemo } from '../proto/roots.js';

const CACHE_FILE = path.join('.tsk', 'cache', 'codegen.json');
const FORMAT = 2;

/** A generated file as tsk last saw it on disk. */
export interface FileStamp {
  path: string;
  size: number;
  mtimeMs: number;
}

interface Entry {
  key: string;
  files: FileStamp[];
  /** The input proto (absolute) for an entry of one proto's output: gone, its files are orphans. */
  source?: string;
}

interface CacheData {
  format: number;
  entries: Record<string, Entry>;
  /** The module paths of the project's buf.yaml, by a hash of its text. */
  bufYaml?: { hash: string; modulePaths: string[] };
}

export class CodegenCache {
  private readonly data: CacheData;
  private dirty = false;

  private constructor(
    private readonly file: string,
    /** The files the project's manifest records, absolute; undefined where it has none. */
    private readonly recorded: ReadonlySet<string> | undefined,
  ) {
    this.data = load(file);
  }

  /** The cache of the project at `projectRoot` (in `.tsk/cache/`, never committed). */
  static open(projectRoot: string): CodegenCache {
    return new CodegenCache(path.join(projectRoot, CACHE_FILE), recordedFiles(projectRoot));
  }

  /**
   * The files of `id` when its key matches and every file is on disk as recorded (and, in a
   * project, still in its manifest: one restored without records has its outputs checked
   * and recorded again); else undefined.
   */
  fresh(id: string, key: string): string[] | undefined {
    const entry = this.data.entries[id];
    if (entry?.key !== key) return undefined;
    for (const f of entry.files) {
      if (this.recorded && !this.recorded.has(f.path)) return undefined;
      const st = fs.statSync(f.path, { throwIfNoEntry: false });
      if (!st || st.size !== f.size || st.mtimeMs !== f.mtimeMs) return undefined;
    }
    return entry.files.map((f) => f.path);
  }

  /**
   * Records what `id` generated (from the proto `source`, if one), stamped as on disk now;
   * only call with files whose disk content is the generated one.
   */
  set(id: string, key: string, paths: string[], source?: string): void {
    this.data.entries[id] = {
      key,
      files: paths.map((p) => {
        const st = fs.statSync(p);
        return { path: p, size: st.size, mtimeMs: st.mtimeMs };
      }),
      ...(source ? { source } : {}),
    };
    this.dirty = true;
  }

  /**
   * The entries whose proto no longer exists, with the files they name that no entry of
   * an existing proto names too (an imported proto's messages, say) and `keep` leaves out.
   */
  orphans(keep: ReadonlySet<string>): { ids: string[]; files: string[] } {
    const entries = Object.entries(this.data.entries);
    const dead = entries.filter(([, e]) => e.source !== undefined && !fs.existsSync(e.source));
    if (dead.length === 0) return { ids: [], files: [] };
    const ids = dead.map(([id]) => id);
    const live = new Set(entries.filter(([id]) => !ids.includes(id)).flatMap(([, e]) => e.files.map((f) => f.path)));
    const files = new Set(dead.flatMap(([, e]) => e.files.map((f) => f.path)));
    return { ids, files: [...files].filter((f) => !live.has(f) && !keep.has(f)) };
  }

  /**
   * Files the entries in `regenerated` (id -> what it generates now) named before and no
   * longer do, that no other entry names and `keep` leaves out: a well-known type's
   * messages once no import needs them, a removed service's OpenAPI document.
   */
  outgrown(regenerated: ReadonlyMap<string, readonly string[]>, keep: ReadonlySet<string>): string[] {
    const others = new Set(
      Object.entries(this.data.entries)
        .filter(([id]) => !regenerated.has(id))
        .flatMap(([, e]) => e.files.map((f) => f.path)),
    );
    const outgrown = new Set<string>();
    for (const [id, now] of regenerated) {
      for (const f of this.data.entries[id]?.files ?? [])
        if (!now.includes(f.path) && !others.has(f.path) && !keep.has(f.path)) outgrown.add(f.path);
    }
    return [...outgrown];
  }

  /** What the project's buf.yaml says, remembered across runs (saved with the entries). */
  readonly modulePaths: ModulePathsMemo = {
    get: (text) => (this.data.bufYaml?.hash === hashOf(text) ? this.data.bufYaml.modulePaths : undefined),
    set: (text, modulePaths) => {
      this.data.bufYaml = { hash: hashOf(text), modulePaths };
      this.dirty = true;
    },
  };

  forget(id: string): void {
    if (this.data.entries[id]) this.dirty = true;
    delete this.data.entries[id];
  }

  /** Written whole through a temporary file: a crash leaves the old cache or the new one. */
  save(): void {
    if (!this.dirty) return;
    fs.mkdirSync(path.dirname(this.file), { recursive: true });
    const temp = `${this.file}.${process.pid}.tmp`;
    fs.writeFileSync(temp, JSON.stringify(this.data));
    fs.renameSync(temp, this.file);
    this.dirty = false;
  }
}

/** The files `.tsk/manifest.json` at `projectRoot` records, as absolute paths; undefined when it has none to read. */
function recordedFiles(projectRoot: string): Set<string> | undefined {
  try {
    const { files } = JSON.parse(fs.readFileSync(path.join(projectRoot, MANIFEST_PATH), 'utf8')) as {
      files?: Record<string, unknown>;
    };
    return new Set(Object.keys(files ?? {}).map((rel) => path.join(projectRoot, rel)));
  } catch {
    return undefined; // no manifest (a plain buf project), or one the writer will refuse to read
  }
}

function load(file: string): CacheData {
  try {
    const data = JSON.parse(fs.readFileSync(file, 'utf8')) as CacheData;
    if (data.format === FORMAT && data.entries && typeof data.entries === 'object') return data;
  } catch {
    // Missing or unreadable: a cache is only ever a shortcut, start empty.
  }
  return { format: FORMAT, entries: {} };
}

const IMPORT = /^\s*import\s+(?:public\s+|weak\s+)?["']([^"']+)["']\s*;/gm;

/**
 * Content keys for protos: each file's bytes and, recursively, the keys of what it
 * imports, resolved over the import roots as the compiler would. Imports found in no
 * root (the compiler's own well-known types) are keyed by name: they change only
 * with the compiler, which is part of tsk's version.
 */
export class ProtoKeys {
  private readonly memo = new Map<string, string>();

  constructor(private readonly roots: readonly string[]) {}

  of(target: TargetFile): string {
    return this.key(path.join(target.root, target.protoPath), new Set());
  }

  private key(file: string, visiting: Set<string>): string {
    const known = this.memo.get(file);
    if (known) return known;
    if (visiting.has(file)) return 'cycle'; // the compiler rejects cycles; never loop here
    visiting.add(file);
    const source = fs.readFileSync(file);
    const hash = createHash('sha256').update(source);
    for (const m of source.toString('utf8').matchAll(IMPORT)) {
      const name = m[1]!;
      const found = this.resolve(name);
      hash.update(`\0${name}\0${found ? this.key(found, visiting) : 'builtin'}`);
    }
    visiting.delete(file);
    const digest = hash.digest('hex');
    this.memo.set(file, digest);
    return digest;
  }

  private resolve(name: string): string | undefined {
    for (const root of this.roots) {
      const candidate = path.join(root, name);
      if (fs.existsSync(candidate)) return candidate;
    }
    return undefined;
  }
}

export function hashOf(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}
