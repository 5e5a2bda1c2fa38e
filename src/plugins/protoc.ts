// Our generators as protoc plugins (for buf.gen.yaml): the same pure functions
// `tsk proto client` runs, behind protoplugin's CodeGeneratorRequest/Response.
import { create, createFileRegistry } from '@bufbuild/protobuf';
import {
  CodeGeneratorResponse_Feature,
  CodeGeneratorResponseSchema,
  FileDescriptorSetSchema,
  type CodeGeneratorRequest,
} from '@bufbuild/protobuf/wkt';
import type { Plugin } from '@bufbuild/protoplugin';
import { formatDiagnostic } from '../proto/diagnostics.js';
import { tskVersion } from '../proto/paths.js';
import { DEFAULT_RUNTIME_DIR, type Generator, type GeneratorOptions } from './types.js';

/** Parses `runtime=../internal/pkg` style parameters; unknown keys are an error, as protoc plugins do. */
export function parseParameter(parameter: string): GeneratorOptions {
  const options: GeneratorOptions = { runtime: DEFAULT_RUNTIME_DIR };
  for (const pair of parameter
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = pair.indexOf('=');
    const key = eq < 0 ? pair : pair.slice(0, eq);
    const value = eq < 0 ? '' : pair.slice(eq + 1);
    if (key === 'runtime' && value) options.runtime = value.replace(/\/$/, '');
    else if (key === 'openapi' && (value === 'service' || value === 'project')) options.openapi = value;
    else if (key === 'title' && value) options.title = value;
    else if (key === 'version' && value) options.apiVersion = value;
    else
      throw new Error(
        `unknown option "${pair}" (supported: runtime=<dir>, openapi=service|project, title=<text>, version=<text>)`,
      );
  }
  return options;
}

export function protocPlugin(name: string, generate: Generator): Plugin {
  return {
    name,
    version: `v${tskVersion()}`,
    run(request: CodeGeneratorRequest) {
      const registry = createFileRegistry(create(FileDescriptorSetSchema, { file: request.protoFile }));
      const files = request.fileToGenerate.map((f) => {
        const file = registry.getFile(f);
        if (!file) throw new Error(`${f} is not in the request`);
        return file;
      });
      const result = generate({ files, registry, options: parseParameter(request.parameter) });
      const features = BigInt(CodeGeneratorResponse_Feature.PROTO3_OPTIONAL);
      if (result.problems.length > 0) {
        return create(CodeGeneratorResponseSchema, {
          supportedFeatures: features,
          error: result.problems.map(formatDiagnostic).join('\n'),
        });
      }
      return create(CodeGeneratorResponseSchema, {
        supportedFeatures: features,
        file: result.files.map((f) => ({ name: f.path, content: f.content })),
      });
    },
  };
}
