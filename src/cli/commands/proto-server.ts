// `tsk proto server`: implementation stubs per service (never overwritten).
import fs from 'node:fs';
import path from 'node:path';
import type { DescService } from '@bufbuild/protobuf';
import chalk from 'chalk';
import { compileProtos } from '../../proto/compile.js';
import { CompileError, UsageError } from '../../proto/diagnostics.js';
import { fileStem, methodKey, methodNameProblems } from '../../gen/names.js';
import { renderServerStub, stubClassName, stubFileName } from '../../gen/server-stub.js';
import { serviceKeys, shortServiceKey } from '../../gen/services-module.js';
import { servedTree } from './generate.js';
import { runScript } from '../install-command.js';
import { printReport } from '../output.js';
import { writeFiles } from '../writer.js';
import { locate, runtimeDirFor, type ProtoFlags } from './proto.js';

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
  const problems = methodNameProblems(services);
  if (problems.length > 0)
    throw new CompileError(problems.map((p) => ({ ...p, file: path.relative(cwd, path.join(target.root, p.file)) })));
  // Like every output path, the target is a place in the project: relative to its root.
  const targetDir = path.resolve(project?.root ?? cwd, flags.target);
  const fromRoot = manifestRoot ? path.relative(manifestRoot, targetDir) : '';
  if (fromRoot.startsWith('..') || path.isAbsolute(fromRoot))
    throw new UsageError(
      `--target ${flags.target} is outside the project at ${manifestRoot}: give a directory under it (relative to its root), e.g. internal/service`,
    );
  const runtimeDir = path.resolve(target.root, runtimeDirFor(cwd, project, flags)(target.root));
  const generatedWiring = project !== undefined && servesServicesModule(project.root);
  const files = services.map((service) => ({
    path: path.join(targetDir, stubFileName(service)),
    content: renderServerStub({
      service,
      targetDir,
      protoRoot: target.root,
      runtimeDir,
      servedByServicesModule: generatedWiring,
    }),
    kind: 'owned' as const,
  }));
  const report = writeFiles(files, { projectRoot: manifestRoot, force: false });
  printReport(report, cwd);
  // A stub kept as it is (the user's file) may lack methods added to the proto since, or be
  // another service's of the same name (v1's, when v2 is added).
  const skipped = new Set(report.skipped.map((entry) => entry.path));
  for (const [i, service] of services.entries()) {
    const stub = files[i]!;
    if (!skipped.has(stub.path)) continue;
    const own = fs.readFileSync(stub.path, 'utf8');
    if (!own.includes(fileStem(service.file))) {
      const stem = path.relative(project?.root ?? cwd, path.join(target.root, fileStem(service.file)));
      const elsewhere = path.posix.join(flags.target, service.file.proto.package.split('.').at(-1)!);
      console.error(
        chalk.red(
          `${path.relative(cwd, stub.path)} exists and implements another service (it does not import ${stem.split(path.sep).join('/')}); give ${service.typeName} a directory of its own: tsk proto server ${file} -t ${elsewhere}`,
        ),
      );
      process.exitCode = 1;
      continue;
    }
    const leftover = leftoverMethods(service, own);
    if (leftover.length > 0)
      console.log(
        chalk.dim(
          `next: ${path.relative(cwd, stub.path)} has ${leftover.join(', ')}, which ${service.typeName} no longer declares; nothing serves ${leftover.length === 1 ? 'it' : 'them'} now, so remove ${leftover.length === 1 ? 'it' : 'them'}`,
        ),
      );
    const missing = missingMethods(service, own, stub.content);
    if (missing.length === 0) continue;
    const names = missing.map((m) => m.name).join(', ');
    const imports = missingImports(
      stub.content,
      own,
      missing.map((m) => m.text),
    );
    console.log(
      chalk.dim(
        `next: ${path.relative(cwd, stub.path)} has no ${names}; add ${missing.length === 1 ? 'it' : 'them'} to ${stubClassName(service)}${imports.length > 0 ? `, and import what ${missing.length === 1 ? 'it uses' : 'they use'}:\n${imports.join('\n')}` : ':'}\n${missing.map((m) => m.text).join('\n\n')}`,
      ),
    );
  }
  // A new stub serves nothing until it is built (and, in projects that wire by hand, registered).
  const written = new Set(report.written);
  const keys =
    generatedWiring && files.some((f) => written.has(f.path)) ? await wiringKeys(project!.root, services) : undefined;
  for (const [i, service] of services.entries()) {
    if (!written.has(files[i]!.path)) continue;
    const className = stubClassName(service);
    const key = keys?.get(service.typeName);
    const renamed = (keys?.renamed.get(service.typeName) ?? [])
      .map(([name, k]) => `; ${name} is ${k} there now`)
      .join('');
    console.log(
      chalk.dim(
        key !== undefined
          ? `next: build it in ${servicesBuilder(project!.root)}, in what newServices returns: ${key}: new ${className}()${renamed}; api/services.ts lists it (tsk proto client and ${runScript(project!.root, 'generate')} keep it current), and both servers serve every entry`
          : `next: build new ${className}() with the other services (cmd/<name>/services.ts in a tsk project) and register it on each server where it is built: register${className}({ http: server }, service) in internal/server/http.ts, register${className}({ grpc: server }, service) in internal/server/grpc.ts (each gets its services through its deps)`,
      ),
    );
  }
}

/**
 * The key of each service in api/services.ts, by full name, as the project's whole tree
 * names them (`shopV2Order` once two packages have an OrderService), and for each the
 * services of other packages whose key that qualified.
 */
async function wiringKeys(
  root: string,
  services: readonly DescService[],
): Promise<Map<string, string> & { renamed: Map<string, [string, string][]> }> {
  const tree = (await servedTree(root)()).targets.flatMap((f) => f.services);
  const all = [...tree.filter((s) => !services.some((own) => own.typeName === s.typeName)), ...services];
  const keys = serviceKeys(all);
  const byName = new Map([...keys].map(([s, key]) => [s.typeName, key]));
  const renamed = new Map<string, [string, string][]>();
  for (const service of services) {
    const others = all.filter(
      (s) => s.typeName !== service.typeName && shortServiceKey(s) === shortServiceKey(service),
    );
    renamed.set(
      service.typeName,
      others.map((s) => [s.typeName, keys.get(s)!]),
    );
  }
  return Object.assign(byName, { renamed });
}

/**
 * The methods of `service` that the user's file `own` does not define, each with its method
 * as the stub `stub` renders it.
 */
function missingMethods(service: DescService, own: string, stub: string): { name: string; text: string }[] {
  return service.methods.flatMap((method) => {
    const key = methodKey(method);
    if (new RegExp(`\\b${key}\\s*[(=:<]`).test(own)) return [];
    const start = stub.indexOf(`  async ${key}(`);
    const end = stub.indexOf('\n  }\n', start);
    return start < 0 || end < 0 ? [] : [{ name: key, text: stub.slice(start, end + 4) }];
  });
}

/**
 * The import lines the stub would have for the names `methods` use that the user's file
 * does not mention, each cut to those names: what pasting the methods also needs.
 */
function missingImports(stub: string, own: string, methods: readonly string[]): string[] {
  const mentioned = (name: string, text: string) => new RegExp(`\\b${name}\\b`).test(text);
  const lines: string[] = [];
  for (const m of stub.matchAll(/^import (type )?\{([^}]*)\} from ('[^']+');$/gm)) {
    const names = m[2]!
      .split(',')
      .map((n) => n.trim())
      .filter((n) => n && methods.some((text) => mentioned(n, text)) && !mentioned(n, own));
    if (names.length > 0) lines.push(`import ${m[1] ?? ''}{ ${names.join(', ')} } from ${m[3]};`);
  }
  return lines;
}

/**
 * Methods of the user's file written as handlers are (`async name(ctx: Context, ...`, any
 * name for the context) that
 * `service` does not declare: an rpc removed from the proto leaves its handler behind, and
 * TypeScript does not object to a class with a method more than its interface.
 */
function leftoverMethods(service: DescService, own: string): string[] {
  const declared = new Set(service.methods.map((m) => methodKey(m)));
  const handlers = own.matchAll(/^\s*(?:public\s+)?(?:async\s+)?(\w+)\s*\(\s*\w+\s*:\s*Context\b/gm);
  return [...new Set([...handlers].map((m) => m[1]!))].filter((name) => !declared.has(name));
}

/**
 * Where the project builds its services: cmd/<name>/services.ts, or in a project made by
 * an older tsk, internal/service/services.ts.
 */
export function servicesBuilder(root: string): string {
  const cmd = path.join(root, 'cmd');
  const names = fs.existsSync(cmd) ? fs.readdirSync(cmd) : [];
  const found = names.find((name) => fs.existsSync(path.join(cmd, name, 'services.ts')));
  if (found !== undefined) return `cmd/${found}/services.ts`;
  if (fs.existsSync(path.join(root, 'internal', 'service', 'services.ts'))) return 'internal/service/services.ts';
  return 'cmd/<name>/services.ts';
}

/** Whether the project's servers serve what api/services.ts lists (projects made before it register each service by hand). */
function servesServicesModule(root: string): boolean {
  return ['http.ts', 'grpc.ts'].some((f) => {
    try {
      return fs.readFileSync(path.join(root, 'internal', 'server', f), 'utf8').includes("'../../api/services.js'");
    } catch {
      return false;
    }
  });
}
