// `tsk dev`: the edit loop of a tsk project. Watches protos and sources; on a change
// it regenerates (when a proto changed), typechecks, checks the config, and restarts the
// service. When a step fails its errors are printed (file:line:col, or the config key and
// file:line) and the running service is left as it is, so the last good build keeps answering.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import chalk from 'chalk';
import { isStoreUrl } from '../../runtime/config/store-url.js';
import { CompileError, UsageError } from '../../proto/diagnostics.js';
import { findProjectRoot } from '../manifest.js';
import { installCommand } from '../install-command.js';
import { printReport } from '../output.js';
import type { WriteReport } from '../writer.js';
import { generateProject } from './generate.js';
import { readProjectPackage } from '../../scaffold/project-package.js';

export interface DevFlags {
  /**
   * Files and directories relative to where tsk runs, as every path a user gives, and store
   * URLs, merged in order; else the project's configs/config.yaml.
   */
  conf?: string[];
  /** Node's inspector in the service (not in tsk dev, nor in the config check): true for Node's default address. */
  inspect?: string | true;
}

/**
 * Directories whose changes matter: what the project's tsconfig.json typechecks (test/ too, so
 * fixing a test the typecheck failed on reruns it) and the config; everything else
 * (node_modules, dist, .tsk, .git) is ignored.
 */
const WATCHED = /^(api|internal|cmd|configs|test)\//;
const RELEVANT = /\.(proto|ts|ya?ml|json)$/;
/** A lockfile changes when an install adds what the typecheck found missing (a registry's client after tsk registry). */
const LOCKFILE = /^(package-lock\.json|pnpm-lock\.yaml|yarn\.lock)$/;

/** Whether a change to `rel` (relative to the project root, `/`-separated) starts a cycle. */
export function watchedChange(rel: string): boolean {
  return (WATCHED.test(rel) && RELEVANT.test(rel)) || LOCKFILE.test(rel);
}
const DEBOUNCE_MS = 150;

export async function dev(flags: DevFlags): Promise<void> {
  const root = findProjectRoot(process.cwd());
  if (!root) throw new UsageError('not inside a tsk project (no .tsk/manifest.json found here or above)');
  const name = readProjectPackage<{ name: string }>(root).name;
  const main = path.join('cmd', name, 'main.ts');
  if (!fs.existsSync(path.join(root, main)))
    throw new UsageError(`${main} not found: tsk dev runs the service from cmd/<package name>/main.ts`);
  const tsc = projectTsc(root);

  // The service runs from the project root.
  const confArgs = (flags.conf ?? [path.join('configs', 'config.yaml')]).flatMap((given) => {
    if (isStoreUrl(given)) return ['--conf', given];
    const conf = flags.conf ? path.relative(root, path.resolve(given)) : given;
    if (!fs.existsSync(path.join(root, conf))) throw new UsageError(`${given}: no such config file`);
    return ['--conf', conf];
  });
  const serviceArgs = ['--import', 'tsx', main, ...confArgs];
  const inspector =
    flags.inspect === undefined ? [] : [flags.inspect === true ? '--inspect' : `--inspect=${flags.inspect}`];
  const parentWatch = ['--import', new URL('../dev-parent-watch.js', import.meta.url).href];
  const service = new ServiceProcess(root, [...inspector, ...parentWatch, ...serviceArgs]);
  // Projects made before main.ts took --check would start a second service instead.
  const checkable = /--check\b/.test(fs.readFileSync(path.join(root, main), 'utf8'));
  process.once('exit', () => service.kill());
  const ownWrites = new Set<string>();
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> = Promise.resolve();

  const cycle = async (changed: string[]) => {
    const protoChanged = changed.some((f) => f.endsWith('.proto'));
    const outcome = service.running ? 'the running service is unchanged' : 'the service starts once it passes';
    if (protoChanged && !(await regenerate(root, ownWrites, outcome))) return;
    if (!(await typecheck(root, tsc, outcome))) return;
    // The service never loads its tests: they are typechecked with the rest, not restarted for.
    if (service.running && changed.every((f) => f.startsWith('test/'))) {
      log('only tests changed: typechecked; the running service is unchanged (npm test runs them)');
      return;
    }
    if (checkable && service.running && !(await checkConfig(root, serviceArgs))) return;
    await service.restart();
  };
  const schedule = (file: string) => {
    pending.add(file);
    clearTimeout(timer);
    timer = setTimeout(() => {
      const changed = [...pending].filter((f) => !ownWrites.delete(path.join(root, f)));
      pending = new Set();
      if (changed.length === 0) return;
      log(`changed: ${changed.slice(0, 5).join(', ')}${changed.length > 5 ? ` and ${changed.length - 5} more` : ''}`);
      running = running.then(() => cycle(changed)).catch((err) => log(chalk.red(`error: ${(err as Error).message}`)));
    }, DEBOUNCE_MS);
  };

  const watcher = fs.watch(root, { recursive: true }, (_event, file) => {
    if (!file) return;
    const rel = file.split(path.sep).join('/');
    if (watchedChange(rel)) schedule(rel);
  });

  // First round: generate what is stale, typecheck, start (the typecheck takes seconds: say so).
  log('generating what is stale and typechecking, then starting the service');
  running = running.then(() => cycle(['api/.proto']));
  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = () => {
      if (stopping) return;
      stopping = true;
      clearInterval(launcher);
      watcher.close();
      clearTimeout(timer);
      // A restart under way when the signal came must not start the service again.
      service.close();
      void service.stop().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    // The terminal closing (its tab, an ssh session) stops the service as Ctrl-C does.
    process.once('SIGHUP', stop);
    // `npm run dev` starts tsk through `sh -c`, which does not pass a SIGTERM on: when whoever
    // started tsk dev is gone (a supervisor stopped npm), tsk dev and its service stop too.
    const parent = process.ppid;
    const launcher = setInterval(() => {
      if (process.ppid !== parent) stop();
    }, 500);
  });
}

/** The project's TypeScript compiler, found as Node finds packages: in an npm workspace it sits in the root's node_modules. */
function projectTsc(root: string): string {
  try {
    const manifest = createRequire(path.join(root, 'package.json')).resolve('typescript/package.json');
    return path.join(path.dirname(manifest), 'bin', 'tsc');
  } catch {
    throw new UsageError(`typescript not found in node_modules: run ${installCommand(root)} first`);
  }
}

function log(line: string): void {
  console.log(`${chalk.cyan('[tsk dev]')} ${line}`);
}

/** `npm run generate` in-process: protos that changed are compiled and generated; others come from the cache. */
async function regenerate(root: string, ownWrites: Set<string>, outcome: string): Promise<boolean> {
  try {
    // What tsk wrote is marked as its own at once: the watcher would otherwise see the
    // document change while the code is still generating and take it for an edit of the
    // user's (one more restart).
    const noted = (report: WriteReport) => {
      for (const p of [...report.written, ...report.removed]) ownWrites.add(p);
      if (report.written.length + report.skipped.length + report.removed.length > 0) printReport(report, root);
    };
    await generateProject(root, {}, noted);
    return true;
  } catch (err) {
    log(chalk.red(`generate failed; ${outcome}`));
    console.error(err instanceof CompileError ? err.message : `error: ${(err as Error).message}`);
    return false;
  }
}

/**
 * Where the type check keeps what it learned between runs: with it, a check after one edited
 * file rereads only what that file touches (about a third of a full check's time).
 */
const TYPECHECK_STATE = path.join('.tsk', 'cache', 'typecheck.tsbuildinfo');

/** tsc over the project; its `file(line,col): error` lines are printed as file:line:col. */
async function typecheck(root: string, tsc: string, outcome: string): Promise<boolean> {
  const child = spawn(
    process.execPath,
    [
      tsc,
      '-p',
      'tsconfig.json',
      '--noEmit',
      '--pretty',
      'false',
      '--incremental',
      '--tsBuildInfoFile',
      TYPECHECK_STATE,
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code === 0) return true;
  log(chalk.red(`typecheck failed; ${outcome}`));
  console.error(formatTscOutput(out));
  const missing = notInstalled(root, out);
  if (missing.length > 0)
    log(
      `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} in package.json but not installed: run ${installCommand(root)} (the next change of the lockfile, or of a watched file, runs the checks again)`,
    );
  return false;
}

/** Packages the typecheck could not find (TS2307) that package.json lists and node_modules lacks. */
export function notInstalled(root: string, tscOutput: string): string[] {
  const { dependencies = {}, devDependencies = {} } = readProjectPackage<{
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
  }>(root);
  const named = [...tscOutput.matchAll(/error TS2307: Cannot find module '([^']+)'/g)].map((m) => m[1]!);
  const packages = named.map((spec) =>
    spec
      .split('/')
      .slice(0, spec.startsWith('@') ? 2 : 1)
      .join('/'),
  );
  return [...new Set(packages)].filter(
    (name) =>
      (name in dependencies || name in devDependencies) && !fs.existsSync(path.join(root, 'node_modules', name)),
  );
}

/**
 * The service's own `--check` (its config against conf.proto and checks.ts, its code loads)
 * before the running one is stopped: a config that would not start keeps the last good service.
 */
async function checkConfig(root: string, serviceArgs: string[]): Promise<boolean> {
  const child = spawn(process.execPath, [...serviceArgs, '--check'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d));
  child.stderr.on('data', (d: Buffer) => (out += d));
  const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
  if (code === 0) return true;
  // The check loads the code as well as the config: a module that throws as it loads fails it too.
  log(chalk.red('start check failed (config, or code that throws as it loads); the running service is unchanged'));
  console.error(out.trimEnd());
  return false;
}

export function formatTscOutput(out: string): string {
  return out
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => l.replace(/^(.+?)\((\d+),(\d+)\): /, '$1:$2:$3: '))
    .join('\n');
}

/** The service as a child process; restart stops the old one (SIGTERM, its graceful stop) before starting anew. */
class ServiceProcess {
  private child: ChildProcess | undefined;
  private started = false;
  private closed = false;

  constructor(
    private readonly root: string,
    private readonly args: string[],
  ) {}

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null;
  }

  /** No start from now on: tsk dev is stopping. */
  close(): void {
    this.closed = true;
  }

  async restart(): Promise<void> {
    await this.stop();
    if (this.closed) return;
    log(this.started ? 'restarting the service' : 'starting the service');
    this.started = true;
    // In a process group of its own: Ctrl-C in a terminal signals the whole foreground
    // group, and the service would take that SIGINT and then stop()'s SIGTERM as a second
    // signal, which makes it exit at once instead of stopping gracefully.
    const child = spawn(process.execPath, this.args, {
      cwd: this.root,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    });
    child.once('exit', (code, signal) => {
      if (this.child === child) {
        this.child = undefined;
        if (signal !== 'SIGTERM')
          log(chalk.red(`the service exited (${signal ?? `code ${code}`}); waiting for a change`));
      }
    });
    this.child = child;
  }

  /** For tsk dev's own exit: a service in its own process group would otherwise outlive it. */
  kill(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGTERM');
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    this.child = undefined;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timeout);
  }
}
