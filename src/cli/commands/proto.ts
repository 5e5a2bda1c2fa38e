// `tsk proto add | client | server` and `tsk errors gen`.
import fs from 'node:fs';
import path from 'node:path';
import chalk from 'chalk';
import { compileProtos } from '../../proto/compile.js';
import { CompileError, UsageError } from '../../proto/diagnostics.js';
import { planClientFiles, type GeneratorKind } from '../../gen/client.js';
import { generateOpenApi, openApiModule } from '../../plugins/openapi/generate.js';
import { checkProtoPath, renderProtoTemplate } from '../../gen/proto-template.js';
import { renderServerStub, stubClassName, stubFileName } from '../../gen/server-stub.js';
import { resolveImportRoots } from '../../proto/roots.js';
import { DEFAULT_RUNTIME_DIR } from '../../plugins/types.js';
import { findProjectRoot } from '../manifest.js';
import { printReport } from '../output.js';
import { writeFiles } from '../writer.js';

export interface ProtoFlags {
  protoPath?: string[];
  runtime?: string;
  force?: boolean;
}

/** The runtime dir to import from generated files under `root`: the project's internal/pkg, or a flag. */
function runtimeDirFor(cwd: string, flags: ProtoFlags): (root: string) => string {
  if (flags.runtime) {
    const runtime = path.resolve(cwd, flags.runtime);
    return (root) => path.relative(root, runtime).split(path.sep).join('/');
  }
  const project = findProjectRoot(cwd);
  if (!project) return () => DEFAULT_RUNTIME_DIR;
  return (root) => path.relative(root, path.join(project, 'internal', 'pkg')).split(path.sep).join('/');
}

export async function protoClient(inputs: string[], flags: ProtoFlags & { openapi?: boolean; fetch?: boolean }, only?: GeneratorKind[]): Promise<void> {
  const cwd = process.cwd();
  const compiled = await compileProtos({ inputs, importPaths: flags.protoPath, cwd });
  const kinds = only ?? ['messages', 'http', 'grpc', 'errors', 'config', ...(flags.openapi ? ['openapi' as const] : []), ...(flags.fetch ? ['fetch' as const] : [])];
  const files = await planClientFiles(compiled, { cwd, runtimeFor: runtimeDirFor(cwd, flags), only: kinds });
  const report = writeFiles(files.map((f) => ({ ...f, kind: 'generated' as const })), { projectRoot: findProjectRoot(cwd), force: flags.force });
  printReport(report, cwd);
}

export async function errorsGen(inputs: string[], flags: ProtoFlags): Promise<void> {
  const cwd = process.cwd();
  const defaults = fs.existsSync(path.join(cwd, 'api')) ? ['api'] : ['.'];
  await protoClient(inputs.length > 0 ? inputs : defaults, flags, ['errors']);
}

export async function protoAdd(file: string, flags: ProtoFlags): Promise<void> {
  const cwd = process.cwd();
  const abs = path.resolve(cwd, file);
  if (fs.existsSync(abs)) throw new UsageError(`${file} already exists; not overwriting it`);
  const parent = fs.existsSync(path.dirname(abs)) ? fs.realpathSync(path.dirname(abs)) : path.dirname(abs);
  const absReal = path.join(parent, path.basename(abs));
  const apiDir = absReal.lastIndexOf(`${path.sep}api${path.sep}`);
  // Protos live below `api/`, which is the import root (package user.v1 for api/user/v1/user.proto);
  // elsewhere the import roots come from -I or buf.yaml as for every other command.
  const roots = flags.protoPath || apiDir < 0 ? resolveImportRoots(cwd, flags.protoPath) : [absReal.slice(0, apiDir + 4)];
  const base = roots.filter((r) => absReal.startsWith(r + path.sep)).sort((a, b) => b.length - a.length)[0];
  if (!base) throw new UsageError(`${file} is not under any import root; pass -I <dir>`);
  const protoPath = path.relative(base, absReal).split(path.sep).join('/');
  const problem = checkProtoPath(protoPath);
  if (problem) throw new UsageError(`${file}: ${problem}`);
  const report = writeFiles([{ path: absReal, content: renderProtoTemplate({ protoPath }), kind: 'owned' }], { projectRoot: findProjectRoot(cwd) });
  printReport(report, cwd);
  console.log(chalk.dim(`next: tsk proto client ${file}`));
}

export async function protoServer(file: string, flags: ProtoFlags & { target: string }): Promise<void> {
  const cwd = process.cwd();
  const compiled = await compileProtos({ inputs: [file], importPaths: flags.protoPath, cwd });
  const target = compiled.targetFiles[0]!;
  const services = compiled.targets.flatMap((f) => f.services);
  if (services.length === 0) throw new UsageError(`${file} defines no service`);
  const targetDir = path.resolve(cwd, flags.target);
  const runtimeDir = path.resolve(target.root, runtimeDirFor(cwd, flags)(target.root));
  const files = services.map((service) => ({
    path: path.join(targetDir, stubFileName(service)),
    content: renderServerStub({ service, targetDir, protoRoot: target.root, runtimeDir }),
    kind: 'owned' as const,
  }));
  const report = writeFiles(files, { projectRoot: findProjectRoot(cwd), force: false });
  printReport(report, cwd);
  // A new stub serves nothing until it is registered where the servers are built.
  const written = new Set(report.written);
  for (const [i, service] of services.entries()) {
    if (!written.has(files[i]!.path)) continue;
    const className = stubClassName(service);
    console.log(chalk.dim(`next: register${className}({ http, grpc }, new ${className}()) where the servers are built (cmd/<name>/wire.ts in a tsk project)`));
  }
}

export interface OpenApiFlags extends ProtoFlags {
  /** One document for every service, written to this file, instead of one per service next to its proto. */
  output?: string;
  title?: string;
  version?: string;
}

/** `tsk proto openapi`: OpenAPI 3.1 documents of the HTTP API, per service or in one file. */
export async function protoOpenApi(inputs: string[], flags: OpenApiFlags): Promise<void> {
  const cwd = process.cwd();
  const compiled = await compileProtos({ inputs, importPaths: flags.protoPath, cwd });
  const meta = { title: flags.title, apiVersion: flags.version };
  if (!flags.output) {
    const files = await planClientFiles(compiled, { cwd, runtimeFor: () => DEFAULT_RUNTIME_DIR, only: ['openapi'], openapi: { openapi: 'service', ...meta } });
    if (files.length === 0) throw new UsageError(`${inputs.join(', ')}: no service with unary methods`);
    printReport(writeFiles(files.map((f) => ({ ...f, kind: 'generated' as const })), { projectRoot: findProjectRoot(cwd), force: flags.force }), cwd);
    return;
  }
  const result = generateOpenApi({ files: compiled.targets, registry: compiled.registry, options: { runtime: DEFAULT_RUNTIME_DIR, openapi: 'project', ...meta } });
  if (result.problems.length > 0) throw new CompileError(result.problems.map((p) => ({ ...p, file: path.relative(cwd, path.join(compiled.targetFiles.find((t) => t.protoPath === p.file)?.root ?? cwd, p.file)) })));
  const document = result.files[0];
  if (!document) throw new UsageError(`${inputs.join(', ')}: no service with unary methods`);
  // A .ts output is the same document as a module a service imports and serves.
  const content = flags.output.endsWith('.ts') ? openApiModule(document.content, compiled.targets) : document.content;
  const file = { path: path.resolve(cwd, flags.output), content, kind: 'generated' as const };
  printReport(writeFiles([file], { projectRoot: findProjectRoot(cwd), force: flags.force }), cwd);
}
