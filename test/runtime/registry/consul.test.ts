// ConsulRegistry against a stand-in that follows Consul's documented agent and
// health HTTP API (no Consul server is installable here; see the README).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulRegistry } from '../../../src/runtime/registry/consul.js';
import { DiscoveryTarget } from '../../../src/runtime/registry/target.js';
import { ConsulStandIn } from '../../helpers/consul-standin.js';

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
});
