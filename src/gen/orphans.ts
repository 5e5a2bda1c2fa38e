// Generated files whose proto is gone, found from the files themselves: each file tsk
// generates beside a proto names it in its header (`// source: shop/v1/order.proto`),
// or, for an OpenAPI document (JSON has no comments), in its name
// (`order.OrderService.openapi.json` beside `order.proto`).
// The codegen cache knows this too, but it is never committed, so on a fresh clone
// this is what finds a deleted proto's output.
import fs from 'node:fs';
import path from 'node:path';
import { GENERATED_HEADER } from './printer.js';

/** The header's first lines are all that is read of each file. */
const HEAD_BYTES = 512;
const SOURCE = /^\/\/ source: (\S+\.proto)$/m;
const OPENAPI_SUFFIX = '.openapi.json';

/**
 * Of `candidates` (absolute paths of files tsk recorded as generated), those lying
 * beside the proto their header names (`<stem>.ts`, `<stem>_<kind>.ts` in its
 * directory, under one of `roots`) when that proto is in none of `roots` any more.
 * `google/protobuf/` protos come with the compiler and are never gone.
 */
export function orphansBySource(
  candidates: readonly string[],
  roots: readonly string[],
  keep: ReadonlySet<string>,
): string[] {
  const exists = new Map<string, boolean>();
  const protoExists = (source: string) => {
    let found = exists.get(source);
    if (found === undefined) {
      found = roots.some((r) => fs.existsSync(path.join(r, source)));
      exists.set(source, found);
    }
    return found;
  };
  return candidates.filter((file) => {
    if (keep.has(file)) return false;
    if (file.endsWith(OPENAPI_SUFFIX)) {
      const sources = roots.map((root) => openapiSource(path.relative(root, file))).filter((s) => s !== undefined);
      return sources.length > 0 && !sources.some(protoExists);
    }
    if (!file.endsWith('.ts')) return false;
    const source = sourceOf(file);
    if (!source || source.startsWith('google/protobuf/') || protoExists(source)) return false;
    return roots.some((root) => besideProto(path.relative(root, file), source));
  });
}

/** The proto a root-relative `<stem>.<Service>.openapi.json` was made from (`<stem>.proto`); undefined outside the root. */
function openapiSource(relative: string): string | undefined {
  const rel = relative.split(path.sep).join('/');
  if (rel.startsWith('../') || path.isAbsolute(rel)) return undefined;
  const withService = rel.slice(0, -OPENAPI_SUFFIX.length);
  const dot = withService.lastIndexOf('.');
  return dot > 0 && !withService.slice(dot).includes('/') ? `${withService.slice(0, dot)}.proto` : undefined;
}

/** The proto a generated file's header names; undefined for any other file. */
function sourceOf(file: string): string | undefined {
  let head: string;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      const buffer = Buffer.alloc(HEAD_BYTES);
      head = buffer.toString('utf8', 0, fs.readSync(fd, buffer, 0, HEAD_BYTES, 0));
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return undefined;
  }
  if (!head.startsWith(GENERATED_HEADER)) return undefined;
  return SOURCE.exec(head)?.[1];
}

/** Whether a root-relative file path is one tsk names after the proto `source` (same root). */
function besideProto(relative: string, source: string): boolean {
  const rel = relative.split(path.sep).join('/');
  if (rel.startsWith('../')) return false;
  const stem = source.slice(0, -'.proto'.length);
  return rel === `${stem}.ts` || (rel.startsWith(`${stem}_`) && !rel.slice(stem.length + 1).includes('/'));
}
