// Starting a generated service as a child process and waiting for it.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { repoRoot } from './cli.js';

/**
 * Runs a command to its end without blocking the test worker (long synchronous runs
 * starve vitest's own messages on a busy machine). Killed after `timeoutMs`.
 */
export function run(
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string> = {},
  timeoutMs = 600_000,
): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      timeout: timeoutMs,
      env: { ...process.env, npm_config_fund: 'false', npm_config_audit: 'false', ...env },
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    child.once('error', (err) => resolve({ status: -1, output: output + String(err) }));
    child.once('close', (code) => resolve({ status: code ?? -1, output }));
  });
}

/**
 * What `npm start` gives node in `project` (its start script, `node <entry> <args...>`),
 * so a test starts what a user starts: the bundle, dist/bundle/main.js.
 */
/**
 * Runs one of the tests' TypeScript scripts (through tsx) in a process of its own, with
 * `env` and none of this process's OTEL_* variables: telemetry is process-wide and reads
 * them. Resolves with its exit code and output (stdout and stderr together); rejects with
 * that output when it runs longer than `limitMs`.
 */
export function runScript(
  script: string,
  args: string[],
  env: Record<string, string>,
  limitMs: number,
): Promise<{ code: number | null; out: string }> {
  const inherited = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('OTEL_')));
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: repoRoot,
    env: { ...inherited, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${path.basename(script)} did not finish within ${limitMs} ms:\n${out}`));
    }, limitMs);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out });
    });
  });
}

/** The node arguments of a project's `start` script: node's flags, the entry, the service's own. */
export function npmStartArgs(project: string): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(project, 'package.json'), 'utf8')) as {
    scripts?: Record<string, string>;
  };
  const [node, ...args] = (pkg.scripts?.['start'] ?? '').trim().split(/\s+/);
  if (node !== 'node')
    throw new Error(`${project}/package.json: the start script does not run node: ${pkg.scripts?.['start']}`);
  return args;
}

/** The start script's node flags and entry, without the service's own arguments. */
export function npmStartEntry(project: string): string[] {
  const args = npmStartArgs(project);
  return args.slice(0, args.findIndex((a) => !a.startsWith('-')) + 1);
}

export interface Service {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** Runs `node args` in `cwd`; `node` is the binary, by default the one running the tests. */
export function startService(
  cwd: string,
  args: string[],
  env: Record<string, string>,
  node = process.execPath,
): Service {
  const child = spawn(node, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { child, output: () => out, exited };
}

export async function waitFor(
  check: () => Promise<boolean>,
  what: string | (() => string),
  tries = 200,
  delayMs = 50,
): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw new Error(`timed out waiting for ${typeof what === 'function' ? what() : what}`);
}

/**
 * Waits for `url` (a readiness endpoint) to answer 2xx. Fails at once if the service exits
 * first, and either way with the service's output as it is at that moment.
 */
export async function waitReady(service: Service, url: string, name: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (service.child.exitCode !== null || service.child.signalCode !== null) {
      throw new Error(
        `${name} exited (${service.child.exitCode ?? service.child.signalCode}) before it was ready:\n${service.output()}`,
      );
    }
    if (
      await fetch(url).then(
        (r) => r.ok,
        () => false,
      )
    )
      return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${name} to be ready:\n${service.output()}`);
}

/** Resolves with the exit code, or rejects if the process outlives `limitMs` (hang protection, not a benchmark). */
export async function exitWithin(service: Service, limitMs: number): Promise<number | null> {
  let timer: NodeJS.Timeout | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      service.child.kill('SIGKILL');
      reject(new Error(`process did not exit within ${limitMs} ms:\n${service.output()}`));
    }, limitMs);
  });
  try {
    return await Promise.race([service.exited, hang]);
  } finally {
    clearTimeout(timer);
  }
}
