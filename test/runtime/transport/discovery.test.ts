// Clients dialling `discovery:///name`: round-robin over the registered instances,
// following the registry as instances come and go (gRPC through a grpc-js resolver) (an in-memory Discovery here;
// the etcd and Consul implementations are tested against their servers).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { DiscoveryTarget, versionFilter } from '../../../src/runtime/registry/target.js';
import { GrpcClientConn } from '../../../src/runtime/transport/grpc/index.js';
import { HttpClient, HttpServer } from '../../../src/runtime/transport/http/index.js';
import type { ServiceInstance } from '../../../src/runtime/registry/registry.js';
import { freePort } from '../../helpers/etcd.js';
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
  it('refuses a target with a query or fragment as the client is made: it names a service and nothing else', () => {
    for (const target of ['discovery:///who?version=v1', 'discovery:///who#v1']) {
      expect(() => new HttpClient({ target, discovery })).toThrow(`invalid discovery target "${target}"`);
      expect(() => new GrpcClientConn({ target, discovery })).toThrow('no query or fragment');
    }
  });

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

  it('gRPC client does not keep asking the registry again while a registered instance refuses', async () => {
    const c = await serveWho(async () => ({ who: 'c' }));
    const ghost = await freePort();
    const local = new MemoryDiscovery([
      c.instanceAs('c', 'who'),
      { id: 'ghost', name: 'who', version: '1', metadata: {}, endpoints: [`grpc://127.0.0.1:${ghost}`] },
    ]);
    const conn = new GrpcClientConn({ target: 'discovery:///who', discovery: local });
    const lookups = vi.spyOn(DiscoveryTarget.prototype, 'addresses');
    try {
      for (let i = 0; i < 4; i++) expect((await conn.invoke(whoMethod, { who: '' })).who).toBe('c');
      // grpc-js asks for a new resolution each time the ghost's connection fails; the
      // registry's answer has not changed, so there is nothing new to hand over.
      lookups.mockClear();
      await new Promise((r) => setTimeout(r, 1000));
      expect(lookups.mock.calls.length).toBeLessThan(20);
      expect((await conn.invoke(whoMethod, { who: '' })).who).toBe('c');
    } finally {
      lookups.mockRestore();
      await conn.close();
      await c.http.stop({ timeoutMs: 0 });
      await c.grpc.stop({ timeoutMs: 0 });
    }
  });

  it('HTTP client skips an instance that died while still registered, and no call fails', async () => {
    const c = await serveWho(async () => ({ who: 'c' }));
    const d = await serveWho(async () => ({ who: 'd' }));
    const local = new MemoryDiscovery([c.instanceAs('c', 'who'), d.instanceAs('d', 'who')]);
    const client = new HttpClient({ target: 'discovery:///who', discovery: local });
    const seen = new Set<string>();
    for (let i = 0; i < 4; i++) seen.add((await client.invoke(route, { who: '' })).who);
    expect(seen).toEqual(new Set(['c', 'd']));
    // d goes away without deregistering (a crash before its lease or check expires).
    await d.http.stop({ timeoutMs: 0 });
    for (let i = 0; i < 6; i++) expect((await client.invoke(route, { who: '' })).who).toBe('c');
    await client.close();
    await c.http.stop({ timeoutMs: 0 });
    await Promise.all([c.grpc.stop({ timeoutMs: 0 }), d.grpc.stop({ timeoutMs: 0 })]);
  });

  it('HTTP client tries a refused instance again later, and calls it once it listens', async () => {
    const c = await serveWho(async () => ({ who: 'c' }));
    const port = await freePort();
    const local = new MemoryDiscovery([
      c.instanceAs('c', 'who'),
      { id: 'late', name: 'who', version: '1', metadata: {}, endpoints: [`http://127.0.0.1:${port}`] },
    ]);
    const client = new HttpClient({ target: 'discovery:///who', discovery: local });
    for (let i = 0; i < 4; i++) expect((await client.invoke(route, { who: '' })).who).toBe('c');
    const late = new HttpServer({ address: `127.0.0.1:${port}` });
    late.route(route, async () => ({ who: 'late' }));
    await late.start();
    const seen = new Set<string>();
    const until = Date.now() + 10_000;
    while (!seen.has('late') && Date.now() < until) {
      seen.add((await client.invoke(route, { who: '' })).who);
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(seen).toEqual(new Set(['c', 'late']));
    await client.close();
    await late.stop({ timeoutMs: 0 });
    await c.http.stop({ timeoutMs: 0 });
    await c.grpc.stop({ timeoutMs: 0 });
  });

  it('HTTP client with every instance refusing fails 503 naming the service', async () => {
    const ports = [await freePort(), await freePort()];
    const local = new MemoryDiscovery(
      ports.map((port, i) => ({
        id: `gone-${i}`,
        name: 'who',
        version: '1',
        metadata: {},
        endpoints: [`http://127.0.0.1:${port}`],
      })),
    );
    const client = new HttpClient({ target: 'discovery:///who', discovery: local });
    for (let i = 0; i < 3; i++)
      await expect(client.invoke(route, { who: '' })).rejects.toMatchObject({
        code: 503,
        reason: 'SERVICE_UNAVAILABLE',
        metadata: { service: 'who', target: 'discovery:///who' },
      });
    await client.close();
  });
});

describe('an instance filter (clients.<service>.version)', () => {
  const versions = new MemoryDiscovery();
  const started: WhoServers[] = [];

  beforeAll(async () => {
    const instances: ServiceInstance[] = [];
    for (const [id, version] of [
      ['old-1', '1.0.0'],
      ['old-2', '1.0.0'],
      ['canary', '2.0.0'],
    ] as const) {
      const who = await serveWho(async () => ({ who: id }));
      started.push(who);
      instances.push({ ...who.instanceAs(id, 'who'), version });
    }
    versions.set(instances);
  });

  afterAll(async () => {
    for (const who of started) {
      await who.http.stop({ timeoutMs: 200 });
      await who.grpc.stop({ timeoutMs: 200 });
    }
  });

  it('sends every call to the instances of that version, over both transports', async () => {
    const http = new HttpClient({
      target: 'discovery:///who',
      discovery: versions,
      instanceFilter: versionFilter('2.0.0'),
    });
    const conn = new GrpcClientConn({
      target: 'discovery:///who',
      discovery: versions,
      instanceFilter: versionFilter('2.0.0'),
    });
    const old = new GrpcClientConn({
      target: 'discovery:///who',
      discovery: versions,
      instanceFilter: versionFilter('1.0.0'),
    });
    try {
      for (let i = 0; i < 6; i++) {
        expect((await http.invoke(route, { who: '' })).who).toBe('canary');
        expect((await conn.invoke(whoMethod, { who: '' })).who).toBe('canary');
      }
      const seen = new Set<string>();
      for (let i = 0; i < 6; i++) seen.add((await old.invoke(whoMethod, { who: '' })).who);
      expect(seen).toEqual(new Set(['old-1', 'old-2']));
    } finally {
      await Promise.all([http.close(), conn.close(), old.close()]);
    }
  });

  it('fails 503 naming the version when no instance of it is registered, and never calls another', async () => {
    const http = new HttpClient({
      target: 'discovery:///who',
      discovery: versions,
      instanceFilter: versionFilter('3.0.0'),
    });
    const conn = new GrpcClientConn({
      target: 'discovery:///who',
      discovery: versions,
      instanceFilter: versionFilter('3.0.0'),
    });
    const unavailable = {
      code: 503,
      reason: 'SERVICE_UNAVAILABLE',
      message: expect.stringContaining('no instance of version 3.0.0 with a'),
    };
    try {
      await expect(http.invoke(route, { who: '' })).rejects.toMatchObject(unavailable);
      await expect(conn.invoke(whoMethod, { who: '' })).rejects.toMatchObject(unavailable);
    } finally {
      await Promise.all([http.close(), conn.close()]);
    }
  });

  it('is refused on an address target, which has no instances to choose from', () => {
    const instanceFilter = versionFilter('2.0.0');
    expect(() => new HttpClient({ target: 'http://127.0.0.1:1', instanceFilter })).toThrow(
      'an instance filter (version 2.0.0) needs a discovery:/// target',
    );
    expect(() => new GrpcClientConn({ target: '127.0.0.1:1', instanceFilter })).toThrow('needs a discovery:/// target');
  });
});
