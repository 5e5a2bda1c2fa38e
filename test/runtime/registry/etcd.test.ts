// EtcdRegistry against a real etcd server started by the test.
import fs from 'node:fs';
import { Etcd3 } from 'etcd3';
import { describe, expect, it } from 'vitest';
import { EtcdRegistry } from '../../../src/runtime/registry/etcd.js';
import { DiscoveryTarget } from '../../../src/runtime/registry/target.js';
import type { ServiceInstance } from '../../../src/runtime/registry/registry.js';
import { EtcdProcess, etcdAvailable, etcdForTests, freePort } from '../../helpers/etcd.js';

const instance = (id: string, port: number): ServiceInstance => ({
  id,
  name: 'greeter',
  version: 'v1',
  metadata: { zone: 'a' },
  endpoints: [`http://127.0.0.1:${port}`, `grpc://127.0.0.1:${port + 1}`],
});

async function eventually(check: () => Promise<boolean>, what: string, tries = 150): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe.skipIf(!etcdAvailable() && !process.env['CI'])('EtcdRegistry (real etcd)', () => {
  const live = etcdForTests();

  it('registers under the prefix, discovers, watches, and deregisters', async () => {
    const registry = new EtcdRegistry({ endpoints: [live.etcd.endpoint], ttlSeconds: 5 });
    const a = instance('a', 8000);
    await registry.register(a);
    const raw = await live.admin.get('/microservices/greeter/a').string();
    expect(JSON.parse(raw!)).toEqual(a);
    expect(await registry.getService('greeter')).toEqual([a]);

    const target = await DiscoveryTarget.open(registry, 'discovery:///greeter', 'grpc');
    expect(target.addresses()).toEqual(['127.0.0.1:8001']);
    const b = instance('b', 8010);
    await registry.register(b);
    await eventually(async () => target.addresses().length === 2, 'second instance to appear');
    expect(new Set([target.pick(), target.pick()])).toEqual(new Set(['127.0.0.1:8001', '127.0.0.1:8011']));
    await registry.deregister(b);
    await eventually(async () => target.addresses().length === 1, 'second instance to leave');
    await registry.deregister(a);
    expect(await live.admin.get('/microservices/greeter/a').string()).toBeNull();
    await target.close();
    await registry.close();
  });

  it('re-registers after its lease is lost', async () => {
    const registry = new EtcdRegistry({ endpoints: [live.etcd.endpoint], ttlSeconds: 2 });
    const c = instance('c', 8020);
    await registry.register(c);
    const res = await live.admin.get('/microservices/greeter/c').exec();
    const leaseId = res.kvs[0]!.lease;
    await live.admin.leaseClient.leaseRevoke({ ID: leaseId });
    expect(await live.admin.get('/microservices/greeter/c').string()).toBeNull();
    await eventually(
      async () => (await live.admin.get('/microservices/greeter/c').string()) !== null,
      're-registration',
    );
    const again = await live.admin.get('/microservices/greeter/c').exec();
    expect(again.kvs[0]!.lease).not.toBe(leaseId);
    await registry.deregister(c);
    await registry.close();
  });

  it('fails fast at start by default, or starts and registers once etcd appears with startup "retry"', async () => {
    const down = `http://127.0.0.1:${await freePort()}`;
    const refusals: string[] = [];
    const strict = new EtcdRegistry({
      endpoints: [down],
      ttlSeconds: 2,
      events: { unreachable: () => refusals.push('down'), reachable: () => refusals.push('up') },
    });
    await expect(strict.register(instance('e', 8040))).rejects.toThrow(
      new RegExp(`^etcd at ${down.replace(/\./g, '\\.')} did not register greeter \\(e\\): `),
    );
    expect(refusals).toEqual([]); // the process stops: no "still serving, retrying" line
    await strict.close();

    const later = await EtcdProcess.create();
    const events: string[] = [];
    const patient = new EtcdRegistry({
      endpoints: [later.endpoint],
      ttlSeconds: 2,
      startup: 'retry',
      events: { unreachable: () => events.push('down'), reachable: () => events.push('up') },
    });
    try {
      await patient.register(instance('f', 8050)); // resolves although nothing listens yet
      expect(events).toEqual(['down']);
      await later.start();
      const lateAdmin = new Etcd3({ hosts: later.endpoint });
      // etcd shows the key as it commits the put; the registry reports "up" once it has the answer.
      await eventually(
        async () => (await lateAdmin.get('/microservices/greeter/f').string()) !== null && events.length > 1,
        'registration once etcd is up',
      );
      lateAdmin.close();
      expect(events).toEqual(['down', 'up']);
    } finally {
      await patient.close();
      await later.destroy();
    }
  }, 60_000);

  it('survives etcd going away and comes back when it returns, reporting each once', async () => {
    const events: string[] = [];
    const registry = new EtcdRegistry({
      endpoints: [live.etcd.endpoint],
      ttlSeconds: 2,
      events: { unreachable: (kind) => events.push(`${kind} down`), reachable: (kind) => events.push(`${kind} up`) },
    });
    const d = instance('d', 8030);
    await registry.register(d);
    // Its key goes while its lease lives on (deleted by hand): back, the registry puts it again.
    await live.admin.delete().key('/microservices/greeter/d');
    await live.etcd.stop();
    await eventually(async () => !registry.healthy(), 'registry to notice etcd is down');
    await live.etcd.start();
    await eventually(
      async () => (await live.admin.get('/microservices/greeter/d').string()) !== null,
      'instance back after restart',
    );
    await eventually(async () => registry.healthy(), 'registry healthy again');
    expect(events).toEqual(['etcd down', 'etcd up']);
    await registry.deregister(d);
    await registry.close();
  });
});

describe.skipIf(!etcdAvailable() && !process.env['CI'])('discovery through EtcdRegistry (real etcd)', () => {
  it('keeps the last instances when the registry lists none, and says so', async () => {
    const etcd = await EtcdProcess.create();
    await etcd.start();
    const admin = new Etcd3({ hosts: etcd.endpoint });
    const told: string[] = [];
    const registry = new EtcdRegistry({
      endpoints: [etcd.endpoint],
      ttlSeconds: 5,
      events: {
        unreachable: () => {},
        reachable: () => {},
        instances: (kind, service, listed, kept) =>
          told.push(`${kind} ${service} ${listed.flatMap((i) => i.endpoints).join(' ')} ${kept}`),
      },
    });
    try {
      await registry.register(instance('k1', 8060));
      const target = await DiscoveryTarget.open(registry, 'discovery:///greeter', 'grpc');
      await registry.register(instance('k2', 8070));
      await eventually(async () => target.addresses().length === 2, 'the second instance');
      // Every key gone at once, as when etcd expires all leases after a stall longer than the TTL.
      await admin.delete().prefix('/microservices/greeter/');
      await eventually(async () => told.some((t) => t.endsWith('true')), 'the empty list to be refused');
      // The two keys went in one revision, their deletes one after the other: the list of one is handed on, not the empty one.
      const [kept] = target.addresses();
      expect(target.addresses()).toHaveLength(1);
      const port = Number(kept!.split(':')[1]) - 1;
      const last = `etcd greeter http://127.0.0.1:${port} grpc://127.0.0.1:${port + 1}`;
      expect(told).toEqual([
        'etcd greeter http://127.0.0.1:8060 grpc://127.0.0.1:8061 http://127.0.0.1:8070 grpc://127.0.0.1:8071 false',
        `${last} false`,
        `${last} true`,
      ]);
      await target.close();
    } finally {
      await registry.close();
      admin.close();
      await etcd.destroy();
    }
  }, 60_000);

  it('follows instances registered after etcd lost its data and came back', async () => {
    const etcd = await EtcdProcess.create();
    await etcd.start();
    const registry = new EtcdRegistry({ endpoints: [etcd.endpoint], ttlSeconds: 2 });
    const admin = new Etcd3({ hosts: etcd.endpoint });
    try {
      await registry.register(instance('w1', 8080));
      // Revisions well above what a fresh etcd starts from.
      for (let i = 0; i < 20; i++) await admin.put(`/other/${i}`).value('x');
      const target = await DiscoveryTarget.open(registry, 'discovery:///greeter', 'grpc');
      expect(target.addresses()).toEqual(['127.0.0.1:8081']);
      await etcd.stop();
      fs.rmSync(etcd.dataDir, { recursive: true, force: true });
      fs.mkdirSync(etcd.dataDir);
      await etcd.start();
      await eventually(async () => (await admin.get('/microservices/greeter/w1').string()) !== null, 'w1 again');
      // Another instance, registered once the watch has come back.
      const other = new EtcdRegistry({ endpoints: [etcd.endpoint], ttlSeconds: 2 });
      await other.register(instance('w2', 8090));
      await eventually(async () => target.addresses().includes('127.0.0.1:8091'), 'w2 in the discovered list');
      await other.close();
      await target.close();
    } finally {
      await registry.close();
      admin.close();
      await etcd.destroy();
    }
  }, 90_000);
});

describe('EtcdRegistry without an etcd', () => {
  it('names the etcd it could not reach when discovering', async () => {
    const endpoint = `http://127.0.0.1:${await freePort()}`;
    const registry = new EtcdRegistry({ endpoints: [endpoint] });
    try {
      await expect(registry.getService('who')).rejects.toThrow(`etcd at ${endpoint}: `);
      await expect(registry.watch('who')).rejects.toThrow(`etcd at ${endpoint}: `);
    } finally {
      await registry.close();
    }
  }, 30_000);
});
