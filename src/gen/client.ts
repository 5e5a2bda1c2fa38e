// `tsk proto client`: everything generated next to the protos, in memory.
// ts-proto for messages and service definitions, then our http, grpc and errors
// generators. Nothing touches the disk here; the caller writes the result.
import path from 'node:path';
import type { CompiledProtos } from '../proto/compile.js';
import { CompileError, type Diagnostic } from '../proto/diagnostics.js';
import { generateConfigSchema } from '../plugins/config/generate.js';
import { generateErrors } from '../plugins/errors/generate.js';
import { generateGrpc } from '../plugins/grpc/generate.js';
import { generateHttp } from '../plugins/http/generate.js';
import { generateFetch } from '../plugins/fetch/generate.js';
import { generateOpenApi } from '../plugins/openapi/generate.js';
import type { GeneratedFile, GeneratorOptions } from '../plugins/types.js';
import { keepReachable, runTsProto } from './tsproto.js';

export interface PlannedFile {
  /** Absolute path on disk. */
  path: string;
  content: string;
}

export interface ClientOptions {
  /** Runtime directory for files under a given import root, relative to that root. */
  runtimeFor(root: string): string;
  cwd: string;
  /** Which generators to run; default all but openapi and fetch. */
  only?: GeneratorKind[];
  /** OpenAPI options, when `only` includes openapi. */
  openapi?: Pick<GeneratorOptions, 'openapi' | 'title' | 'apiVersion'>;
}

export type GeneratorKind = 'messages' | 'http' | 'grpc' | 'errors' | 'config' | 'openapi' | 'fetch';

export async function planClientFiles(compiled: CompiledProtos, options: ClientOptions): Promise<PlannedFile[]> {
  const only = new Set(options.only ?? ['messages', 'http', 'grpc', 'errors', 'config']);
  const planned: PlannedFile[] = [];
  const problems: Diagnostic[] = [];
  // Output goes into the import root each proto lives under, so generated files sit next to it.
  const roots = new Map<string, string[]>();
  for (const t of compiled.targetFiles) roots.set(t.root, [...(roots.get(t.root) ?? []), t.protoPath]);
  // One ts-proto run for every root (a process start is most of its cost); files are split by root below.
  const messages = only.has('messages') ? await runTsProto(compiled.fileSet.file, compiled.targetFiles.map((t) => t.protoPath)) : [];
  for (const [root, protoPaths] of roots) {
    const files = compiled.targets.filter((f) => protoPaths.includes(f.proto.name));
    const input = { files, registry: compiled.registry, options: { runtime: options.runtimeFor(root), ...options.openapi } };
    const outputs: GeneratedFile[] = [];
    outputs.push(...keepReachable(messages, protoPaths.map((p) => p.replace(/\.proto$/, '.ts'))));
    for (const [kind, generate] of [['http', generateHttp], ['grpc', generateGrpc], ['errors', generateErrors], ['config', generateConfigSchema], ['openapi', generateOpenApi], ['fetch', generateFetch]] as const) {
      if (!only.has(kind)) continue;
      const result = generate(input);
      outputs.push(...result.files);
      for (const p of result.problems) problems.push({ ...p, file: path.relative(options.cwd, path.join(root, p.file)) });
    }
    for (const f of outputs) planned.push({ path: path.join(root, f.name), content: f.content });
  }
  if (problems.length > 0) throw new CompileError(problems);
  return planned;
}
