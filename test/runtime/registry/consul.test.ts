// ConsulRegistry against a stand-in that follows Consul's documented agent and
// health HTTP API (no Consul server is installable here; see the README).
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConsulRegistry } from '../../../src/runtime/registry/consul.js';
import type { RegistryEvents } from '../../../src/runtime/registry/registry.js';
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
    expect(stored.Check).toMatchObject({ HTTP: 'http://127.0.0.1:8000/readyz', Status: 'passing' });
    // As Kratos registers them, for its resolvers: one tagged address per scheme.
    expect(stored.TaggedAddresses).toMatchObject({
      http: { Address: '127.0.0.1', Port: 8000 },
      grpc: { Address: '127.0.0.1', Port: 9000 },
    });
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

const until = async (done: () => boolean, ms = 5000) => {
  for (const end = Date.now() + ms; !done() && Date.now() < end; ) await new Promise((r) => setTimeout(r, 20));
};

/** An instance's HTTP port: /readyz answers `ready.status` (200 at first), like the app's. */
async function instanceServer() {
  const ready = { status: 200 };
  const server = http.createServer((req, res) => res.writeHead(req.url === '/readyz' ? ready.status : 200).end());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const instance = {
    id: `i-${port}`,
    name: 'pinger',
    version: 'v1',
    metadata: {},
    endpoints: [`http://127.0.0.1:${port}`],
  };
  return { ready, instance, close: () => new Promise((r) => server.close(r)) };
}

function recorded() {
  const seen: string[] = [];
  const events: RegistryEvents = {
    unreachable: () => seen.push('down'),
    reachable: () => seen.push('up'),
    discoveryFailing: () => seen.push('discovery failing'),
    discoveryBack: () => seen.push('discovery back'),
  };
  return { seen, events };
}

describe('ConsulRegistry keeping its entry', () => {
  it('registers again, saying so once each way, when the agent forgets it (restart) or reaps it (paused process)', async () => {
    const consul = new ConsulStandIn();
    const address = await consul.start();
    const { ready, instance, close } = await instanceServer();
    const { seen, events } = recorded();
    const registry = new ConsulRegistry({ address, events, checkInterval: '100ms', deregisterCriticalAfter: '300ms' });
    try {
      await registry.register(instance);
      consul.wipe(); // agent restarted without its data
      await until(() => seen.length === 2);
      expect(seen).toEqual(['down', 'up']);
      expect(consul.services.has(instance.id)).toBe(true);

      // Its check critical for longer than DeregisterCriticalServiceAfter: the agent reaps it.
      ready.status = 503;
      await until(() => !consul.services.has(instance.id));
      expect(consul.services.has(instance.id)).toBe(false);
      ready.status = 200;
      await until(() => seen.length === 4 && (consul.checks.get(instance.id)?.status ?? '') === 'passing');
      expect(seen).toEqual(['down', 'up', 'down', 'up']);
      expect(await registry.getService('pinger')).toEqual([instance]);
    } finally {
      await registry.close();
      await close();
      await consul.stop();
    }
  });

  it('is visible as soon as it registers, and not while its readiness fails', async () => {
    const consul = new ConsulStandIn();
    const address = await consul.start();
    const { ready, instance, close } = await instanceServer();
    const registry = new ConsulRegistry({ address, checkInterval: '100ms' });
    try {
      await registry.register(instance);
      expect(await registry.getService('pinger')).toEqual([instance]);
      ready.status = 503; // /healthz still answers 200
      await until(() => consul.checks.get(instance.id)?.status === 'critical');
      expect(await registry.getService('pinger')).toEqual([]);
      await registry.deregister(instance);
    } finally {
      await registry.close();
      await close();
      await consul.stop();
    }
  });
});

describe('ConsulRegistry against an agent that never answers', () => {
  const instance = { id: 'h-1', name: 'greeter', version: 'v1', metadata: {}, endpoints: ['http://127.0.0.1:8000'] };

  it('fails a fail-fast start after the request timeout, naming it', async () => {
    const consul = new ConsulStandIn();
    consul.hang = true;
    const registry = new ConsulRegistry({ address: await consul.start() });
    try {
      await expect(registry.register(instance)).rejects.toThrow(
        /did not register greeter \(h-1\): PUT \/v1\/agent\/service\/register got no answer within 5000 ms/,
      );
    } finally {
      await registry.close();
      await consul.stop();
    }
  }, 10_000);

  it('with startup "retry", serves and registers once the agent answers', async () => {
    const consul = new ConsulStandIn();
    consul.hang = true;
    const { seen, events } = recorded();
    const registry = new ConsulRegistry({ address: await consul.start(), startup: 'retry', events });
    try {
      await registry.register(instance);
      consul.hang = false;
      await until(() => consul.services.has('h-1') && seen.length === 2, 9000);
      expect(seen).toEqual(['down', 'up']);
    } finally {
      await registry.close();
      await consul.stop();
    }
  }, 12_000);

  it('with startup "retry", says nothing of an outage when closed while the first attempt waits', async () => {
    const consul = new ConsulStandIn();
    consul.hang = true;
    const { seen, events } = recorded();
    const registry = new ConsulRegistry({ address: await consul.start(), startup: 'retry', events });
    try {
      const registering = registry.register(instance);
      await until(() => consul.requests.length > 0);
      await registry.close();
      await registering;
      expect(seen).toEqual([]);
    } finally {
      await consul.stop();
    }
  });

  it('lets SIGTERM stop a process whose registration is pending: it exits on its own, no socket held', async () => {
    const consul = new ConsulStandIn();
    consul.hang = true;
    const address = await consul.start();
    const module = (rel: string) => JSON.stringify(pathToFileURL(path.resolve('dist/runtime', rel)).href);
    // Built runtime (npm run build), as test/runtime/app/uncaught.test.ts does; no process.exit:
    // the process must end because nothing holds it.
    const child = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { createApp } = await import(${module('app/app.js')});
         const { HttpServer } = await import(${module('transport/http/index.js')});
         const { ConsulRegistry } = await import(${module('registry/consul.js')});
         const registry = new ConsulRegistry({ address: '${address}' });
         const app = createApp({ name: 'greeter', version: '1', servers: [new HttpServer({ address: '127.0.0.1:0' })],
           registrar: registry, stopTimeoutMs: 2000, afterStop: () => registry.close() });
         await app.run();`,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      await until(() => consul.requests.length > 0);
      expect(consul.requests).toEqual(['PUT /v1/agent/service/register']);
      const at = Date.now();
      child.kill('SIGTERM');
      const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 4000))]);
      expect(code).toBe(0);
      expect(Date.now() - at).toBeLessThan(3000);
    } finally {
      child.kill('SIGKILL');
      await consul.stop();
    }
  });
});

describe('ConsulRegistry discovery watch', () => {
  const healthQueries = (consul: ConsulStandIn) =>
    consul.requests.filter((r) => r.startsWith('GET /v1/health/')).length;

  it('blocks on an X-Consul-Index of 0 instead of spinning', async () => {
    const consul = new ConsulStandIn();
    const registry = new ConsulRegistry({ address: await consul.start(), watchWait: '1s' });
    consul.index = 0;
    const watcher = await registry.watch('greeter');
    try {
      await watcher.next();
      void watcher.next().catch(() => {});
      await new Promise((r) => setTimeout(r, 500));
      expect(healthQueries(consul)).toBeLessThanOrEqual(2);
    } finally {
      await watcher.stop();
      await registry.close();
      await consul.stop();
    }
  });

  it('gives up on a query the agent holds past its wait, and retries with backoff, saying so once each way', async () => {
    const consul = new ConsulStandIn();
    const { seen, events } = recorded();
    const registry = new ConsulRegistry({ address: await consul.start(), watchWait: '1s', events });
    const watcher = await registry.watch('greeter');
    try {
      expect(await watcher.next()).toEqual([]);
      consul.hang = true;
      const next = watcher.next();
      // Deadline 1 s + 1/16 s + 2 s, then the agent answers 500 for a while.
      await until(() => seen.length > 0, 4000);
      expect(seen).toEqual(['discovery failing']);
      consul.hang = false;
      consul.healthStatus = 500;
      const from = healthQueries(consul);
      await new Promise((r) => setTimeout(r, 3500));
      // Retries 1 s, 2 s, 4 s apart: at most two in 3.5 s.
      expect(healthQueries(consul) - from).toBeLessThanOrEqual(2);
      expect(healthQueries(consul) - from).toBeGreaterThanOrEqual(1);
      consul.healthStatus = undefined;
      consul.services.set('g-1', {
        ID: 'g-1',
        Service: 'greeter',
        Address: '127.0.0.1',
        Port: 8000,
        Tags: [],
        Meta: { endpoints: 'http://127.0.0.1:8000' },
        TaggedAddresses: {},
        Check: {},
      });
      consul.checks.set('g-1', { status: 'passing' });
      consul.index++;
      expect((await next).map((i) => i.id)).toEqual(['g-1']);
      expect(seen).toEqual(['discovery failing', 'discovery back']);
    } finally {
      await watcher.stop();
      await registry.close();
      await consul.stop();
    }
  }, 15_000);
});

describe('ConsulRegistry with ACLs', () => {
  it('sends its token on every request, the watch included, and reports the agent refusal in its words', async () => {
    const consul = new ConsulStandIn();
    consul.token = 's3cret';
    const address = await consul.start();
    const instance = { id: 't-1', name: 'greeter', version: 'v1', metadata: {}, endpoints: ['http://127.0.0.1:8000'] };
    const registry = new ConsulRegistry({ address, token: 's3cret' });
    try {
      await registry.register(instance);
      expect(await registry.getService('greeter')).toEqual([instance]);
      const watcher = await registry.watch('greeter');
      expect(await watcher.next()).toEqual([instance]);
      await watcher.stop();
      await registry.deregister(instance);
      expect(consul.tokens.length).toBe(4);
      expect(new Set(consul.tokens)).toEqual(new Set(['s3cret']));

      const anonymous = new ConsulRegistry({ address });
      await expect(anonymous.register(instance)).rejects.toThrow(
        /^consul at http:\/\/127\.0\.0\.1:\d+ did not register greeter \(t-1\): PUT \/v1\/agent\/service\/register answered 403: Permission denied$/,
      );
      await expect(anonymous.getService('greeter')).rejects.toThrow(/answered 403: Permission denied$/);
      await anonymous.close();
    } finally {
      await registry.close();
      await consul.stop();
    }
  });

  it('takes `:port` as this host', async () => {
    const consul = new ConsulStandIn();
    const port = (await consul.start()).split(':')[1];
    const registry = new ConsulRegistry({ address: `:${port}` });
    try {
      expect(await registry.getService('greeter')).toEqual([]);
      const watcher = await registry.watch('greeter');
      expect(await watcher.next()).toEqual([]);
      await watcher.stop();
    } finally {
      await registry.close();
      await consul.stop();
    }
  });
});

describe('ConsulRegistry discovering Kratos services', () => {
  it('reads endpoints from tagged addresses per scheme and the version from Tags when Meta has none', async () => {
    const consul = new ConsulStandIn();
    const address = await consul.start();
    const registry = new ConsulRegistry({ address });
    try {
      // What a Kratos service's registration amounts to (no Meta.endpoints), sent as it would send it.
      const res = await fetch(`http://${address}/v1/agent/service/register`, {
        method: 'PUT',
        body: JSON.stringify({
          ID: 'k-1',
          Name: 'kratos',
          Address: '10.0.0.9',
          Port: 9000,
          Tags: ['version=v3'],
          Meta: { zone: 'z2' },
          TaggedAddresses: { grpc: { Address: '10.0.0.9', Port: 9000 }, http: { Address: '10.0.0.9', Port: 8000 } },
          Check: { TTL: '30s', Status: 'passing' },
        }),
      });
      expect(res.status).toBe(200);
      const [instance] = await registry.getService('kratos');
      expect({ ...instance, endpoints: instance?.endpoints.sort() }).toEqual({
        id: 'k-1',
        name: 'kratos',
        version: 'v3',
        metadata: { zone: 'z2' },
        endpoints: ['grpc://10.0.0.9:9000', 'http://10.0.0.9:8000'],
      });
      const target = await DiscoveryTarget.open(registry, 'discovery:///kratos', 'grpc');
      expect(target.addresses()).toEqual(['10.0.0.9:9000']);
      await target.close();
    } finally {
      await registry.close();
      await consul.stop();
    }
  });
});
