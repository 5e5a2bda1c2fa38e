// A project's package.json as the commands read it: a file that does not parse is named.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from '../proto/diagnostics.js';

/**
 * The package.json at a project's root as far as it can be read, for wording and defaults
 * only: `{}` when it is missing or not JSON.
 */
export function projectPackageOrEmpty(root: string): Record<string, unknown> {
  try {
    return JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}

/** The project's package.json name, which titles its OpenAPI document; undefined (the document's own default) when it has none. */
export function packageName(root: string): string | undefined {
  const name = projectPackageOrEmpty(root)['name'];
  return typeof name === 'string' && name !== '' ? name : undefined;
}

/** The parsed package.json at a project's root; a clear error when it is missing or not JSON. */
export function readProjectPackage<T = { name?: string }>(root: string): T {
  const file = path.join(root, 'package.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  try {
    return JSON.parse(text) as T;
  } catch (err) {
    throw new UsageError(`${file}: not valid JSON: ${(err as Error).message}`);
  }
}

/** Writes the package.json at a project's root, in the indentation the file has now (two spaces if none). */
export function writeProjectPackage(root: string, pkg: object): void {
  const file = path.join(root, 'package.json');
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const indent = /^[{[]\s*\n([ \t]+)/.exec(text)?.[1] ?? 2;
  fs.writeFileSync(file, `${JSON.stringify(pkg, null, indent)}\n`);
}
