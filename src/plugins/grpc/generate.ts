// protoc-gen-tsk-grpc: for each service, `<file>_grpc.ts` with a server interface
// in the runtime's (ctx, request) shape, a function registering it on GrpcServer
// through ts-proto's service definition, and a typed client over GrpcClientConn.
import type { DescService } from '@bufbuild/protobuf';
import { fileStem, methodKey, serviceConstName } from '../../gen/names.js';
import { jsdoc, TsFile } from '../../gen/printer.js';
import { leadingComment } from '../../gen/comments.js';
import type { GeneratedFile, Generator } from '../types.js';

export const generateGrpc: Generator = ({ files, options }) => {
  const out: GeneratedFile[] = [];
  for (const file of files) {
    const services = file.services.filter((s) => s.methods.some((m) => m.methodKind === 'unary'));
    if (services.length === 0) continue;
    const name = `${fileStem(file)}_grpc.ts`;
    const ts = new TsFile(name, { source: file.proto.name, runtime: options.runtime });
    ts.runtime('transport/context.js', 'Context', { type: true });
    for (const n of ['CallOptions', 'GrpcClientConn', 'GrpcServer']) ts.runtime('transport/grpc/index.js', n, { type: true });
    const definitions = services.map((s) => ts.generated(fileStem(file), serviceConstName(s)));
    const body = services.map((s, i) => renderService(s, definitions[i]!, ts)).join('\n\n');
    out.push({ path: name, content: ts.print([body]) });
  }
  return { files: out, problems: [] };
};

function renderService(service: DescService, definition: string, imports: TsFile): string {
  const methods = service.methods.filter((m) => m.methodKind === 'unary').map((m) => ({ method: m, key: methodKey(m), input: imports.message(m.input), output: imports.message(m.output) }));
  return [
    `export interface ${service.name}GRPCServer {`,
    ...methods.map(({ method, key, input, output }) => `${jsdoc(leadingComment(method), '  ')}  ${key}(ctx: Context, request: ${input}): Promise<${output}>;`),
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
