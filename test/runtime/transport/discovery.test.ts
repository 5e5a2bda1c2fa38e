// Clients dialling `discovery:///name`: round-robin over the registered instances,
// following the registry as instances come and go (gRPC through a grpc-js resolver) (an in-memory Discovery here;
// the etcd and Consul implementations are tested against their servers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcClientConn, GrpcServer } from '../../../src/runtime/transport/grpc/index.js';
import { HttpClient, HttpServer, type HttpRoute } from '../../../src/runtime/transport/http/index.js';
import type { Discovery, ServiceInstance, Watcher } from '../../../src/runtime/registry/registry.js';

class MemoryDiscovery implements Discovery {
  private instances: ServiceInstance[] = [];
  private waiting: ((l: ServiceInstance[]) => void)[] = [];
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
      next: () =>
        first ? ((first = false), Promise.resolve(this.instances)) : new Promise((r) => this.waiting.push(r)),
      stop: async () => {},
    };
  }
}

const Msg = { fromJSON: (o: any) => ({ who: String(o?.who ?? '') }), toJSON: (m: { who: string }) => ({ who: m.who }) };
const schema = {
  typeName: 't.Msg',
  fields: [{ name: 'who', jsonName: 'who', kind: 'scalar', scalar: 'string' }],
} as const;
const route: HttpRoute<{ who: string }, { who: string }> = {
  method: 'POST',
  path: '/t.S/Who',
  operation: '/t.S/Who',
  body: '*',
  request: Msg,
  requestSchema: schema,
  response: Msg,
  responseSchema: schema,
};
const whoDef = {
  who: {
    path: '/t.S/Who',
    requestStream: false,
    responseStream: false,
    requestSerialize: (m: { who: string }) => Buffer.from(m.who),
    requestDeserialize: (b: Buffer) => ({ who: b.toString() }),
    responseSerialize: (m: { who: string }) => Buffer.from(m.who),
    responseDeserialize: (b: Buffer) => ({ who: b.toString() }),
  },
};

const discovery = new MemoryDiscovery();
const servers: { http: HttpServer; grpc: GrpcServer; instance: ServiceInstance }[] = [];

beforeAll(async () => {
  for (const id of ['a', 'b']) {
    const http = new HttpServer({ address: '127.0.0.1:0' });
    http.route(route, async () => ({ who: id }));
    const grpc = new GrpcServer({ address: '127.0.0.1:0' });
    grpc.register(whoDef, { who: async () => ({ who: id }) });
    await http.start();
    await grpc.start();
    servers.push({
      http,
      grpc,
      instance: { id, name: 'who', version: '1', metadata: {}, endpoints: [http.endpoint(), grpc.endpoint()] },
    });
  }
  discovery.set(servers.map((s) => s.instance));
});

afterAll(async () => {
  for (const s of servers) {
    await s.http.stop({ timeoutMs: 200 });
    await s.grpc.stop({ timeoutMs: 200 });
  }
});

describe('discovery:/// targets', () => {
  it('HTTP client rotates over instances and follows removals', async () => {
    const client = new HttpClient({ target: 'discovery:///who', discovery });
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await client.invoke(route, { who: '' })).who);
    expect(seen).toEqual(new Set(['a', 'b']));
    discovery.set([servers[0]!.instance]);
    await new Promise((r) => setTimeout(r, 20));
    for (let i = 0; i < 4; i++) expect((await client.invoke(route, { who: '' })).who).toBe('a');
    discovery.set(servers.map((s) => s.instance));
    await client.close();
  });

  it('gRPC client rotates over instances and fails with 503 when none is left', async () => {
    const conn = new GrpcClientConn({ target: 'discovery:///who', discovery });
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(((await conn.invoke(whoDef.who as any, { who: '' })) as { who: string }).who);
    expect(seen).toEqual(new Set(['a', 'b']));
    discovery.set([]);
    await new Promise((r) => setTimeout(r, 20));
    await expect(conn.invoke(whoDef.who as any, { who: '' })).rejects.toMatchObject({
      code: 503,
      reason: 'SERVICE_UNAVAILABLE',
      metadata: { service: 'who', target: 'discovery:///who' },
    });
    discovery.set(servers.map((s) => s.instance));
    await conn.close();
  });

  it('gRPC client skips an instance that died while still registered', async () => {
    const conn = new GrpcClientConn({ target: 'discovery:///who', discovery });
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add(((await conn.invoke(whoDef.who as any, { who: '' })) as { who: string }).who);
    expect(seen).toEqual(new Set(['a', 'b']));
    // b goes away without deregistering (a crash before its lease or check expires).
    await servers[1]!.grpc.stop({ timeoutMs: 0 });
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 6; i++)
      expect(((await conn.invoke(whoDef.who as any, { who: '' })) as { who: string }).who).toBe('a');
    await conn.close();
  });
});
