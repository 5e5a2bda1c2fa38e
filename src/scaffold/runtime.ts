// The runtime as vendored into a project: every .ts file of src/runtime with a
// header naming the tsk version, so a reader knows where it came from.
import fs from 'node:fs';
import path from 'node:path';
import { runtimeSourceDir, tskVersion } from '../proto/paths.js';
import type { GeneratedFile } from '../gen/file.js';
import { GENERATED_HEADER } from '../gen/printer.js';

export function runtimeFiles(): GeneratedFile[] {
  const header = `${GENERATED_HEADER}\n// Vendored tsk runtime v${tskVersion()}; refresh with \`tsk upgrade\` (local edits are detected and kept).\n`;
  const out: GeneratedFile[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(p);
      else if (entry.name.endsWith('.ts')) {
        out.push({
          path: path.relative(runtimeSourceDir, p).split(path.sep).join('/'),
          content: header + fs.readFileSync(p, 'utf8'),
        });
      }
    }
  };
  walk(runtimeSourceDir);
  return out;
}
