// protoc-gen-tsk-openapi: OpenAPI 3.1 documents of the HTTP API the generated
// servers expose, one per service (`<file>.<Service>.openapi.json`, the default)
// or one for every service in the request (`openapi.json`, option `openapi=project`).
import type { DescFile, DescService } from '@bufbuild/protobuf';
import { servedOverHttp } from '../../gen/http-rules.js';
import type { Diagnostic } from '../../proto/diagnostics.js';
import { buildOpenApi } from '../../gen/openapi.js';
import { fileStem } from '../../gen/names.js';
import { TsFile } from '../../gen/printer.js';
import type { GeneratedFile, Generator } from '../types.js';

/** The file name of the project-wide document. */
export const PROJECT_DOCUMENT = 'openapi.json';

export const generateOpenApi: Generator = ({ files, options }) => {
  const problems: Diagnostic[] = [];
  const out: GeneratedFile[] = [];
  const served = (s: DescService) => s.methods.some((m) => servedOverHttp(m));
  if (options.openapi === 'project') {
    const services = files.flatMap((f) => f.services.filter(served));
    if (services.length > 0)
      out.push({ path: PROJECT_DOCUMENT, content: projectDocument(services, options, problems) });
  } else {
    for (const file of files) {
      for (const service of file.services.filter(served)) {
        const document = buildOpenApi(
          [service],
          { title: options.title ?? service.typeName, version: options.apiVersion ?? apiVersion([service]) },
          problems,
        );
        out.push({ path: `${fileStem(file)}.${service.name}.openapi.json`, content: render(document) });
      }
    }
  }
  return { files: out, problems };
};

/**
 * The one document of every service in `services`, as JSON text; with none, a document
 * without operations (what a project whose last service went serves).
 */
export function projectDocument(
  services: DescService[],
  options: { title?: string | undefined; apiVersion?: string | undefined },
  problems: Diagnostic[],
): string {
  const title = options.title ?? (services.length === 1 ? services[0]!.typeName : 'API');
  return render(buildOpenApi(services, { title, version: options.apiVersion ?? apiVersion(services) }, problems));
}

function render(document: unknown): string {
  return `${JSON.stringify(document, null, 2)}\n`;
}

/**
 * `v1` for services in `helloworld.v1`; `v1, v2` for a document of both (a v2 served beside
 * v1); `0.0.0` when no package carries a version.
 */
function apiVersion(services: DescService[]): string {
  const versions = new Set(services.flatMap((s) => /(?:^|\.)(v\d+\w*)$/.exec(s.file.proto.package)?.[1] ?? []));
  return versions.size === 0 ? '0.0.0' : [...versions].sort(byVersion).join(', ');
}

/** v2 before v10; v1beta1 after v1. */
function byVersion(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}

/**
 * The document as a TypeScript module, for a service to serve without reading files
 * at run time: `export const openApiDocument = {...}`.
 */
export function openApiModule(json: string, files: readonly DescFile[]): string {
  const source = files
    .filter((f) => f.services.length > 0)
    .map((f) => f.proto.name)
    .join(', ');
  return new TsFile('openapi.ts', { source }).print([
    "/** The OpenAPI 3.1 document of this project's HTTP API (tsk proto openapi). */",
    `export const openApiDocument = ${json.trimEnd()};`,
  ]);
}
