// api/services.ts: every service the project's protos declare, in one place. Its
// `Services` type is what the project's services.ts (cmd/<name>/) builds (one entry per service),
// and its two functions serve them all on the HTTP and gRPC servers. A service added
// to a proto is then served once it is built, and until it is, the build names it.
import type { DescFile, DescService } from '@bufbuild/protobuf';
import { servedOverHttp } from './http-rules.js';
import { fileStem } from './names.js';
import { jsdoc, TsFile } from './printer.js';
import type { GeneratedFile } from './file.js';

/**
 * The module for the services of `files` (paths relative to the project's `api/`
 * root), importing the runtime from `runtime` (relative to the module). Without a
 * service it is still written: a project whose last service was deleted must not keep
 * a module importing that service's removed files.
 */
export function servicesModule(files: readonly DescFile[], runtime: string): GeneratedFile {
  const services = files.flatMap((f) => f.services).filter((s) => s.methods.length > 0);
  const keys = serviceKeys(services);
  const ts = new TsFile('services.ts', { runtime });
  const http = ts.runtime('transport/http/index.js', 'HttpServer', { type: true });
  const grpc = ts.runtime('transport/grpc/index.js', 'GrpcServer', { type: true });
  ts.reserve('Services', 'registerHTTPServices', 'registerGRPCServices');
  const entries: string[] = [];
  const httpLines: string[] = [];
  const grpcLines: string[] = [];
  for (const service of services) {
    const key = keys.get(service)!;
    const stem = fileStem(service.file);
    const grpcType = ts.generated(`${stem}_grpc`, `${service.name}GRPCServer`, { type: true });
    const types = [grpcType];
    if (service.methods.some(servedOverHttp)) {
      types.unshift(ts.generated(`${stem}_http`, `${service.name}HTTPServer`, { type: true }));
      httpLines.push(
        `  ${ts.generated(`${stem}_http`, `register${service.name}HTTPServer`)}(server, services.${key});`,
      );
    }
    grpcLines.push(`  ${ts.generated(`${stem}_grpc`, `register${service.name}GRPCServer`)}(server, services.${key});`);
    entries.push(`${jsdoc(service.typeName, '  ')}  ${key}: ${types.join(' & ')};`);
  }
  // A function with nothing to register leaves its parameters unused.
  const params = (lines: string[], server: string) =>
    lines.length > 0 ? `server: ${server}, services: Services` : `_server: ${server}, _services: Services`;
  const body = (lines: string[]) => (lines.length > 0 ? `{\n${lines.join('\n')}\n}` : '{}');
  // With no service, any entry the project's services.ts still builds fails the build, naming it.
  const type =
    entries.length > 0
      ? `/** What newServices (cmd/<name>/services.ts) builds: one implementation of each service the protos under api/ declare. */
export interface Services {
${entries.join('\n')}
}`
      : `/** What newServices (cmd/<name>/services.ts) builds: nothing, since the protos under api/ declare no service. */
export type Services = Record<string, never>;`;
  const content = ts.print([
    `${type}

/** Serves the HTTP routes of every service on \`server\`. */
export function registerHTTPServices(${params(httpLines, http)}): void ${body(httpLines)}

/** Serves every service on the gRPC \`server\`. */
export function registerGRPCServices(${params(grpcLines, grpc)}): void ${body(grpcLines)}`,
  ]);
  return { path: 'api/services.ts', content };
}

/**
 * Each service's property in `Services`: its name less a `Service` suffix, first letter
 * lowered (`Greeter` -> `greeter`, `OrderService` -> `order`); names two packages share
 * are qualified by package (`shopV1Order`).
 */
export function serviceKeys(services: readonly DescService[]): Map<DescService, string> {
  const count = new Map<string, number>();
  for (const s of services) count.set(shortServiceKey(s), (count.get(shortServiceKey(s)) ?? 0) + 1);
  return new Map(
    services.map((s) => {
      const key = shortServiceKey(s);
      if (count.get(key) === 1) return [s, key];
      const words = [...s.file.proto.package.split('.'), key];
      return [s, lowerFirst(words.map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join(''))];
    }),
  );
}

/** A service's key when no other package has a service of its name: `OrderService` -> `order`. */
export function shortServiceKey(service: DescService): string {
  return lowerFirst(service.name.replace(/(.)Service$/, '$1'));
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}
