// Clients dialling `discovery:///name`: round-robin over the registered instances,
// following the registry as instances come and go (gRPC through a grpc-js resolver) (an in-memory Discovery here;
// the etcd and Consul implementations are tested against their servers).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GrpcClientConn } from '../../../src/runtime/transport/grpc/index.js';
import { HttpClient } from '../../../src/runtime/transport/http/index.js';
import type { ServiceInstance } from '../../../src/runtime/registry/registry.js';
import { MemoryDiscovery, serveWho, whoMethod, whoRoute as route, type WhoServers } from '../../helpers/who-service.js';

const discovery = new MemoryDiscovery();
const servers: { who: WhoServers; instance: ServiceInstance }[] = [];

beforeAll(async () => {
  for (const id of ['a', 'b']) {
    const who = await serveWho(async () => ({ who: id }));
    servers.push({ who, instance: who.instanceAs(id, 'who') });
  }
  discovery.set(servers.map((s) => s.instance));
});

afterAll(async () => {
  for (const s of servers) {
    await s.who.http.stop({ timeoutMs: 200 });
    await s.who.grpc.stop({ timeoutMs: 200 });
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
    for (let i = 0; i < 4; i++) seen.add((await conn.invoke(whoMethod, { who: '' })).who);
    expect(seen).toEqual(new Set(['a', 'b']));
    discovery.set([]);
    await new Promise((r) => setTimeout(r, 20));
    await expect(conn.invoke(whoMethod, { who: '' })).rejects.toMatchObject({
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
    for (let i = 0; i < 4; i++) seen.add((await conn.invoke(whoMethod, { who: '' })).who);
    expect(seen).toEqual(new Set(['a', 'b']));
    // b goes away without deregistering (a crash before its lease or check expires).
    await servers[1]!.who.grpc.stop({ timeoutMs: 0 });
    await new Promise((r) => setTimeout(r, 200));
    for (let i = 0; i < 6; i++) expect((await conn.invoke(whoMethod, { who: '' })).who).toBe('a');
    await conn.close();
  });
});
