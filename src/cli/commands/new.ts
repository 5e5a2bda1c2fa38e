// `tsk new <name>`: render the project, generate code from its protos and move it
// into place (writeTree): any failure leaves nothing half-made behind.
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import chalk from 'chalk';
import { execa } from 'execa';
import { gitInit } from '../git-init.js';
import prompts from 'prompts';
import { compileProtos } from '../../proto/compile.js';
import { UsageError } from '../../proto/diagnostics.js';
import { planClientFiles } from '../../gen/client.js';
import { generateOpenApi, openApiModule } from '../../plugins/openapi/generate.js';
import { descriptorsModule } from '../../gen/descriptors-module.js';
import { servicesModule } from '../../gen/services-module.js';
import { DEFAULT_RUNTIME_DIR } from '../../plugins/types.js';
import { checkServiceName, renderProject, type RegistryKind } from '../../scaffold/project.js';
import {
  DEFAULT_PACKAGE_MANAGER,
  packageManagerProblem,
  type PackageManager,
  type PackageManagerName,
} from '../../scaffold/package-manager.js';
import { otlpEndpointProblem } from '../../runtime/telemetry/export-settings.js';
import { SERVICE_NODE_MAJOR } from '../../scaffold/package-json.js';
import type { GeneratedFile } from '../../gen/file.js';
import { MANIFEST_PATH, readManifest, refuseInsideProject } from '../manifest.js';
import { packTskInto } from '../self-pack.js';
import { writeFiles, writeTree } from '../writer.js';
import { packageName } from '../../scaffold/project-package.js';

export interface NewFlags {
  dir?: string;
  registry?: RegistryKind;
  httpPort?: number;
  grpcPort?: number;
  otlpEndpoint?: string;
  packageManager?: PackageManagerName;
  install: boolean;
  git: boolean;
  force?: boolean;
  yes?: boolean;
}

export async function newProject(given: string | undefined, flags: NewFlags): Promise<void> {
  const started = performance.now();
  const name = given ?? (await askName(flags));
  const problem = checkServiceName(name);
  if (problem) {
    // A path given for the name (`tsk new .`, `tsk new ./dir/svc`): the directory is --dir's.
    const dirHint =
      /[/\\]/.test(name) || name === '.' || name === '..'
        ? `; to create it in ${name}, give a name and --dir: tsk new <name> --dir ${name}`
        : '';
    throw new UsageError(`invalid service name "${name}": ${problem}${dirHint}`);
  }
  const httpPort = flags.httpPort ?? 8000;
  const grpcPort = flags.grpcPort ?? 9000;
  // Each server listens on its own port: with one for both, the second to start fails.
  if (httpPort === grpcPort)
    throw new UsageError(
      `--http-port and --grpc-port are both ${httpPort}: the HTTP and gRPC servers need a port each`,
    );
  const cwd = process.cwd();
  const target = path.resolve(cwd, flags.dir ?? name);
  refuseInsideProject(target, cwd, (outside) => `tsk new ${name} --dir ${outside}`);
  const existed = fs.existsSync(target);
  if (existed && !fs.statSync(target).isDirectory())
    throw new UsageError(`${path.relative(cwd, target)} exists and is not a directory`);
  if (existed && fs.readdirSync(target).length > 0 && !flags.force) {
    throw new UsageError(
      `${path.relative(cwd, target) || '.'} is not empty; use --force to create the project there anyway`,
    );
  }

  const packageManager = await findPackageManager(flags.packageManager);
  const answers = await askMissing(flags);
  // The same check the service makes at start (the generated config uses grpc).
  const endpointProblem = answers.otlpEndpoint ? otlpEndpointProblem(answers.otlpEndpoint, 'grpc') : undefined;
  if (endpointProblem) throw new UsageError(`--otlp-endpoint: ${endpointProblem}`);
  const files = renderProject({
    name,
    registry: answers.registry,
    httpPort,
    grpcPort,
    otlpEndpoint: answers.otlpEndpoint,
    packageManager,
  });

  if (existed) refuseToOverwriteOwned(target, files, cwd);

  await writeTree(target, async (staging) => {
    // Generate code from the project's own protos, exactly as `npm run generate` would: the
    // templates go down first, the compiler reads them from there.
    writeFiles(files, { projectRoot: staging });
    const compiled = await compileProtos({ inputs: ['api', 'internal/conf'], cwd: staging });
    const runtimeDir = path.join(staging, 'internal', 'pkg');
    const generated = await planClientFiles(compiled, {
      cwd: staging,
      runtimeFor: (root) => path.relative(root, runtimeDir).split(path.sep).join('/'),
    });
    generated.push(
      openApiFile(compiled, packageName(staging)),
      servicesFile(compiled),
      descriptorsModule(
        compiled.fileSet,
        new Set(compiled.targetFiles.filter((t) => path.relative(staging, t.root) === 'api').map((t) => t.protoPath)),
      ),
    );
    writeFiles(generated, { projectRoot: staging });
    await packTskInto(staging);
  });
  const rel = path.relative(cwd, target) || '.';
  console.log(
    `${chalk.green('created')} ${rel} (${files.length} files, ${((performance.now() - started) / 1000).toFixed(2)}s)`,
  );

  // Install first, so the first commit holds the lockfile (a clean clone builds from it).
  const steps = [
    flags.install && {
      run: () => install(target, packageManager.name),
      byHand: `${packageManager.name} install`,
    },
    flags.git && {
      run: () => gitInit(target, 'Initial commit from tsk new'),
      byHand: 'git init && git add -A && git commit -m "Initial commit"',
    },
  ].filter((step) => step !== false);
  // Ctrl-C in the middle (an install takes a while): the project is complete; say what is left to do.
  let left = steps;
  const interrupted = (signal: NodeJS.Signals) => {
    console.error(
      `\n${chalk.yellow('interrupted:')} ${rel} is created; finish it with: cd ${shellWord(rel)} && ${left.map((s) => s.byHand).join(' && ')}`,
    );
    process.exit(128 + (signal === 'SIGINT' ? 2 : 15));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  for (const step of steps) {
    try {
      await step.run();
    } catch (err) {
      // The terminal's Ctrl-C reaches the install too, which may end before our handler runs.
      const signal = (err as { cause?: { signal?: string } }).cause?.signal;
      if (signal === 'SIGINT' || signal === 'SIGTERM') interrupted(signal);
      // The project itself is complete; say what failed and how to finish by hand.
      console.error(`${chalk.yellow('warning:')} ${(err as Error).message}`);
      process.exitCode = 1;
    }
    left = left.slice(1);
  }
  process.off('SIGINT', interrupted);
  process.off('SIGTERM', interrupted);

  const pm = packageManager.name;
  const workspaces = workspacesRoot(path.dirname(target));
  if (workspaces)
    console.log(
      chalk.yellow(
        `\nnote: ${rel} is inside the npm workspaces at ${path.relative(cwd, workspaces) || '.'}: the lockfile is that root's, and npm reads allowScripts only from its package.json; the Dockerfile expects a lockfile of the service's own, so build the image from the root (docs/services.md, "Services in your own monorepo")`,
      ),
    );
  if (shellNodeTooOld())
    console.log(
      chalk.yellow(
        `\nnote: the service runs on Node.js ${SERVICE_NODE_MAJOR} or later (package.json engines, the Dockerfile); this shell has ${process.version}: switch before the steps below (e.g. nvm use ${SERVICE_NODE_MAJOR})`,
      ),
    );
  console.log(`
Next steps:${rel === '.' ? '' : `\n  cd ${shellWord(rel)}`}${flags.install ? '' : `\n  ${pm} install`}
  ${pm} run dev                         # HTTP :${httpPort}, gRPC :${grpcPort}
  curl localhost:${httpPort}/helloworld/world
  ${pm} test`);
}

/**
 * `--force` over an existing directory never replaces what is yours: in a tsk project, the
 * files its manifest calls the user's (wire.ts, error_reason.proto, config...); in any other
 * directory (a fresh clone with its README and .gitignore, say), every file already there.
 * It refuses, naming them, before writing anything.
 */
function refuseToOverwriteOwned(target: string, files: { path: string; content: string }[], cwd: string): void {
  const project = fs.existsSync(path.join(target, MANIFEST_PATH));
  const owned = readManifest(target).files;
  const differs = (f: { path: string; content: string }) => {
    const file = path.join(target, f.path);
    const there = fs.lstatSync(file, { throwIfNoEntry: false });
    // A directory or a link where tsk puts a file is never the same file.
    return there !== undefined && (!there.isFile() || fs.readFileSync(file, 'utf8') !== f.content);
  };
  const clobbered = files
    .filter(
      (f) =>
        !project ||
        owned[f.path]?.kind === 'owned' ||
        fs.statSync(path.join(target, f.path), { throwIfNoEntry: false })?.isDirectory(),
    )
    .filter(differs)
    .map((f) => f.path);
  if (clobbered.length === 0) return;
  const shown =
    clobbered.length > 8
      ? `${clobbered.slice(0, 8).join(', ')} and ${clobbered.length - 8} more`
      : clobbered.join(', ');
  const rel = path.relative(cwd, target) || '.';
  throw new UsageError(
    project
      ? `${rel} is a tsk project; not overwriting files you own: ${shown} (to change the registry use tsk registry <kind>; to refresh the runtime, tsk upgrade)`
      : `${rel} is not a tsk project; not overwriting files already there: ${shown} (move them away, then run tsk new again)`,
  );
}

/** Whether to ask: never in CI, in pipes, or when told to take defaults. */
function mayPrompt(flags: NewFlags): boolean {
  return !flags.yes && Boolean(process.stdin.isTTY) && Boolean(process.stdout.isTTY);
}

const cancelled = {
  onCancel: () => {
    throw new UsageError('cancelled');
  },
};

/** The service name, asked for on a terminal; a name has no default to take. */
async function askName(flags: NewFlags): Promise<string> {
  if (!mayPrompt(flags)) throw new UsageError('missing the service name: tsk new <name>, e.g. tsk new helloworld');
  const answer = await prompts(
    {
      type: 'text',
      name: 'name',
      message: 'Service name (lower-case letters, digits and -)',
      validate: (value: string) => checkServiceName(value.trim()) ?? true,
    },
    cancelled,
  );
  return (answer['name'] as string).trim();
}

async function askMissing(flags: NewFlags): Promise<{ registry: RegistryKind; otlpEndpoint: string }> {
  const defaults = {
    registry: flags.registry ?? 'none',
    otlpEndpoint: flags.otlpEndpoint ?? 'http://127.0.0.1:4317',
  } as const;
  if (flags.registry && flags.otlpEndpoint !== undefined) return defaults;
  if (!mayPrompt(flags)) {
    // Without -y the defaults are said: whoever ran it in a pipe expected to be asked.
    if (!flags.yes)
      console.log(
        chalk.dim(
          `no terminal to ask on; taking registry ${defaults.registry} and OTLP endpoint ${defaults.otlpEndpoint || '(none)'} (--registry and --otlp-endpoint choose; -y takes the defaults without this line)`,
        ),
      );
    return defaults;
  }
  const answers = await prompts(
    [
      flags.registry
        ? null
        : {
            type: 'select' as const,
            name: 'registry',
            message: 'Service registry',
            choices: [
              { title: 'none', value: 'none' },
              { title: 'etcd', value: 'etcd' },
              { title: 'consul', value: 'consul' },
            ],
            initial: 0,
          },
      flags.otlpEndpoint !== undefined
        ? null
        : {
            type: 'text' as const,
            name: 'otlpEndpoint',
            message: 'OTLP collector endpoint (empty: no trace export)',
            initial: defaults.otlpEndpoint,
            // Asked again, saying why, rather than ending the run as a bad --otlp-endpoint does.
            validate: (value: string) => (value.trim() ? (otlpEndpointProblem(value.trim(), 'grpc') ?? true) : true),
          },
    ].filter((q): q is NonNullable<typeof q> => q !== null),
    cancelled,
  );
  return {
    registry: (answers['registry'] as RegistryKind | undefined) ?? defaults.registry,
    otlpEndpoint: (answers['otlpEndpoint'] as string | undefined) ?? defaults.otlpEndpoint,
  };
}

/**
 * The package manager asked for, with its version (its lock file format and the
 * Dockerfile's install step depend on it). It must be on PATH even with --no-install.
 */
async function findPackageManager(name: PackageManagerName | undefined): Promise<PackageManager> {
  if (!name || name === 'npm') return DEFAULT_PACKAGE_MANAGER;
  let version: string;
  try {
    version = (await execa(name, ['--version'])).stdout.trim();
  } catch {
    throw new UsageError(
      `--package-manager ${name}: ${name} is not on PATH; install it, or leave the option out for npm`,
    );
  }
  if (!/^\d+\.\d+\.\d+/.test(version))
    throw new UsageError(`--package-manager ${name}: \`${name} --version\` printed "${version}", not a version`);
  const pm: PackageManager = { name, version };
  const problem = packageManagerProblem(pm);
  if (problem) throw new UsageError(`--package-manager ${name}: ${problem}`);
  return pm;
}

async function install(dir: string, pm: string): Promise<void> {
  console.log(chalk.dim(`${pm} install ...`));
  try {
    if (pm === 'npm' && shellNodeTooOld()) await npmInstallOnOlderNode(dir);
    else await execa(pm, ['install'], { cwd: dir, stdio: 'inherit' });
  } catch (err) {
    throw new Error(`${pm} install failed; run it yourself in ${dir}`, { cause: err });
  }
}

/**
 * Whether this shell's Node.js line is older than the service's: tsk itself runs on older
 * lines, the service it made does not (its OpenTelemetry SDK needs 22.15+).
 */
function shellNodeTooOld(): boolean {
  return Number(process.versions.node.split('.')[0]) < SERVICE_NODE_MAJOR;
}

/**
 * On a Node.js line older than the service's, npm warns EBADENGINE in five lines for each
 * package that needs a newer one (a screenful); the note after the install says what to do,
 * so they are counted into one line. Everything else npm prints is passed on as it comes.
 */
async function npmInstallOnOlderNode(dir: string): Promise<void> {
  const child = execa('npm', ['install'], { cwd: dir, stdin: 'inherit', stdout: 'inherit', stderr: 'pipe' });
  const lines = readline.createInterface({ input: child.stderr! });
  let packages = 0;
  lines.on('line', (line) => {
    if (!line.startsWith('npm warn EBADENGINE')) process.stderr.write(`${line}\n`);
    else if (/^npm warn EBADENGINE\s+package:/.test(line)) packages++;
  });
  await Promise.all([child, once(lines, 'close')]);
  if (packages > 0)
    console.log(
      chalk.yellow(
        `npm: ${packages} packages need a newer Node.js than ${process.version} (EBADENGINE); see the note below`,
      ),
    );
}

/** api/services.ts, what the servers serve, as `tsk generate` writes it. */
function servicesFile(compiled: Awaited<ReturnType<typeof compileProtos>>): GeneratedFile {
  return servicesModule(compiled.targets, DEFAULT_RUNTIME_DIR);
}

/** api/openapi.ts, the document the HTTP server serves, as `tsk proto openapi api -o api/openapi.ts` writes it. */
function openApiFile(compiled: Awaited<ReturnType<typeof compileProtos>>, title: string | undefined): GeneratedFile {
  const result = generateOpenApi({
    files: compiled.targets,
    registry: compiled.registry,
    options: { runtime: '', openapi: 'project', ...(title ? { title } : {}) },
  });
  const document = result.files[0];
  if (!document || result.problems.length > 0) throw new Error('the project template produced no OpenAPI document');
  return { path: 'api/openapi.ts', content: openApiModule(document.content, compiled.targets) };
}

/** `word` as one shell word, quoted when it holds anything but plain path characters (a space). */
function shellWord(word: string): string {
  return /^[\w./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** The nearest directory at or above `dir` whose package.json declares npm workspaces. */
function workspacesRoot(dir: string): string | undefined {
  for (let d = path.resolve(dir); ; d = path.dirname(d)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(path.join(d, 'package.json'), 'utf8')) as { workspaces?: unknown };
      if (pkg.workspaces !== undefined) return d;
    } catch {
      // no package.json here, or not one npm could read either
    }
    if (path.dirname(d) === d) return undefined;
  }
}
