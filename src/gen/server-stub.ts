// `tsk proto server`: one file per service with a class implementing it for both
// transports, every method answering 501 until the user writes it. These files
// belong to the user once written (never regenerated over).
import path from 'node:path';
import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { fileStem, methodKey } from './names.js';
import { fitList, importPath, LINE_WIDTH, TsFile } from './printer.js';

export interface StubInput {
  service: DescService;
  /** Absolute directory the stub goes to. */
  targetDir: string;
  /** Absolute import root the proto (and its generated files) live under. */
  protoRoot: string;
  /** Absolute runtime directory (internal/pkg). */
  runtimeDir: string;
  /**
   * Whether the project's servers serve what api/services.ts lists: then the stub has no
   * register function of its own, which would serve the service a second time if called.
   */
  servedByServicesModule?: boolean;
}

export function stubFileName(service: DescService): string {
  return `${
    service.name
      .replace(/Service$/, '')
      .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
      .toLowerCase() || 'service'
  }.ts`;
}

/** The stub's class: the service's name, with `Service` appended unless it ends so. */
export function stubClassName(service: DescService): string {
  return service.name.endsWith('Service') ? service.name : `${service.name}Service`;
}

export function renderServerStub({
  service,
  targetDir,
  protoRoot,
  runtimeDir,
  servedByServicesModule = false,
}: StubInput): string {
  const stubPath = path.join(targetDir, stubFileName(service));
  // Imports are computed between absolute paths: the stub may live anywhere in the project.
  const moduleOf = (absNoExt: string) => importPath(stubPath, absNoExt);
  const generated = (stem: string) => moduleOf(path.join(protoRoot, stem));
  const runtime = (module: string) => moduleOf(path.join(runtimeDir, module));
  const className = stubClassName(service);
  // The user's file from then on: no generated-code header.
  const ts = new TsFile(stubPath, { generated: false, reserved: [className], moduleOf: generated });
  ts.import(runtime('transport/context'), 'Context', { type: true });
  ts.import(runtime('errors/errors'), 'notImplemented');
  const register = !servedByServicesModule;
  if (register) {
    ts.import(runtime('transport/http/index'), 'HttpServer', { type: true });
    ts.import(runtime('transport/grpc/index'), 'GrpcServer', { type: true });
  }
  const stem = fileStem(service.file);
  for (const transport of ['GRPC', 'HTTP']) {
    if (register) ts.generated(`${stem}_${transport.toLowerCase()}`, `register${service.name}${transport}Server`);
    ts.generated(`${stem}_${transport.toLowerCase()}`, `${service.name}${transport}Server`, { type: true });
  }
  if (service.methods.some((m) => m.methodKind !== 'unary'))
    ts.import(runtime('transport/grpc/index'), 'Send', { type: true });
  const methodLines = service.methods.flatMap((m) => {
    const { params, returns } = stubSignature(
      m,
      ts.message(m.input, { type: true }),
      ts.message(m.output, { type: true }),
    );
    return [
      '',
      fitList('  ', `async ${methodKey(m)}(`, ['_ctx: Context', ...params], `): ${returns} {`),
      fitList(
        '    ',
        'throw notImplemented(',
        ["'NOT_IMPLEMENTED'", `'${service.typeName}.${m.name} is not implemented yet'`],
        ');',
      ),
      '  }',
    ];
  });
  return ts.print([
    `/** Implements ${service.typeName} for both transports. */
${classHead(className, [`${service.name}HTTPServer`, `${service.name}GRPCServer`])}${methodLines.join('\n')}
}${
      register
        ? `

/** Serves the service on the HTTP and gRPC servers given. */
${fitList('', `export function register${className}(`, ['servers: { http?: HttpServer; grpc?: GrpcServer }', `service: ${className}`], '): void {')}
  if (servers.http) register${service.name}HTTPServer(servers.http, service);
  if (servers.grpc) register${service.name}GRPCServer(servers.grpc, service);
}`
        : ''
    }`,
  ]);
}

/**
 * `export class X implements A, B {`; when too long, the implements clause on a line of
 * its own, and when that is too long too, one interface per line (the formatter's shapes).
 */
function classHead(className: string, interfaces: string[]): string {
  const flat = `export class ${className} implements ${interfaces.join(', ')} {`;
  if (flat.length <= LINE_WIDTH) return flat;
  const clause = `  implements ${interfaces.join(', ')}`;
  const implementsLines =
    clause.length <= LINE_WIDTH ? clause : `  implements\n${interfaces.map((i) => `    ${i}`).join(',\n')}`;
  return `export class ${className}\n${implementsLines}\n{`;
}

/** A stub method's parameters after ctx and its return type, by kind (the gRPC interface's shapes). */
function stubSignature(method: DescMethod, input: string, output: string): { params: string[]; returns: string } {
  switch (method.methodKind) {
    case 'server_streaming':
      return { params: [`_request: ${input}`, `_send: Send<${output}>`], returns: 'Promise<void>' };
    case 'client_streaming':
      return { params: [`_requests: AsyncIterable<${input}>`], returns: `Promise<${output}>` };
    case 'bidi_streaming':
      return { params: [`_requests: AsyncIterable<${input}>`, `_send: Send<${output}>`], returns: 'Promise<void>' };
    default:
      return { params: [`_request: ${input}`], returns: `Promise<${output}>` };
  }
}
