// The protos a command's inputs name: files and directories expanded into paths
// inside the import root holding each. Cheap (no compiler, no descriptors), so a
// cached run can know its targets without loading either.
import fs from 'node:fs';
import path from 'node:path';
import { UsageError } from './diagnostics.js';

export interface TargetFile {
  /** Path inside its import root, as the descriptor names it: `helloworld/v1/greeter.proto`. */
  protoPath: string;
  /** Absolute directory of the import root the file lives under. */
  root: string;
}

/** Expands files and directories into proto paths relative to the import root containing them. */
export function collectTargets(cwd: string, inputs: string[], roots: string[]): TargetFile[] {
  const found = new Map<string, TargetFile>();
  for (const input of inputs) {
    const given = path.resolve(cwd, input);
    if (!fs.existsSync(given)) throw new UsageError(`${input}: no such file or directory`);
    const abs = fs.realpathSync(given);
    const files = fs.statSync(abs).isDirectory() ? listProtos(abs) : [abs];
    if (!fs.statSync(abs).isDirectory() && !abs.endsWith('.proto')) throw new UsageError(`${input}: not a .proto file`);
    for (const file of files) {
      const problem = notProtoText(file);
      if (problem) throw new UsageError(`${path.relative(cwd, file)}: ${problem}`);
      const root = roots.filter((r) => file.startsWith(r + path.sep)).sort((a, b) => b.length - a.length)[0];
      if (!root) {
        throw new UsageError(
          `${path.relative(cwd, file)}: not under any import root (${roots.map((r) => path.relative(cwd, r) || '.').join(', ')}); pass -I <dir>`,
        );
      }
      const protoPath = path.relative(root, file).split(path.sep).join('/');
      found.set(protoPath, { protoPath, root });
    }
  }
  return [...found.values()];
}

/** Why a file cannot be proto source (binary content, not UTF-8), or undefined when it can. */
function notProtoText(file: string): string | undefined {
  const bytes = fs.readFileSync(file);
  if (bytes.includes(0)) return 'not a text .proto file (it holds binary data: NUL bytes)';
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return 'not a text .proto file (it is not valid UTF-8)';
  }
  return undefined;
}

/** Every .proto under `dir`, node_modules and dot folders left out, sorted. */
export function listProtos(dir: string): string[] {
  const out: string[] = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listProtos(p));
    else if (entry.name.endsWith('.proto')) out.push(p);
  }
  return out.sort();
}
