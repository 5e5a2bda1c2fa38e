// Runs ts-proto (as the protoc plugin it is) on compiled descriptors: messages,
// their JSON codecs and grpc-js service definitions.
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import {
  CodeGeneratorRequestSchema,
  CodeGeneratorResponseSchema,
  type DescriptorProto,
  FileDescriptorProtoSchema,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';
import path from 'node:path';
import type { GeneratedFile } from '../plugins/types.js';
import { GENERATED_HEADER } from './printer.js';
import { TS_PROTO_OPTIONS } from './tsproto-options.js';
import {
  chunkCount,
  type PluginWorker,
  startPluginWorker,
  type TsProtoWorkers,
  type WorkerOptions,
} from './tsproto-workers.js';

export { TS_PROTO_OPTIONS } from './tsproto-options.js';

/**
 * ts-proto over `fileToGenerate`, split into chunks run side by side. Each chunk
 * runs the unmodified plugin in a worker thread (the same code protoc or buf would
 * start as a process, without a process start per run; its formatter formats large
 * files a statement at a time, see tsproto-worker.ts), so the output is exactly
 * the plugin's. Besides the targets, each chunk generates only the files whose types
 * the targets use (see typeClosure), not every import.
 */
export async function runTsProto(
  protoFiles: readonly FileDescriptorProto[],
  fileToGenerate: string[],
  workers?: TsProtoWorkers,
): Promise<GeneratedFile[]> {
  const chunks = splitEvenly(fileToGenerate, chunkCount(fileToGenerate.length));
  try {
    const results = await Promise.all(
      chunks.map((chunk) =>
        runChunk(workers?.take() ?? startPluginWorker(), protoFiles, typeClosure(protoFiles, chunk)),
      ),
    );
    // Each chunk also emits the files its targets use; they are identical, keep one.
    const byName = new Map<string, GeneratedFile>();
    for (const file of results.flat()) byName.set(file.path, file);
    return [...byName.values()];
  } finally {
    workers?.close();
  }
}

/**
 * `targets` and, transitively, every file declaring a message or enum their messages'
 * fields or their methods use: the files ts-proto's output for them imports. Files
 * imported only for their options (google/api/annotations.proto, which brings
 * google/protobuf/descriptor.proto, or buf/validate) are left out: ts-proto's
 * emitImportedFiles would generate them, and they would be dropped unused
 * (keepReachable), after costing most of a small run.
 */
export function typeClosure(protoFiles: readonly FileDescriptorProto[], targets: string[]): string[] {
  const fileOfType = new Map<string, string>();
  const declare = (
    file: string,
    scope: string,
    messages: readonly DescriptorProto[],
    enums: readonly { name: string }[],
  ) => {
    for (const e of enums) fileOfType.set(`${scope}.${e.name}`, file);
    for (const m of messages) {
      fileOfType.set(`${scope}.${m.name}`, file);
      declare(file, `${scope}.${m.name}`, m.nestedType, m.enumType);
    }
  };
  for (const f of protoFiles) declare(f.name, f.package ? `.${f.package}` : '', f.messageType, f.enumType);

  const byName = new Map(protoFiles.map((f) => [f.name, f]));
  const used = (f: FileDescriptorProto): string[] => {
    const names: string[] = [];
    const visit = (m: DescriptorProto) => {
      for (const field of m.field) if (field.typeName) names.push(field.typeName);
      m.nestedType.forEach(visit);
    };
    f.messageType.forEach(visit);
    for (const s of f.service) for (const m of s.method) names.push(m.inputType, m.outputType);
    return names.map((n) => fileOfType.get(n)).filter((n): n is string => n !== undefined);
  };
  const out = new Set<string>();
  const queue = [...targets];
  while (queue.length > 0) {
    const name = queue.shift()!;
    if (out.has(name)) continue;
    out.add(name);
    const file = byName.get(name);
    if (file) queue.push(...used(file));
  }
  return [...out];
}

function splitEvenly<T>(items: T[], parts: number): T[][] {
  const n = Math.max(1, Math.min(parts, items.length));
  const out: T[][] = Array.from({ length: n }, () => []);
  items.forEach((item, i) => out[i % n]!.push(item));
  return out;
}

async function runChunk(
  worker: PluginWorker,
  protoFiles: readonly FileDescriptorProto[],
  fileToGenerate: string[],
): Promise<GeneratedFile[]> {
  const generating = new Set(fileToGenerate);
  const request = create(CodeGeneratorRequestSchema, {
    fileToGenerate,
    // The caller names every file to generate (typeClosure), so ts-proto adds none of its own.
    parameter: `${TS_PROTO_OPTIONS},emitImportedFiles=false`,
    // ts-proto reads comments (source info) only of the files it generates; the rest,
    // descriptor.proto's long docs above all, would only cost encoding and decoding.
    protoFile: protoFiles.map((f) =>
      generating.has(f.name) ? f : create(FileDescriptorProtoSchema, { ...f, sourceCodeInfo: undefined }),
    ),
  });
  const stdout = await worker.run(toBinary(CodeGeneratorRequestSchema, request));
  const response = fromBinary(CodeGeneratorResponseSchema, stdout);
  if (response.error) throw new Error(`ts-proto failed: ${response.error}`);
  return response.file.map((f) => ({ path: f.name, content: withTskHeader(f.content) }));
}

/** ts-proto's files carry tsk's header too: they are regenerated by tsk, like ours. */
function withTskHeader(content: string): string {
  return content.replace(
    /^\/\/ Code generated by protoc-gen-ts_proto\. DO NOT EDIT\.\n/,
    `${GENERATED_HEADER}\n// Messages by protoc-gen-ts_proto.\n`,
  );
}

/** The files of `roots` and, transitively, the generated files they import: what one target needs. */
export function keepReachable(files: GeneratedFile[], roots: string[]): GeneratedFile[] {
  const byName = new Map(files.map((f) => [f.path, f]));
  const keep = new Set<string>();
  const queue = roots.filter((r) => byName.has(r));
  while (queue.length > 0) {
    const name = queue.pop()!;
    if (keep.has(name)) continue;
    keep.add(name);
    for (const m of byName.get(name)!.content.matchAll(/from ["'](\.{1,2}\/[^"']+)\.js["']/g)) {
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(name), `${m[1]}.ts`));
      if (byName.has(target)) queue.push(target);
    }
  }
  return files.filter((f) => keep.has(f.path));
}

/**
 * ts-proto's response to a serialized CodeGeneratorRequest, from the plugin in a worker
 * thread as runTsProto runs it.
 */
export function runTsProtoRequest(request: Uint8Array, options: WorkerOptions = {}): Promise<Buffer> {
  return startPluginWorker(options).run(request);
}
