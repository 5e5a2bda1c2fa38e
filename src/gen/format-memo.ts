// Formatted statements remembered across runs, for splitFormatter: a proto edited in
// one place changes a few of the hundreds of statements its ts-proto file holds, and
// only those need dprint again. An entry maps a statement's exact text (by hash) to
// dprint's output for it, under the same dprint version and options, so what it
// returns is what dprint would return: the output never depends on earlier runs.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** The remembered pieces of one text, found by the text's first piece (a ts-proto file's header and imports). */
export interface PieceMemo {
  open(firstPiece: string, options: unknown): MemoFile;
}

export interface MemoFile {
  get(piece: string): string | undefined;
  set(piece: string, formatted: string): void;
  /** Keeps exactly the pieces set since open (so a file's memo never grows past the file). */
  close(): void;
}

/** A memo in `dir`, one JSON file per text; `version` names the formatter build (entries of another are never read). */
export function fileMemo(dir: string, version: string): PieceMemo {
  const hash = (...parts: string[]) => createHash('sha256').update(parts.join('\0')).digest('hex');
  return {
    open(firstPiece, options) {
      const file = path.join(dir, `${hash(version, JSON.stringify(options), firstPiece).slice(0, 40)}.json`);
      let known: Record<string, string> = {};
      try {
        known = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, string>;
      } catch {
        // None yet, or unreadable: a memo is only ever a shortcut.
      }
      const kept: Record<string, string> = {};
      let changed = false;
      return {
        get(piece) {
          const formatted = known[hash(piece)];
          return typeof formatted === 'string' ? formatted : undefined;
        },
        set(piece, formatted) {
          const key = hash(piece);
          if (known[key] !== formatted) changed = true;
          kept[key] = formatted;
        },
        close() {
          if (!changed && Object.keys(kept).length === Object.keys(known).length) {
            // Still in use: pruneMemo keeps it.
            const now = new Date();
            try {
              fs.utimesSync(file, now, now);
            } catch {
              // Not there or not writable: nothing to keep fresh.
            }
            return;
          }
          try {
            fs.mkdirSync(dir, { recursive: true });
            const temp = `${file}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
            fs.writeFileSync(temp, JSON.stringify(kept));
            fs.renameSync(temp, file);
          } catch {
            // Not writable: the next run formats these pieces again.
          }
        },
      };
    },
  };
}

/** How long a text's memo is kept without being used: texts edited away leave theirs behind. */
export const MEMO_MAX_AGE_MS = 30 * 24 * 3600 * 1000;

/** Deletes the memos in `dir` not used (written or read) for `maxAgeMs`; a memo is only ever a shortcut. */
export function pruneMemo(dir: string, maxAgeMs = MEMO_MAX_AGE_MS, now = Date.now()): void {
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.endsWith('.json') && !name.endsWith('.tmp')) continue;
    const file = path.join(dir, name);
    try {
      if (now - fs.statSync(file).mtimeMs > maxAgeMs) fs.rmSync(file, { force: true });
    } catch {
      // Gone meanwhile, or not ours to remove.
    }
  }
}
