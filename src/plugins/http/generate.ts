// protoc-gen-tsk-http: for each service, `<file>_http.ts` declaring its routes
// (google.api.http bindings + message schemas), a server interface, a function
// registering an implementation on the runtime's HttpServer, and a typed client.
// All binding logic lives in the runtime; this file only declares. Files whose
// requests carry protovalidate rules also get `<file>_rules.ts` (rules.ts).
import type { DescMethod, DescService } from '@bufbuild/protobuf';
import type { Diagnostic } from '../../proto/diagnostics.js';
import { methodBindings, routeConflicts, servedOverHttp, type HttpBinding } from '../../gen/http-rules.js';
import { methodDocText } from '../../gen/comments.js';
import { fileStem, methodKey, operationName } from '../../gen/names.js';
import { jsdoc, TsFile } from '../../gen/printer.js';
import { SchemaWriter } from '../../gen/schema.js';
import type { GeneratedFile, Generator } from '../types.js';
import { generateRules, importServiceRules } from './rules.js';

export const generateHttp: Generator = ({ files, options }) => {
  const out: GeneratedFile[] = [];
  const problems: Diagnostic[] = [];
  for (const file of files) {
    const rules = generateRules(file, options);
    if (rules) out.push(rules);
    const services = file.services.filter((s) => httpMethods(s).length > 0);
    if (services.length === 0) continue;
    problems.push(...routeConflicts(services));
    const name = `${fileStem(file)}_http.ts`;
    const ts = new TsFile(name, { source: file.proto.name, runtime: options.runtime });
    ts.runtime('transport/context.js', 'Context', { type: true });
    const events = services.some((s) => httpMethods(s).some((m) => m.methodKind === 'server_streaming'));
    for (const n of [
      'CallOptions',
      'HttpClient',
      'HttpRoute',
      'HttpServer',
      'MessageSchema',
      ...(events ? ['Send'] : []),
    ])
      ts.runtime('transport/http/index.js', n, { type: true });
    const schemas = new SchemaWriter(ts);
    const body = services.map((s) => renderService(s, ts, schemas, problems)).join('\n\n');
    const content = ts.print([
      '// Field layouts the runtime decodes path variables, query parameters and JSON bodies with.',
      schemas.render(),
      '',
      body,
    ]);
    out.push({ path: name, content });
  }
  return { files: out, problems };
};

function httpMethods(service: DescService): DescMethod[] {
  return service.methods.filter((m) => servedOverHttp(m));
}

function renderService(service: DescService, imports: TsFile, schemas: SchemaWriter, problems: Diagnostic[]): string {
  const methods = httpMethods(service)
    .map((m) => ({
      method: m,
      key: methodKey(m),
      input: imports.message(m.input),
      output: imports.message(m.output),
      bindings: methodBindings(m, problems),
    }))
    .filter((m) => m.bindings.length > 0); // invalid rules were reported; nothing is written then
  const routeConsts = methods.map(({ method, key, input, output, bindings }) => {
    const routes = bindings.map((b) => renderRoute(b, method, input, output, schemas)).join('\n');
    return `const ${service.name}_${key}Routes: HttpRoute<${input}, ${output}>[] = [\n${routes}\n];`;
  });
  const skipped = service.methods
    .filter((m) => !servedOverHttp(m))
    .map((m) => `// ${m.name} is a streaming method without an HTTP rule: served over gRPC only.`);
  const events = (m: DescMethod) => m.methodKind === 'server_streaming';
  const rules = importServiceRules(imports, service);
  if (rules) imports.runtime('middleware/validate.js', 'registerRules');
  return [
    ...skipped,
    ...routeConsts,
    '',
    `/** Every HTTP binding of ${service.typeName}, by method. */`,
    `export const ${service.name}HTTPRoutes = {`,
    ...methods.map(({ key }) => `  ${key}: ${service.name}_${key}Routes,`),
    '};',
    '',
    `export interface ${service.name}HTTPServer {`,
    ...methods.map(({ method, key, input, output }) =>
      events(method)
        ? `${jsdoc(methodDocText(method), '  ')}  ${key}(ctx: Context, request: ${input}, send: Send<${output}>): Promise<void>;`
        : `${jsdoc(methodDocText(method), '  ')}  ${key}(ctx: Context, request: ${input}): Promise<${output}>;`,
    ),
    '}',
    '',
    `/** Serves every binding of ${service.typeName} from \`impl\`. */`,
    `export function register${service.name}HTTPServer(server: HttpServer, impl: ${service.name}HTTPServer): void {`,
    ...(rules ? [`  registerRules(${rules}); // checked by the validate middleware`] : []),
    ...methods.map(({ method, key }) =>
      events(method)
        ? `  for (const route of ${service.name}_${key}Routes) server.streamRoute(route, (ctx, request, send) => impl.${key}(ctx, request, send));`
        : `  for (const route of ${service.name}_${key}Routes) server.route(route, (ctx, request) => impl.${key}(ctx, request));`,
    ),
    '}',
    '',
    `/** Calls ${service.typeName} over HTTP, using each method's first binding${methods.some(({ method }) => events(method)) ? '; server streams are read as Server-Sent Events' : ''}. */`,
    `export class ${service.name}HTTPClient {`,
    '  readonly #client: HttpClient;',
    '',
    '  constructor(client: HttpClient) {',
    '    this.#client = client;',
    '  }',
    ...methods.flatMap(({ method, key, input, output, bindings }) => {
      const [returns, call] = events(method)
        ? [`AsyncIterable<${output}>`, 'stream']
        : [`Promise<${output}>`, 'invoke'];
      return [
        '',
        `${jsdoc(methodDocText(method, `${bindings[0]!.method} ${bindings[0]!.path}`), '  ')}  ${key}(request: ${input}, options?: CallOptions): ${returns} {`,
        `    return this.#client.${call}(${service.name}_${key}Routes[0]!, request, options);`,
        '  }',
      ];
    }),
    '}',
  ].join('\n');
}

function renderRoute(b: HttpBinding, method: DescMethod, input: string, output: string, schemas: SchemaWriter): string {
  const parts = [
    `method: '${b.method}'`,
    `path: '${b.path}'`,
    `operation: '${operationName(method)}'`,
    ...(b.body ? [`body: '${b.body}'`] : []),
    ...(b.responseBody ? [`responseBody: '${b.responseBody}'`] : []),
    `request: ${input}`,
    `requestSchema: ${schemas.ref(method.input)}`,
    `response: ${output}`,
    `responseSchema: ${schemas.ref(method.output)}`,
  ];
  return `  {\n${parts.map((p) => `    ${p},`).join('\n')}\n  },`;
}
