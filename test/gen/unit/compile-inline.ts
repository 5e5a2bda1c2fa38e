// Descriptors from inline proto sources, compiled in-process by the same pipeline the CLI
// uses (src/proto/compile.ts: buf with tsk's protos importable), for generator unit tests.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { compileProtos } from '../../../src/proto/compile.js';
import type { GeneratorInput } from '../../../src/plugins/types.js';

/** `sources` maps proto paths (`shop/v1/shop.proto`) to their text; every one is a target; the runtime is imported from `<root>/pkg`. */
export async function compileInline(sources: Record<string, string>, runtime = 'pkg'): Promise<GeneratorInput> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-unit-'));
  try {
    for (const [name, text] of Object.entries(sources)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    const compiled = await compileProtos({ inputs: Object.keys(sources), importPaths: [dir], cwd: dir });
    return { files: compiled.targets, registry: compiled.registry, options: { runtime } };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** The one file a generator wrote, by path. */
export function fileNamed(files: { path: string; content: string }[], name: string): string {
  const file = files.find((f) => f.path === name);
  if (!file) throw new Error(`no ${name} among ${files.map((f) => f.path).join(', ') || 'no files'}`);
  return file.content;
}
