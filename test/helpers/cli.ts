// Runs the built CLI (bin/tsk.js) the way a user does, and prepares scratch copies of fixtures.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const tskBin = path.join(repoRoot, 'bin', 'tsk.js');

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function tsk(args: string[], cwd: string, env: Record<string, string> = {}): CliResult {
  const r = spawnSync(process.execPath, [tskBin, ...args], {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, FORCE_COLOR: '0', ...env },
  });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** A fresh copy of a fixture under .tmp/<group>/<name> (inside the repo, so node_modules resolves). */
export function scratchFixture(group: string, name: string): string {
  const dir = path.join(repoRoot, '.tmp', group, name);
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  fs.cpSync(path.join(repoRoot, 'fixtures', name), dir, { recursive: true });
  return dir;
}

/** Every file under dir, relative, sorted. */
export function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else out.push(path.relative(dir, p).split(path.sep).join('/'));
    }
  };
  walk(dir);
  return out.sort();
}

/** tsc --noEmit over `include` under the strictest settings (asynchronous: a large check must not block the test worker). */
export async function typecheck(dir: string, include: string[]): Promise<CliResult> {
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2022',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noUncheckedIndexedAccess: true,
        exactOptionalPropertyTypes: true,
        noEmit: true,
        skipLibCheck: true,
        esModuleInterop: true,
        types: ['node'],
      },
      include,
    }),
  );
  const { command } = await import('./async-cli.js');
  return command(
    process.execPath,
    [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', dir],
    repoRoot,
  );
}
