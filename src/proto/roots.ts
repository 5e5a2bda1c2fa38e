// Import roots, as protoc's -I: explicit flags (relative to cwd) win; else the modules
// of the nearest buf.yaml at or above `base` (v2 `modules[].path`, or the buf.yaml's
// own directory for v1); else `base` itself. `base` is the project root when known.
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { UsageError } from './diagnostics.js';

/**
 * Remembers the module paths a buf.yaml's text declares, so a run that has seen the
 * same text before (the codegen cache) need not load a YAML parser at all.
 */
export interface ModulePathsMemo {
  get(bufYamlText: string): string[] | undefined;
  set(bufYamlText: string, modulePaths: string[]): void;
}

export function resolveImportRoots(
  cwd: string,
  importPaths?: string[],
  base: string = cwd,
  memo?: ModulePathsMemo,
): string[] {
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
  const text = fs.readFileSync(bufYaml, 'utf8');
  let modulePaths = memo?.get(text);
  if (!modulePaths) {
    modulePaths = parseModulePaths(text, path.relative(cwd, bufYaml) || 'buf.yaml');
    memo?.set(text, modulePaths);
  }
  if (modulePaths.length === 0) return [fs.realpathSync(dir)];
  return modulePaths
    .map((p) => path.resolve(dir, p))
    .filter((p) => fs.existsSync(p))
    .map((p) => fs.realpathSync(p));
}

/** buf.yaml's `modules[].path` (`.` for a module without one); none for v1 or no modules. */
function parseModulePaths(text: string, shownAs: string): string[] {
  // Loaded here, not at the top: only a run without a remembered answer parses YAML.
  const { parse } = createRequire(import.meta.url)('yaml') as typeof import('yaml');
  let config: unknown;
  try {
    config = parse(text);
  } catch (err) {
    throw new UsageError(`${shownAs}: ${(err as Error).message.split('\n')[0]}`);
  }
  const modules = (config as { modules?: { path?: unknown }[] } | null)?.modules;
  if (!Array.isArray(modules)) return [];
  return modules.map((m) => (typeof m?.path === 'string' ? m.path : '.'));
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
