// `tsk proto client`: everything generated next to the protos, in memory.
// ts-proto for messages and service definitions, then our http, grpc and errors
// generators. Nothing touches the disk here; the caller writes the result.
import path from 'node:path';
import type { CompiledProtos, TargetFile } from '../proto/compile.js';
import { CompileError, type Diagnostic } from '../proto/diagnostics.js';
import { pgvProblems, syntaxProblems } from './syntax.js';
import { generateConfigSchema } from '../plugins/config/generate.js';
import { generateErrors } from '../plugins/errors/generate.js';
import { generateFetch } from '../plugins/fetch/generate.js';
import { generateGrpc } from '../plugins/grpc/generate.js';
import { generateHttp } from '../plugins/http/generate.js';
import { generateOpenApi } from '../plugins/openapi/generate.js';
import type { GeneratorOptions } from '../plugins/types.js';
import type { GeneratedFile } from './file.js';
import { uncompilableRules } from './rule-compile.js';
import { fieldNameProblems, typeNameProblems } from './names.js';
import { keepReachable, runTsProto } from './tsproto.js';
import type { TsProtoWorkers } from './tsproto-workers.js';

/** What one input proto generates: its own files and the message files of what it imports, by absolute path (targets span import roots). */
export interface PlannedTarget extends TargetFile {
  files: GeneratedFile[];
}

export type GeneratorKind = 'messages' | 'http' | 'grpc' | 'errors' | 'config' | 'openapi' | 'fetch';

export interface ClientOptions {
  /** Runtime directory for files under a given import root, relative to that root. */
  runtimeFor(root: string): string;
  cwd: string;
  /** Which generators to run; default all but openapi and fetch. */
  only?: GeneratorKind[] | undefined;
  /** OpenAPI options, when `only` includes openapi. */
  openapi?: Pick<GeneratorOptions, 'openapi' | 'title' | 'apiVersion'> | undefined;
  /** ts-proto workers started ahead (see TsProtoWorkers); else they start when needed. */
  tsProtoWorkers?: TsProtoWorkers | undefined;
}

export async function planClientTargets(compiled: CompiledProtos, options: ClientOptions): Promise<PlannedTarget[]> {
  const only = new Set(options.only ?? ['messages', 'http', 'grpc', 'errors', 'config']);
  const problems: Diagnostic[] = [];
  // One ts-proto run for every target (split across cores inside, in worker threads, so
  // our generators below run meanwhile); files are attributed per target below.
  const messagesRun = only.has('messages')
    ? runTsProto(
        compiled.fileSet.file,
        compiled.targetFiles.map((t) => t.protoPath),
        options.tsProtoWorkers,
      )
    : Promise.resolve([]);
  messagesRun.catch(() => {}); // awaited below; an error of ours thrown first must not leave it unhandled
  // Let the requests reach the workers (their stdin ends on this thread's event loop) before we get busy.
  await new Promise((resolve) => setImmediate(resolve));
  const ours: { target: TargetFile; files: GeneratedFile[] }[] = [];
  for (const target of compiled.targetFiles) {
    const file = compiled.targets.find((f) => f.proto.name === target.protoPath);
    if (!file) continue;
    // Output goes into the import root the proto lives under, so generated files sit next to it.
    const input = {
      files: [file],
      registry: compiled.registry,
      options: { runtime: options.runtimeFor(target.root), ...options.openapi },
    };
    const outputs: GeneratedFile[] = [];
    // Problems name the proto as the user gave it: relative to the working directory.
    const report = (found: readonly Diagnostic[]) => {
      for (const p of found) problems.push({ ...p, file: path.relative(options.cwd, path.join(target.root, p.file)) });
    };
    for (const [kind, generate] of [
      ['http', generateHttp],
      ['grpc', generateGrpc],
      ['errors', generateErrors],
      ['config', generateConfigSchema],
      ['openapi', generateOpenApi],
      ['fetch', generateFetch],
    ] as const) {
      if (!only.has(kind)) continue;
      const result = generate(input);
      outputs.push(...result.files);
      report(result.problems);
    }
    report(syntaxProblems(file));
    report(pgvProblems(file));
    if (only.has('messages')) report([...fieldNameProblems(file), ...typeNameProblems(file)]);
    // The rules the http generator declares for the requests, compiled as the service will.
    if (only.has('http')) report(await uncompilableRules(file));
    ours.push({ target, files: outputs });
  }
  const messages = await messagesRun;
  const planned: PlannedTarget[] = ours.map(({ target, files }) => ({
    ...target,
    files: [...keepReachable(messages, [target.protoPath.replace(/\.proto$/, '.ts')]), ...files].map((f) => ({
      path: path.join(target.root, f.path),
      content: f.content,
    })),
  }));
  if (problems.length > 0) throw new CompileError(problems);
  return planned;
}

/** Every file the targets generate, once each (imports shared by several targets are generated alike). */
export function mergeTargets(targets: readonly { files: GeneratedFile[] }[]): GeneratedFile[] {
  const byPath = new Map<string, GeneratedFile>();
  for (const t of targets) for (const f of t.files) byPath.set(f.path, f);
  return [...byPath.values()];
}

export async function planClientFiles(compiled: CompiledProtos, options: ClientOptions): Promise<GeneratedFile[]> {
  return mergeTargets(await planClientTargets(compiled, options));
}
