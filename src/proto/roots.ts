// Import roots, as protoc's -I: explicit flags (relative to cwd) win; else the modules
// of the nearest buf.yaml at or above `base` (v2 `modules[].path`, or the buf.yaml's
// own directory for v1); else `base` itself. `base` is the project root when known.
import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { UsageError } from './diagnostics.js';

export function resolveImportRoots(cwd: string, importPaths?: string[], base: string = cwd): string[] {
  if (importPaths && importPaths.length > 0) {
    return importPaths.map((p) => {
      const abs = path.resolve(cwd, p);
      if (!fs.existsSync(abs) || !fs.statSync(abs).isDirectory()) throw new UsageError(`-I ${p}: no such directory`);
      return fs.realpathSync(abs);
    });
  }
  const bufYaml = findUp(base, 'buf.yaml');
  if (!bufYaml) return [fs.realpathSync(base)];
  const dir = path.dirname(bufYaml);
  let config: unknown;
  try {
    config = parse(fs.readFileSync(bufYaml, 'utf8'));
  } catch (err) {
    throw new UsageError(`${path.relative(cwd, bufYaml) || 'buf.yaml'}: ${(err as Error).message.split('\n')[0]}`);
  }
  const modules = (config as { modules?: { path?: unknown }[] } | null)?.modules;
  if (!Array.isArray(modules) || modules.length === 0) return [fs.realpathSync(dir)];
  return modules
    .map((m) => (typeof m?.path === 'string' ? path.resolve(dir, m.path) : dir))
    .filter((p) => fs.existsSync(p))
    .map((p) => fs.realpathSync(p));
}

function findUp(start: string, name: string): string | undefined {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, name);
    if (fs.existsSync(candidate)) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}
