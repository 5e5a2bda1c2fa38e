// Consul registry through the agent HTTP API (via the `consul` client):
// one service entry per instance with a health check against the instance's
// HTTP /healthz (or gRPC health service), its endpoints in the service Meta, and
// blocking queries on /v1/health/service for discovery.
import Consul from 'consul';
import { untraced } from '../telemetry/active-context.js';
import { fetchFailureMessage } from '../transport/http/fetch-failure.js';
import {
  discoveryWatch,
  Registrations,
  type Discovery,
  type Registrar,
  type RegistryEvents,
  type RegistryStartup,
  type ServiceInstance,
  type Watcher,
} from './registry.js';

export interface ConsulRegistryOptions {
  /** Agent address, e.g. `127.0.0.1:8500`. */
  address: string;
  /** Health check interval; default '10s'. */
  checkInterval?: string;
  /** Consul removes an instance whose check stays critical this long; default '1m'. */
  deregisterCriticalAfter?: string;
  /** Check over 'http' (GET /healthz) or 'grpc' (grpc.health.v1); default http when the instance has an http endpoint. */
  checkKind?: 'http' | 'grpc';
  /** When the agent cannot be reached at start: fail (default), or serve and register once it answers. */
  startup?: RegistryStartup;
  /** Told once when the agent becomes unreachable and once when it answers again. */
  events?: RegistryEvents;
}

interface HealthEntry {
  Service: { ID: string; Service: string; Meta?: Record<string, string> };
}

export class ConsulRegistry implements Registrar, Discovery {
  private readonly consul: Consul;
  private readonly registrations: Registrations;

  constructor(private readonly options: ConsulRegistryOptions) {
    const [host, port] = options.address.replace(/^https?:\/\//, '').split(':');
    this.consul = new Consul({ host: host ?? '127.0.0.1', port: Number(port ?? 8500) });
    this.registrations = new Registrations('consul', options.address, options.startup, options.events);
  }

  async register(instance: ServiceInstance): Promise<void> {
    await this.registrations.start(instance, instance.id, () => this.put(instance));
  }

  /** Registers with the agent; the agent keeps the entry until deregistered or its check stays critical. */
  private async put(instance: ServiceInstance): Promise<void> {
    const endpoints = instance.endpoints.map((e) => new URL(e));
    const primary = endpoints[0];
    if (!primary) throw new Error('consul: instance has no endpoints');
    const http = endpoints.find((u) => u.protocol === 'http:');
    const grpc = endpoints.find((u) => u.protocol === 'grpc:');
    const kind = this.options.checkKind ?? (http ? 'http' : 'grpc');
    const check =
      kind === 'http' && http
        ? { http: `http://${http.host}/healthz` }
        : { grpc: grpc?.host ?? primary.host, grpcusetls: false };
    await this.consul.agent.service.register({
      id: instance.id,
      name: instance.name,
      address: primary.hostname,
      port: Number(primary.port),
      tags: [`version=${instance.version}`],
      // Endpoints travel in Meta: the client library passes only lan/wan tagged addresses through.
      meta: { ...instance.metadata, version: instance.version, endpoints: instance.endpoints.join(',') },
      check: {
        ...check,
        interval: this.options.checkInterval ?? '10s',
        timeout: '5s',
        deregistercriticalserviceafter: this.options.deregisterCriticalAfter ?? '1m',
      },
    } as unknown as Parameters<Consul['agent']['service']['register']>[0]);
    this.registrations.health.back();
  }

  async deregister(instance: ServiceInstance): Promise<void> {
    this.registrations.cancel(instance.id);
    await this.consul.agent.service.deregister(instance.id);
  }

  /** Stops pending registration attempts. */
  async close(): Promise<void> {
    this.registrations.close();
  }

  healthy(): boolean {
    return this.registrations.health.reachable;
  }

  async getService(name: string): Promise<ServiceInstance[]> {
    const entries = (await this.consul.health.service({ service: name, passing: true })) as unknown as HealthEntry[];
    return entries.map(toInstance);
  }

  async watch(name: string): Promise<Watcher> {
    let index = '0';
    let stopped = false;
    let first = true;
    let controller: AbortController | undefined;
    return discoveryWatch(
      'consul',
      name,
      {
        next: async () => {
          // Blocking query: returns when the passing set changes or after `wait`.
          for (;;) {
            if (stopped) throw new Error('watcher stopped');
            controller = new AbortController();
            const res = await fetchHealth(this.options.address, name, first ? undefined : index, controller.signal);
            const changed = first || res.index !== index;
            first = false;
            index = res.index;
            if (changed) return res.entries.map(toInstance);
          }
        },
        stop: async () => {
          stopped = true;
          controller?.abort();
        },
      },
      this.options.events,
    );
  }
}

/** One blocking query; uses fetch directly since it needs the X-Consul-Index response header. */
async function fetchHealth(address: string, name: string, index: string | undefined, signal: AbortSignal) {
  const base = address.startsWith('http') ? address : `http://${address}`;
  const qs = new URLSearchParams({ passing: 'true', ...(index ? { index, wait: '30s' } : {}) });
  // The watch's own traffic, not part of any call: not traced even when fetch is
  // instrumented (the watch would otherwise add a span per query under the call that opened it).
  let res: Response;
  try {
    res = await untraced(() => fetch(`${base}/v1/health/service/${encodeURIComponent(name)}?${qs}`, { signal }));
  } catch (err) {
    if (signal.aborted) throw err;
    throw new Error(`consul at ${base}: ${fetchFailureMessage(err)}`, { cause: err });
  }
  if (!res.ok) throw new Error(`consul at ${base}: GET /v1/health/service/${name} answered ${res.status}`);
  return { index: res.headers.get('x-consul-index') ?? '0', entries: (await res.json()) as HealthEntry[] };
}

function toInstance(entry: HealthEntry): ServiceInstance {
  const s = entry.Service;
  const { version = '', endpoints: joined = '', ...metadata } = s.Meta ?? {};
  const endpoints = joined.split(',').filter(Boolean);
  return { id: s.ID, name: s.Service, version, metadata, endpoints };
}
