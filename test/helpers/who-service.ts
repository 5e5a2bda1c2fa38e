// A one-method service, `/t.S/Who`, served over HTTP and gRPC on loopback, and an
// in-memory registry, for the tests of clients that find instances through discovery.
import type * as grpc from '@grpc/grpc-js';
import type { Discovery, ServiceInstance, Watcher } from '../../src/runtime/registry/registry.js';
import { GrpcServer, type GrpcServerOptions } from '../../src/runtime/transport/grpc/index.js';
import { HttpServer, type HttpRoute } from '../../src/runtime/transport/http/index.js';

export interface Who {
  who: string;
}

const Msg = { fromJSON: (o: any) => ({ who: String(o?.who ?? '') }), toJSON: (m: Who) => ({ who: m.who }) };
const schema = {
  typeName: 't.Msg',
  fields: [{ name: 'who', jsonName: 'who', kind: 'scalar', scalar: 'string' }],
} as const;

/** `POST /t.S/Who` with the message as its JSON body. */
export const whoRoute: HttpRoute<Who, Who> = {
  method: 'POST',
  path: '/t.S/Who',
  operation: '/t.S/Who',
  body: '*',
  request: Msg,
  requestSchema: schema,
  response: Msg,
  responseSchema: schema,
};

const toBytes = (m: Who) => Buffer.from(m.who);
const fromBytes = (b: Buffer): Who => ({ who: b.toString() });

/** The gRPC service definition; its message is the `who` string's bytes. */
export const whoService = {
  who: {
    path: '/t.S/Who',
    requestStream: false,
    responseStream: false,
    requestSerialize: toBytes,
    requestDeserialize: fromBytes,
    responseSerialize: toBytes,
    responseDeserialize: fromBytes,
  },
};
export const whoMethod = whoService.who as grpc.MethodDefinition<Who, Who>;

export interface WhoServers {
  http: HttpServer;
  grpc: GrpcServer;
  /** The instance that registers both servers' endpoints as `name`. */
  instanceAs(id: string, name: string): ServiceInstance;
}

/** Starts `/t.S/Who` over HTTP and gRPC on free loopback ports, answered by `handler`. */
export async function serveWho(
  handler: (ctx: unknown, req: Who) => Promise<Who>,
  grpcOptions: GrpcServerOptions = {},
): Promise<WhoServers> {
  const http = new HttpServer({ address: '127.0.0.1:0' });
  http.route(whoRoute, handler);
  const grpcServer = new GrpcServer({ address: '127.0.0.1:0', ...grpcOptions });
  grpcServer.register(whoService, { who: handler });
  await http.start();
  await grpcServer.start();
  return {
    http,
    grpc: grpcServer,
    instanceAs: (id, name) => ({
      id,
      name,
      version: '1',
      metadata: {},
      endpoints: [http.endpoint(), grpcServer.endpoint()],
    }),
  };
}

/** A registry in memory: the instances last `set`, and watchers told of each change. */
export class MemoryDiscovery implements Discovery {
  private waiting: ((instances: ServiceInstance[]) => void)[] = [];

  constructor(private instances: ServiceInstance[] = []) {}

  set(instances: ServiceInstance[]): void {
    this.instances = instances;
    for (const w of this.waiting.splice(0)) w(instances);
  }

  async getService(): Promise<ServiceInstance[]> {
    return this.instances;
  }

  async watch(): Promise<Watcher> {
    let first = true;
    return {
      next: () => {
        if (!first) return new Promise((resolve) => this.waiting.push(resolve));
        first = false;
        return Promise.resolve(this.instances);
      },
      stop: async () => {},
    };
  }
}
