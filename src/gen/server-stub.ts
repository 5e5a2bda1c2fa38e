// `tsk proto server`: one file per service with a class implementing it for both
// transports, every method answering 501 until the user writes it. These files
// belong to the user once written (never regenerated over).
import path from 'node:path';
import type { DescMethod, DescService } from '@bufbuild/protobuf';
import { fileStem, methodKey } from './names.js';
import { importPath, TsFile } from './printer.js';

export interface StubInput {
  service: DescService;
  /** Absolute directory the stub goes to. */
  targetDir: string;
  /** Absolute import root the proto (and its generated files) live under. */
  protoRoot: string;
  /** Absolute runtime directory (internal/pkg). */
  runtimeDir: string;
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

export function renderServerStub({ service, targetDir, protoRoot, runtimeDir }: StubInput): string {
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
  ts.import(runtime('transport/http/index'), 'HttpServer', { type: true });
  ts.import(runtime('transport/grpc/index'), 'GrpcServer', { type: true });
  const stem = fileStem(service.file);
  for (const transport of ['GRPC', 'HTTP']) {
    ts.generated(`${stem}_${transport.toLowerCase()}`, `register${service.name}${transport}Server`);
    ts.generated(`${stem}_${transport.toLowerCase()}`, `${service.name}${transport}Server`, { type: true });
  }
  if (service.methods.some((m) => m.methodKind !== 'unary'))
    ts.import(runtime('transport/grpc/index'), 'Send', { type: true });
  const methodLines = service.methods.flatMap((m) => [
    '',
    `  async ${methodKey(m)}(_ctx: Context, ${stubParams(m, ts.message(m.input, { type: true }), ts.message(m.output, { type: true }))} {`,
    `    throw notImplemented('NOT_IMPLEMENTED', '${service.typeName}.${m.name} is not implemented yet');`,
    '  }',
  ]);
  return ts.print([
    `/** Implements ${service.typeName} for both transports. */
export class ${className} implements ${service.name}HTTPServer, ${service.name}GRPCServer {${methodLines.join('\n')}
}

/** Serves the service on the HTTP and gRPC servers given. */
export function register${className}(servers: { http?: HttpServer; grpc?: GrpcServer }, service: ${className}): void {
  if (servers.http) register${service.name}HTTPServer(servers.http, service);
  if (servers.grpc) register${service.name}GRPCServer(servers.grpc, service);
}`,
  ]);
}

/** A stub method's parameters after ctx, and its return type, by kind (the gRPC interface's shapes). */
function stubParams(method: DescMethod, input: string, output: string): string {
  switch (method.methodKind) {
    case 'server_streaming':
      return `_request: ${input}, _send: Send<${output}>): Promise<void>`;
    case 'client_streaming':
      return `_requests: AsyncIterable<${input}>): Promise<${output}>`;
    case 'bidi_streaming':
      return `_requests: AsyncIterable<${input}>, _send: Send<${output}>): Promise<void>`;
    default:
      return `_request: ${input}): Promise<${output}>`;
  }
}
