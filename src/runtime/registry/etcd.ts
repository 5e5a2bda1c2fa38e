// etcd registry (Kratos's contrib/registry/etcd): one key per instance,
// `<prefix>/<name>/<id>`, holding the instance as JSON, attached to a lease kept
// alive in the background. A lost lease (etcd restarted, partition longer than
// the TTL) is re-created, so the instance comes back on its own. Losing etcd is
// reported once when it starts and once when it ends; it never stops the instance
// from serving (readiness does not depend on the registry).
import { Etcd3, type Lease, type IOptions, type Watcher as EtcdWatcher } from 'etcd3';
import { etcdCredentials, storeName } from '../config/stores.js';
import { discoveryWatch, Registrations, type RegistryEvents, type RegistryStartup } from './registry.js';
import type { Discovery, Registrar, ServiceInstance, Watcher } from './registry.js';

export interface EtcdRegistryOptions {
  /** etcd endpoints, e.g. ['http://127.0.0.1:2379']. */
  endpoints: string[];
  /** Key prefix; default `/microservices`, as Kratos uses. */
  prefix?: string | undefined;
  /** Lease TTL in seconds; default 15. */
  ttlSeconds?: number | undefined;
  /** Extra etcd3 client options (auth, TLS). */
  client?: Omit<IOptions, 'hosts'> | undefined;
  /**
   * `fail-fast` (default): register() rejects when etcd cannot be reached, so the
   * process does not start. `retry`: register() resolves at once and keeps trying.
   */
  startup?: RegistryStartup | undefined;
  /** Told once when etcd becomes unreachable and once when it is back. */
  events?: RegistryEvents | undefined;
  /** Where ETCD_USERNAME and ETCD_PASSWORD are read from; default process.env. */
  env?: NodeJS.ProcessEnv | undefined;
}

export class EtcdRegistry implements Registrar, Discovery {
  readonly client: Etcd3;
  private readonly prefix: string;
  private readonly ttl: number;
  private readonly leases = new Map<string, Lease>();
  private readonly registrations: Registrations;

  private readonly endpoints: string;
  private readonly events?: RegistryEvents | undefined;

  constructor(options: EtcdRegistryOptions) {
    this.events = options.events;
    // Credentials in an endpoint (http://user:password@etcd:2379) or ETCD_USERNAME and
    // ETCD_PASSWORD, as the config store reads them; never in the endpoints logs name.
    const userinfo = options.endpoints.map((e) => /^[a-z]+:\/\/([^@/]*)@/i.exec(e)?.[1]).find(Boolean);
    const hosts = options.endpoints.map(storeName);
    const credentials = etcdCredentials(userinfo, options.env ?? process.env);
    const auth = credentials ? { auth: { username: credentials.name, password: credentials.password } } : {};
    this.client = new Etcd3({ ...auth, ...options.client, hosts, dialTimeout: 3000 });
    this.endpoints = hosts.join(', ');
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
    const putKey = () => lease.put(key).value(JSON.stringify(instance));
    lease.on('lost', (err) => {
      if (this.leases.get(key) !== lease) return;
      this.leases.delete(key);
      this.registrations.retry(key, () => this.putWithLease(instance), err);
    });
    // Back after an outage with the lease alive, the key is put again before that is
    // reported: it may have gone meanwhile (deleted by hand, a restore of etcd).
    lease.on('keepaliveSucceeded', () => {
      if (health.reachable) return;
      putKey().then(
        () => health.back(),
        () => {},
      );
    });
    lease.on('keepaliveFailed', (err) => health.lost(err));
    try {
      await putKey();
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
    // A key left behind stays listed until its lease runs out: the app logs that this failed.
    await this.named(this.client.delete().key(key).exec());
  }

  healthy(): boolean {
    return this.registrations.health.reachable;
  }

  async getService(name: string): Promise<ServiceInstance[]> {
    const values = await this.named(this.client.getAll().prefix(`${this.prefix}/${name}/`).strings());
    return parseInstances(Object.values(values));
  }

  async watch(name: string): Promise<Watcher> {
    return discoveryWatch('etcd', name, await this.named(this.openWatch(name)), this.events);
  }

  /** etcd3's errors (`Execution prevented because the circuit breaker is open`) do not say which etcd. */
  private async named<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (err) {
      throw new Error(`etcd at ${this.endpoints}: ${(err as Error).message}`, { cause: err });
    }
  }

  /**
   * The instances under the service's prefix, then each change. The watch starts at the
   * revision the list was read at, so no change falls between the two. When the
   * connection to etcd comes back the list is read anew and the watch restarted from
   * there: etcd3 resumes a watch from the last revision it saw, which after etcd lost
   * its data lies in the future, and every change below it would be missed for good.
   */
  private async openWatch(name: string): Promise<Watcher> {
    const prefix = `${this.prefix}/${name}/`;
    let current = new Map<string, ServiceInstance>();
    const waiting: ((list: ServiceInstance[]) => void)[] = [];
    let dirty = true; // the first next() returns the initial list at once
    let stopped = false;
    const notify = () => {
      const list = [...current.values()];
      const w = waiting.splice(0);
      if (w.length === 0) dirty = true;
      for (const resolve of w) resolve(list);
    };
    const read = async (): Promise<string> => {
      const res = await this.client.getAll().prefix(prefix).exec();
      const next = new Map<string, ServiceInstance>();
      for (const kv of res.kvs) {
        const [instance] = parseInstances([kv.value.toString()]);
        if (instance) next.set(kv.key.toString(), instance);
      }
      current = next;
      return res.header.revision;
    };
    const open = async (revision: string): Promise<EtcdWatcher> => {
      const created = await this.client
        .watch()
        .prefix(prefix)
        .startRevision(String(BigInt(revision) + 1n))
        .create();
      created.on('put', (kv) => {
        const [instance] = parseInstances([kv.value.toString()]);
        if (instance) current.set(kv.key.toString(), instance);
        notify();
      });
      created.on('delete', (kv) => {
        current.delete(kv.key.toString());
        notify();
      });
      let lost = false;
      created.on('disconnected', () => {
        lost = true;
      });
      created.on('connected', () => {
        if (!lost || stopped || resyncing) return;
        lost = false;
        void resync(created);
      });
      return created;
    };
    let resyncing = false;
    const resync = async (old: EtcdWatcher): Promise<void> => {
      resyncing = true;
      // Until the list is read and a watch open again: etcd may go again meanwhile.
      for (let delayMs = 1000; !stopped; delayMs = Math.min(delayMs * 2, 10_000)) {
        try {
          const revision = await read();
          if (stopped) break;
          await old.cancel();
          watcher = await open(revision);
          notify();
          break;
        } catch {
          await new Promise((r) => setTimeout(r, delayMs).unref());
        }
      }
      resyncing = false;
    };
    let watcher = await open(await read());
    return {
      next: () => {
        if (dirty) {
          dirty = false;
          return Promise.resolve([...current.values()]);
        }
        return new Promise((resolve) => waiting.push(resolve));
      },
      stop: async () => {
        stopped = true;
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
