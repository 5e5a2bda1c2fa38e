// protoc-gen-tsk-grpc: for each service, `<file>_grpc.ts` with a server interface
// in the runtime's (ctx, request) shape (streaming methods in the shapes of the
// runtime's grpc/stream.ts), a function registering it on GrpcServer through
// ts-proto's service definition, and a typed client over GrpcClientConn.
import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { fileStem, methodKey, methodNameProblems, serviceConstName } from '../../gen/names.js';
import { jsdoc, TsFile } from '../../gen/printer.js';
import { methodDocText } from '../../gen/comments.js';
import type { GeneratedFile, Generator } from '../types.js';
import { importServiceRules } from '../http/rules.js';

export const generateGrpc: Generator = ({ files, options }) => {
  const out: GeneratedFile[] = [];
  const problems = files.flatMap((file) => methodNameProblems(file.services));
  if (problems.length > 0) return { files: [], problems };
  for (const file of files) {
    const services = file.services.filter((s) => s.methods.length > 0);
    if (services.length === 0) continue;
    const name = `${fileStem(file)}_grpc.ts`;
    const ts = new TsFile(name, { source: file.proto.name, runtime: options.runtime });
    ts.runtime('transport/context.js', 'Context', { type: true });
    const streams = services.some((s) => s.methods.some((m) => m.methodKind !== 'unary'));
    for (const n of ['CallOptions', 'GrpcClientConn', 'GrpcServer', ...(streams ? ['Send'] : [])])
      ts.runtime('transport/grpc/index.js', n, { type: true });
    const definitions = services.map((s) => ts.generated(fileStem(file), serviceConstName(s)));
    const body = services.map((s, i) => renderService(s, definitions[i]!, ts)).join('\n\n');
    out.push({ path: name, content: ts.print([body]) });
  }
  return { files: out, problems: [] };
};

/**
 * How each kind of method looks: the server's parameters after ctx and what it
 * returns, and the client's parameter, return type and GrpcClientConn call.
 */
function shapes(method: DescMethod, input: string, output: string) {
  switch (method.methodKind) {
    case 'server_streaming':
      return {
        params: `request: ${input}, send: Send<${output}>`,
        args: 'request, send',
        returns: 'Promise<void>',
        clientParam: `request: ${input}`,
        clientReturns: `AsyncIterable<${output}>`,
        call: 'serverStream',
      };
    case 'client_streaming':
      return {
        params: `requests: AsyncIterable<${input}>`,
        args: 'requests',
        returns: `Promise<${output}>`,
        clientParam: `requests: AsyncIterable<${input}> | Iterable<${input}>`,
        clientReturns: `Promise<${output}>`,
        call: 'clientStream',
      };
    case 'bidi_streaming':
      return {
        params: `requests: AsyncIterable<${input}>, send: Send<${output}>`,
        args: 'requests, send',
        returns: 'Promise<void>',
        clientParam: `requests: AsyncIterable<${input}> | Iterable<${input}>`,
        clientReturns: `AsyncIterable<${output}>`,
        call: 'bidiStream',
      };
    default:
      return {
        params: `request: ${input}`,
        args: 'request',
        returns: `Promise<${output}>`,
        clientParam: `request: ${input}`,
        clientReturns: `Promise<${output}>`,
        call: 'invoke',
      };
  }
}

function renderService(service: DescService, definition: string, imports: TsFile): string {
  const methods = service.methods.map((m) => ({
    method: m,
    key: methodKey(m),
    ...shapes(m, imports.message(m.input), imports.message(m.output)),
  }));
  const rules = importServiceRules(imports, service);
  if (rules) imports.runtime('middleware/validate.js', 'registerRules');
  return [
    `export interface ${service.name}GRPCServer {`,
    ...methods.map(
      ({ method, key, params, returns }) =>
        `${jsdoc(methodDocText(method), '  ')}  ${key}(ctx: Context, ${params}): ${returns};`,
    ),
    '}',
    '',
    `/** Serves ${service.typeName} from \`impl\`. */`,
    `export function register${service.name}GRPCServer(server: GrpcServer, impl: ${service.name}GRPCServer): void {`,
    ...(rules ? [`  registerRules(${rules}); // checked by the validate middleware`] : []),
    `  server.register(${definition}, {`,
    ...methods.map(({ key, params, args }) => `    ${key}: (ctx: Context, ${params}) => impl.${key}(ctx, ${args}),`),
    '  });',
    '}',
    '',
    `/** Calls ${service.typeName} over gRPC. */`,
    `export class ${service.name}GRPCClient {`,
    '  readonly #conn: GrpcClientConn;',
    '',
    '  constructor(conn: GrpcClientConn) {',
    '    this.#conn = conn;',
    '  }',
    ...methods.flatMap(({ method, key, clientParam, clientReturns, call, args }) => [
      '',
      `${jsdoc(methodDocText(method), '  ')}  ${key}(${clientParam}, options?: CallOptions): ${clientReturns} {`,
      `    return this.#conn.${call}(${definition}.${key}, ${args.split(',')[0]}, options);`,
      '  }',
    ]),
    '}',
  ].join('\n');
}
