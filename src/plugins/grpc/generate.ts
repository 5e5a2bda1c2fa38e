// protoc-gen-tsk-grpc: for each service, `<file>_grpc.ts` with a server interface
// in the runtime's (ctx, request) shape, a function registering it on GrpcServer
// through ts-proto's service definition, and a typed client over GrpcClientConn.
import type { DescService } from '@bufbuild/protobuf';
import { fileStem, generatedSource, importPath, ImportSet, methodKey, runtimeImport, serviceConstName } from '../../gen/names.js';
import { docComment } from '../http/generate.js';
import type { GeneratedFile, Generator } from '../types.js';

export const generateGrpc: Generator = ({ files, options }) => {
  const out: GeneratedFile[] = [];
  for (const file of files) {
    const services = file.services.filter((s) => s.methods.some((m) => m.methodKind === 'unary'));
    if (services.length === 0) continue;
    const name = `${fileStem(file)}_grpc.ts`;
    const imports = new ImportSet(name, ['Context', 'CallOptions', 'GrpcClientConn', 'GrpcServer']);
    const definitions = services.map((s) => imports.named(importPath(name, fileStem(file)), serviceConstName(s)));
    const body = services.map((s, i) => renderService(s, definitions[i]!, imports)).join('\n\n');
    const importLines = [
      `import type { Context } from '${runtimeImport(name, options.runtime, 'transport/context.js')}';`,
      `import type { CallOptions, GrpcClientConn, GrpcServer } from '${runtimeImport(name, options.runtime, 'transport/grpc/index.js')}';`,
      imports.render(),
    ];
    out.push({ path: name, content: generatedSource(file.proto.name, importLines, [body]) });
  }
  return { files: out, problems: [] };
};

function renderService(service: DescService, definition: string, imports: ImportSet): string {
  const methods = service.methods.filter((m) => m.methodKind === 'unary').map((m) => ({ method: m, key: methodKey(m), input: imports.type(m.input), output: imports.type(m.output) }));
  return [
    `export interface ${service.name}GRPCServer {`,
    ...methods.map(({ method, key, input, output }) => `${docComment(method, '  ')}  ${key}(ctx: Context, request: ${input}): Promise<${output}>;`),
    '}',
    '',
    `/** Serves ${service.typeName}'s unary methods from \`impl\` (streaming methods answer UNIMPLEMENTED). */`,
    `export function register${service.name}GRPCServer(server: GrpcServer, impl: ${service.name}GRPCServer): void {`,
    `  server.register(${definition}, {`,
    ...methods.map(({ key, input }) => `    ${key}: (ctx: Context, request: ${input}) => impl.${key}(ctx, request),`),
    '  });',
    '}',
    '',
    `/** Calls ${service.typeName} over gRPC. */`,
    `export class ${service.name}GRPCClient {`,
    '  constructor(private readonly conn: GrpcClientConn) {}',
    ...methods.flatMap(({ key, input, output }) => [
      '',
      `  ${key}(request: ${input}, options?: CallOptions): Promise<${output}> {`,
      `    return this.conn.invoke(${definition}.${key}, request, options);`,
      '  }',
    ]),
    '}',
  ].join('\n');
}
