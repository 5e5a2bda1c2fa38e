// The CLI and builds run as child processes without blocking the test worker
// (long synchronous runs starve vitest's own RPC on a busy machine).
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { repoRoot, tskBin } from './cli.js';

export interface AsyncResult {
  status: number;
  stdout: string;
  stderr: string;
}

export const nodeRun = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  command(process.execPath, args, cwd, env);

/** Any command, to its end, with its output kept apart. */
export async function command(
  file: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
): Promise<AsyncResult> {
  try {
    const { stdout, stderr } = await promisify(execFile)(file, args, {
      cwd,
      env: { ...process.env, FORCE_COLOR: '0', ...env },
      maxBuffer: 64 << 20,
    });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { status: typeof e.code === 'number' ? e.code : -1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
  }
}

export const tskAsync = (args: string[], cwd: string) => nodeRun([tskBin, ...args], cwd);

/**
 * A generated project's own build, as `npm run build` does it (tsc -p tsconfig.build.json,
 * then tsk bundle), its packages resolved from tsk's node_modules.
 */
export async function buildProject(dir: string): Promise<AsyncResult> {
  const compiled = await nodeRun(
    [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    dir,
  );
  if (compiled.status !== 0) return compiled;
  const bundled = await tskAsync(['bundle'], dir);
  return { ...bundled, stdout: compiled.stdout + bundled.stdout, stderr: compiled.stderr + bundled.stderr };
}
