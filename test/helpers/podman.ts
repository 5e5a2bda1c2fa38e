// Podman for the image test: whether it is here, the local base image
// (scripts/podman-base-image.sh), and running a container the way Kubernetes runs a
// Deployment's container spec.
import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './cli.js';

export const podmanAvailable = (): boolean => spawnSync('podman', ['--version']).status === 0;

export interface PodmanResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function podman(args: string[], timeoutMs = 120_000, cwd = repoRoot): PodmanResult {
  const r = spawnSync('podman', args, { cwd, encoding: 'utf8', timeout: timeoutMs });
  return { status: r.status ?? -1, stdout: (r.stdout ?? '').trim(), stderr: (r.stderr ?? '').trim() };
}

/** Runs a long command without blocking the test worker (builds take minutes). */
export function runAsync(cmd: string, args: string[], cwd: string, timeoutMs: number): Promise<PodmanResult> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.once('close', (code) => resolve({ status: code ?? -1, stdout: stdout.trim(), stderr: stderr.trim() }));
  });
}

/** Prepares podman and the stand-in base image; returns its name and how long it took. */
export async function prepareBaseImage(): Promise<{ image: string; seconds: number }> {
  const started = Date.now();
  const r = await runAsync(path.join(repoRoot, 'scripts', 'podman-base-image.sh'), [], repoRoot, 1_800_000);
  if (r.status !== 0) throw new Error(`scripts/podman-base-image.sh failed:\n${r.stderr}`);
  return { image: r.stdout.split('\n').pop()!, seconds: (Date.now() - started) / 1000 };
}

/**
 * `podman build` of the Dockerfile in `dir` as the tests build images: Docker format (it keeps
 * the HEALTHCHECK, which the OCI format has no field for), host network, the local base image.
 */
export function buildImage(dir: string, image: string): Promise<PodmanResult> {
  return runAsync(
    'podman',
    ['build', '--format', 'docker', '--network', 'host', '--pull=never', '--tag', image, '.'],
    dir,
    1_500_000,
  );
}

export interface ImageConfig {
  User: string;
  Entrypoint: string[] | null;
  Cmd: string[] | null;
}

export function imageConfig(image: string): ImageConfig {
  const r = podman(['image', 'inspect', '--format', '{{json .Config}}', image]);
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as ImageConfig;
}

/** The image's HEALTHCHECK test (`["CMD", ...]`), or undefined when it has none. */
export function imageHealthcheck(image: string): string[] | undefined {
  const r = podman(['image', 'inspect', '--format', '{{json .HealthCheck}}', image]);
  if (r.status !== 0) throw new Error(r.stderr);
  return (JSON.parse(r.stdout) as { Test?: string[] } | null)?.Test;
}

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: { fieldRef?: { fieldPath: string } };
}

export interface ContainerSpec {
  command?: string[] | undefined;
  args?: string[] | undefined;
  env?: EnvVar[] | undefined;
}

/**
 * `podman run` arguments placed after the options, mapping a Kubernetes container's
 * command/args onto the image as the kubelet does: `command` replaces the ENTRYPOINT
 * (and drops the CMD), `args` replaces the CMD.
 */
export function entrypointArgs(spec: ContainerSpec, image: string): string[] {
  if (spec.command) return ['--entrypoint', JSON.stringify(spec.command), image, ...(spec.args ?? [])];
  return [image, ...(spec.args ?? [])];
}

/**
 * `--env` options for a container's env list: downward-API fields from `fields`, and
 * `$(VAR)` references to earlier variables expanded as the kubelet expands them.
 */
export function envOptions(
  spec: ContainerSpec,
  fields: Record<string, string>,
  overrides: Record<string, string> = {},
): string[] {
  const env = new Map<string, string>();
  for (const v of spec.env ?? []) {
    const fieldPath = v.valueFrom?.fieldRef?.fieldPath;
    const raw = fieldPath !== undefined ? fields[fieldPath] : v.value;
    if (raw === undefined) throw new Error(`no value for env ${v.name}`);
    env.set(
      v.name,
      raw.replace(/\$\((\w+)\)/g, (ref, name: string) => env.get(name) ?? ref),
    );
  }
  for (const [k, v] of Object.entries(overrides)) env.set(k, v);
  return [...env].flatMap(([k, v]) => ['--env', `${k}=${v}`]);
}
