// etcd registry (Kratos's contrib/registry/etcd): one key per instance,
// `<prefix>/<name>/<id>`, holding the instance as JSON, attached to a lease kept
// alive in the background. A lost lease (etcd restarted, partition longer than
// the TTL) is re-created, so the instance comes back on its own. Losing etcd is
// reported once when it starts and once when it ends; it never stops the instance
// from serving (readiness does not depend on the registry).
import { Etcd3, type Lease, type IOptions } from 'etcd3';
import { Registrations, type RegistryEvents, type RegistryStartup } from './registry.js';
import type { Discovery, Registrar, ServiceInstance, Watcher } from './registry.js';

export interface EtcdRegistryOptions {
  /** etcd endpoints, e.g. ['http://127.0.0.1:2379']. */
  endpoints: string[];
  /** Key prefix; default `/microservices`, as Kratos uses. */
  prefix?: string;
  /** Lease TTL in seconds; default 15. */
  ttlSeconds?: number;
  /** Extra etcd3 client options (auth, TLS). */
  client?: Omit<IOptions, 'hosts'>;
  /**
   * `fail-fast` (default): register() rejects when etcd cannot be reached, so the
   * process does not start. `retry`: register() resolves at once and keeps trying.
   */
  startup?: RegistryStartup;
  /** Told once when etcd becomes unreachable and once when it is back. */
  events?: RegistryEvents;
}

export class EtcdRegistry implements Registrar, Discovery {
  readonly client: Etcd3;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly leases = new Map<string, Lease>();
  private readonly registrations: Registrations;

  private readonly endpoints: string;

  constructor(options: EtcdRegistryOptions) {
    this.client = new Etcd3({ ...options.client, hosts: options.endpoints, dialTimeout: 3000 });
    this.endpoints = options.endpoints.join(', ');
    this.prefix = (options.prefix ?? '/microservices').replace(/\/$/, '');
    this.ttl = options.ttlSeconds ?? 15;
    this.registrations = new Registrations('etcd', this.endpoints, options.startup, options.events);
  }

  keyOf(instance: Pick<ServiceInstance, 'name' | 'id'>): string {
    return `${this.prefix}/${instance.name}/${instance.id}`;
  }

  async register(instance: ServiceInstance): Promise<void> {
    await this.registrations.start(instance, this.keyOf(instance), () => this.putWithLease(instance));
  }

  private async putWithLease(instance: ServiceInstance): Promise<void> {
    const key = this.keyOf(instance);
    const health = this.registrations.health;
    const lease = this.client.lease(this.ttl, { autoKeepAlive: true });
    lease.on('lost', (err) => {
      if (this.leases.get(key) !== lease) return;
      this.leases.delete(key);
      this.registrations.retry(key, () => this.putWithLease(instance), err);
    });
    lease.on('keepaliveSucceeded', () => health.back());
    lease.on('keepaliveFailed', (err) => health.lost(err));
    try {
      await lease.put(key).value(JSON.stringify(instance));
    } catch (err) {
      lease.release();
      throw err;
    }
    this.leases.set(key, lease);
    health.back();
  }

  async deregister(instance: ServiceInstance): Promise<void> {
    const key = this.keyOf(instance);
    this.registrations.cancel(key);
    const lease = this.leases.get(key);
    this.leases.delete(key);
    if (lease) await lease.revoke().catch(() => lease.release());
    await this.client
      .delete()
      .key(key)
      .catch(() => {});
  }

  healthy(): boolean {
    return this.registrations.health.reachable;
  }

  async getService(name: string): Promise<ServiceInstance[]> {
    const values = await this.named(this.client.getAll().prefix(`${this.prefix}/${name}/`).strings());
    return parseInstances(Object.values(values));
  }

  watch(name: string): Promise<Watcher> {
    return this.named(this.openWatch(name));
  }

  /** etcd3's errors (`Execution prevented because the circuit breaker is open`) do not say which etcd. */
  private async named<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (err) {
      throw new Error(`etcd at ${this.endpoints}: ${(err as Error).message}`, { cause: err });
    }
  }

  private async openWatch(name: string): Promise<Watcher> {
    const prefix = `${this.prefix}/${name}/`;
    const current = new Map<string, ServiceInstance>();
    const waiting: ((list: ServiceInstance[]) => void)[] = [];
    let dirty = true; // the first next() returns the initial list at once
    const notify = () => {
      const list = [...current.values()];
      const w = waiting.splice(0);
      if (w.length === 0) dirty = true;
      for (const resolve of w) resolve(list);
    };
    for (const [key, value] of Object.entries(await this.client.getAll().prefix(prefix).strings())) {
      const [instance] = parseInstances([value]);
      if (instance) current.set(key, instance);
    }
    const watcher = await this.client.watch().prefix(prefix).create();
    watcher.on('put', (kv) => {
      const [instance] = parseInstances([kv.value.toString()]);
      if (instance) current.set(kv.key.toString(), instance);
      notify();
    });
    watcher.on('delete', (kv) => {
      current.delete(kv.key.toString());
      notify();
    });
    return {
      next: () => {
        if (dirty) {
          dirty = false;
          return Promise.resolve([...current.values()]);
        }
        return new Promise((resolve) => waiting.push(resolve));
      },
      stop: async () => {
        await watcher.cancel();
      },
    };
  }

  async close(): Promise<void> {
    this.registrations.close();
    this.client.close();
  }
}

function parseInstances(values: string[]): ServiceInstance[] {
  const out: ServiceInstance[] = [];
  for (const v of values) {
    try {
      const i = JSON.parse(v) as ServiceInstance;
      if (i && typeof i.id === 'string' && Array.isArray(i.endpoints)) out.push({ ...i, metadata: i.metadata ?? {} });
    } catch {
      // A foreign value under our prefix is ignored rather than breaking discovery.
    }
  }
  return out;
}
