// The shape every tsk generator shares: a pure function from descriptors to files.
import type { DescFile, Registry } from '@bufbuild/protobuf';
import type { Diagnostic } from '../proto/diagnostics.js';
import type { GeneratedFile } from '../gen/file.js';

/** A generator's file: `path` is relative to the output root, e.g. `helloworld/v1/greeter_http.ts`. */
export type { GeneratedFile } from '../gen/file.js';

export interface GeneratorOptions {
  /** Runtime directory relative to the output root (plugin option `runtime`); default `../internal/pkg`. */
  runtime: string;
  /** OpenAPI documents: one per service (default) or one for the whole request (`openapi=project`). */
  openapi?: 'service' | 'project' | undefined;
  /** OpenAPI `info.title` (`title=...`); default: the service's full name. */
  title?: string | undefined;
  /** OpenAPI `info.version` (`version=...`); default: the package's version suffix (`v1`). */
  apiVersion?: string | undefined;
}

export interface GeneratorInput {
  files: readonly DescFile[];
  registry: Registry;
  options: GeneratorOptions;
}

export interface GeneratorOutput {
  files: GeneratedFile[];
  /** Mistakes in the protos (bad HTTP rules); when non-empty nothing should be written. */
  problems: Diagnostic[];
}

export type Generator = (input: GeneratorInput) => GeneratorOutput;

export const DEFAULT_RUNTIME_DIR = '../internal/pkg';
