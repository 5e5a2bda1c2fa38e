// ConsulRegistry against a stand-in that follows Consul's documented agent and
// health HTTP API (no Consul server is installable here; see the README).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulRegistry } from '../../../src/runtime/registry/consul.js';
import { DiscoveryTarget } from '../../../src/runtime/registry/target.js';
import { ConsulStandIn } from '../../helpers/consul-standin.js';
import { freePort } from '../../helpers/etcd.js';

describe('ConsulRegistry (documented HTTP API stand-in)', () => {
  const consul = new ConsulStandIn();
  let address: string;
  beforeAll(async () => {
    address = await consul.start();
  });
  afterAll(async () => {
    await consul.stop();
  });

  it('registers with endpoints in Meta and an HTTP health check, discovers, watches, deregisters', async () => {
    const registry = new ConsulRegistry({ address });
    const a = {
      id: 'a',
      name: 'greeter',
      version: 'v2',
      metadata: { zone: 'z1' },
      endpoints: ['http://127.0.0.1:8000', 'grpc://127.0.0.1:9000'],
    };
    await registry.register(a);
    const stored = consul.services.get('a')!;
    expect(stored).toMatchObject({
      Service: 'greeter',
      Address: '127.0.0.1',
      Port: 8000,
      Meta: { zone: 'z1', version: 'v2', endpoints: 'http://127.0.0.1:8000,grpc://127.0.0.1:9000' },
    });
    expect(stored.Check).toMatchObject({ HTTP: 'http://127.0.0.1:8000/healthz' });
    expect(await registry.getService('greeter')).toEqual([a]);

    const target = await DiscoveryTarget.open(registry, 'discovery:///greeter', 'http');
    expect(target.addresses()).toEqual(['127.0.0.1:8000']);
    await registry.register({ ...a, id: 'b', endpoints: ['http://127.0.0.1:8001', 'grpc://127.0.0.1:9001'] });
    for (let i = 0; i < 50 && target.addresses().length < 2; i++) await new Promise((r) => setTimeout(r, 50));
    expect(target.addresses().sort()).toEqual(['127.0.0.1:8000', '127.0.0.1:8001']);
    await registry.deregister({ ...a, id: 'b' });
    for (let i = 0; i < 50 && target.addresses().length > 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(target.addresses()).toEqual(['127.0.0.1:8000']);
    await target.close();
    await registry.deregister(a);
    expect(consul.services.size).toBe(0);
  });

  it('says which agent did not take a registration, and why, without claiming to retry', async () => {
    const closed = await freePort();
    const events: string[] = [];
    const registry = new ConsulRegistry({
      address: `http://127.0.0.1:${closed}`,
      events: { unreachable: () => events.push('down'), reachable: () => events.push('up') },
    });
    const instance = { id: 'x-1', name: 'greeter', version: 'v1', metadata: {}, endpoints: ['http://127.0.0.1:8000'] };
    const err = await registry.register(instance).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('RegistrationError');
    expect((err as Error).message).toMatch(
      new RegExp(`^consul at http://127\\.0\\.0\\.1:${closed} did not register greeter \\(x-1\\): .*ECONNREFUSED`),
    );
    // Fail-fast stops the process: a "still serving, retrying" line would be false.
    expect(events).toEqual([]);
  });

  it('with startup "retry", serves at once and registers once the agent answers, reporting each change once', async () => {
    const port = await freePort();
    const events: string[] = [];
    const registry = new ConsulRegistry({
      address: `127.0.0.1:${port}`,
      startup: 'retry',
      events: { unreachable: () => events.push('down'), reachable: () => events.push('up') },
    });
    const later = new ConsulStandIn();
    const instance = { id: 'r-1', name: 'greeter', version: 'v1', metadata: {}, endpoints: ['http://127.0.0.1:8000'] };
    try {
      await registry.register(instance); // resolves although no agent listens yet
      expect(events).toEqual(['down']);
      expect(registry.healthy()).toBe(false);
      await later.start(port);
      // The agent records the registration as the request arrives; the registry reports
      // "up" once it has read the answer, a moment later.
      for (let i = 0; i < 100 && !(later.services.has('r-1') && events.length > 1); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(later.services.get('r-1')).toMatchObject({ Service: 'greeter' });
      expect(events).toEqual(['down', 'up']);
      expect(registry.healthy()).toBe(true);
      await registry.deregister(instance);
      expect(later.services.size).toBe(0);
    } finally {
      await registry.close();
      await later.stop();
    }
  });
});

describe('ConsulRegistry without an agent', () => {
  it('names the agent it could not reach when discovering', async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const registry = new ConsulRegistry({ address });
    try {
      await expect(registry.watch('who').then((w) => w.next())).rejects.toThrow(
        `consul at http://${address}: fetch failed (ECONNREFUSED)`,
      );
    } finally {
      await registry.close();
    }
  });
});
