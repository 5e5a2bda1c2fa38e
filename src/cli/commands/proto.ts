// `tsk proto add | client | server` and `tsk errors gen`.
import fs from 'node:fs';
import path from 'node:path';
import chalk from 'chalk';
import { compileProtos } from '../../proto/compile.js';
import { CompileError, UsageError } from '../../proto/diagnostics.js';
import { planClientFiles, type GeneratorKind } from '../../gen/client.js';
import { generateClient } from '../../gen/incremental.js';
import { generateOpenApi, openApiModule } from '../../plugins/openapi/generate.js';
import { checkProtoPath, renderProtoTemplate } from '../../gen/proto-template.js';
import { renderServerStub, stubClassName, stubFileName } from '../../gen/server-stub.js';
import { projectAt, projectOfInputs, type Project } from '../../proto/project.js';
import { resolveImportRoots } from '../../proto/roots.js';
import { DEFAULT_RUNTIME_DIR } from '../../plugins/types.js';
import { findProjectRoot } from '../manifest.js';
import { calledApiProtos } from './client.js';
import { failOnStale, printReport } from '../output.js';
import { writeFiles } from '../writer.js';

export interface ProtoFlags {
  protoPath?: string[];
  runtime?: string;
  force?: boolean;
  /** Leaving locally changed generated files as they are is intended: exit 0. */
  keepLocal?: boolean;
}

/** The runtime dir to import from generated files under an import root: a flag (relative to cwd), else the project's internal/pkg. */
function runtimeDirFor(cwd: string, project: Project | undefined, flags: ProtoFlags): (root: string) => string {
  const runtime = flags.runtime
    ? path.resolve(cwd, flags.runtime)
    : project
      ? path.join(project.root, 'internal', 'pkg')
      : undefined;
  if (!runtime) return () => DEFAULT_RUNTIME_DIR;
  return (root) => path.relative(root, runtime).split(path.sep).join('/');
}

/** The project the inputs belong to, and the manifest (if any) that records what tsk wrote there. */
function locate(cwd: string, inputs: string[], flags: ProtoFlags): { project?: Project; manifestRoot?: string } {
  const project = projectOfInputs(cwd, inputs, Boolean(flags.protoPath?.length));
  return { project, manifestRoot: project ? findProjectRoot(project.root) : undefined };
}

export async function protoClient(
  inputs: string[],
  flags: ProtoFlags & { openapi?: boolean; fetch?: boolean },
  only?: GeneratorKind[],
): Promise<void> {
  const cwd = process.cwd();
  const { project, manifestRoot } = locate(cwd, inputs, flags);
  const kinds = only ?? [
    'messages',
    'http',
    'grpc',
    'errors',
    'config',
    ...(flags.openapi ? ['openapi' as const] : []),
    ...(flags.fetch ? ['fetch' as const] : []),
  ];
  const result = await generateClient({
    cwd,
    inputs,
    importPaths: flags.protoPath,
    projectRoot: project?.root,
    runtimeFor: runtimeDirFor(cwd, project, flags),
    only: kinds,
  });
  const report = writeFiles(result.files, { projectRoot: manifestRoot, force: flags.force });
  report.unchanged.push(...result.upToDate);
  result.save(report);
  printReport(report, cwd);
  failOnStale(report, flags.keepLocal);
}

export async function errorsGen(inputs: string[], flags: ProtoFlags): Promise<void> {
  const cwd = process.cwd();
  const base = projectAt(cwd)?.root ?? cwd;
  const defaults = [fs.existsSync(path.join(base, 'api')) ? path.join(base, 'api') : cwd];
  await protoClient(inputs.length > 0 ? inputs : defaults, flags, ['errors']);
}

export async function protoAdd(file: string, flags: ProtoFlags): Promise<void> {
  const cwd = process.cwd();
  // A relative path names a place in the project (api/user/v1/user.proto), wherever in it the command runs.
  const project = path.isAbsolute(file) ? undefined : projectAt(cwd);
  const abs = path.resolve(project?.root ?? cwd, file);
  if (fs.existsSync(abs)) throw new UsageError(`${file} already exists; not overwriting it`);
  const parent = fs.existsSync(path.dirname(abs)) ? fs.realpathSync(path.dirname(abs)) : path.dirname(abs);
  const absReal = path.join(parent, path.basename(abs));
  const apiDir = absReal.lastIndexOf(`${path.sep}api${path.sep}`);
  // Protos live below `api/`, which is the import root (package user.v1 for api/user/v1/user.proto);
  // elsewhere the import roots come from -I or buf.yaml as for every other command.
  const roots =
    flags.protoPath || apiDir < 0
      ? resolveImportRoots(cwd, flags.protoPath, projectAt(absReal)?.root ?? cwd)
      : [absReal.slice(0, apiDir + 4)];
  const base = roots.filter((r) => absReal.startsWith(r + path.sep)).sort((a, b) => b.length - a.length)[0];
  if (!base) throw new UsageError(`${file} is not under any import root; pass -I <dir>`);
  const protoPath = path.relative(base, absReal).split(path.sep).join('/');
  const problem = checkProtoPath(protoPath);
  if (problem) throw new UsageError(`${file}: ${problem}`);
  const report = writeFiles([{ path: absReal, content: renderProtoTemplate({ protoPath }), kind: 'owned' }], {
    projectRoot: findProjectRoot(parent),
  });
  printReport(report, cwd);
  console.log(chalk.dim(`next: tsk proto client ${path.relative(cwd, absReal)}`));
}

export async function protoServer(file: string, flags: ProtoFlags & { target: string }): Promise<void> {
  const cwd = process.cwd();
  const { project, manifestRoot } = locate(cwd, [file], flags);
  const compiled = await compileProtos({
    inputs: [file],
    importPaths: flags.protoPath,
    cwd,
    projectRoot: project?.root,
  });
  const target = compiled.targetFiles[0]!;
  const services = compiled.targets.flatMap((f) => f.services);
  if (services.length === 0) throw new UsageError(`${file} defines no service`);
  // Like every output path, the target is a place in the project: relative to its root.
  const targetDir = path.resolve(project?.root ?? cwd, flags.target);
  const runtimeDir = path.resolve(target.root, runtimeDirFor(cwd, project, flags)(target.root));
  const files = services.map((service) => ({
    path: path.join(targetDir, stubFileName(service)),
    content: renderServerStub({ service, targetDir, protoRoot: target.root, runtimeDir }),
    kind: 'owned' as const,
  }));
  const report = writeFiles(files, { projectRoot: manifestRoot, force: false });
  printReport(report, cwd);
  // A new stub serves nothing until it is registered where the servers are built.
  const written = new Set(report.written);
  for (const [i, service] of services.entries()) {
    if (!written.has(files[i]!.path)) continue;
    const className = stubClassName(service);
    console.log(
      chalk.dim(
        `next: register${className}({ http, grpc }, new ${className}()) where the servers are built (cmd/<name>/wire.ts in a tsk project)`,
      ),
    );
  }
}

export interface OpenApiFlags extends ProtoFlags {
  /** One document for every service, written to this file, instead of one per service next to its proto. */
  output?: string;
  title?: string;
  version?: string;
}

/**
 * The project's own APIs among the compiled protos: the copies of the services it calls
 * (`tsk add client`) are left out, since its server does not serve them; unless they are
 * all that was asked for.
 */
function servedOnly<T extends { targets: { proto: { name: string } }[] }>(compiled: T, root: string | undefined): T {
  if (!root) return compiled;
  const called = calledApiProtos(root);
  const own = compiled.targets.filter((file) => !called.has(file.proto.name));
  return own.length === 0 || own.length === compiled.targets.length ? compiled : { ...compiled, targets: own };
}

/** `tsk proto openapi`: OpenAPI 3.1 documents of the HTTP API, per service or in one file. */
export async function protoOpenApi(inputs: string[], flags: OpenApiFlags): Promise<void> {
  const cwd = process.cwd();
  const { project, manifestRoot } = locate(cwd, inputs, flags);
  const compiled = servedOnly(
    await compileProtos({ inputs, importPaths: flags.protoPath, cwd, projectRoot: project?.root }),
    project?.root,
  );
  const meta = { title: flags.title, apiVersion: flags.version };
  if (!flags.output) {
    const files = await planClientFiles(compiled, {
      cwd,
      runtimeFor: () => DEFAULT_RUNTIME_DIR,
      only: ['openapi'],
      openapi: { openapi: 'service', ...meta },
    });
    if (files.length === 0) throw new UsageError(`${inputs.join(', ')}: no service with unary methods`);
    printReport(writeFiles(files, { projectRoot: manifestRoot, force: flags.force }), cwd);
    return;
  }
  const result = generateOpenApi({
    files: compiled.targets,
    registry: compiled.registry,
    options: { runtime: DEFAULT_RUNTIME_DIR, openapi: 'project', ...meta },
  });
  if (result.problems.length > 0)
    throw new CompileError(
      result.problems.map((p) => ({
        ...p,
        file: path.relative(
          cwd,
          path.join(compiled.targetFiles.find((t) => t.protoPath === p.file)?.root ?? cwd, p.file),
        ),
      })),
    );
  const document = result.files[0];
  if (!document) throw new UsageError(`${inputs.join(', ')}: no service with unary methods`);
  // A .ts output is the same document as a module a service imports and serves.
  const content = flags.output.endsWith('.ts') ? openApiModule(document.content, compiled.targets) : document.content;
  const file = { path: path.resolve(cwd, flags.output), content, kind: 'generated' as const };
  const report = writeFiles([file], { projectRoot: manifestRoot, force: flags.force });
  printReport(report, cwd);
  failOnStale(report, flags.keepLocal);
}
