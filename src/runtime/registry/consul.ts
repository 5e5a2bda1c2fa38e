// Consul registry through the agent HTTP API: one service entry per instance with
// a health check against the instance's HTTP /readyz (or gRPC health service), its
// endpoints as tagged addresses per scheme (as Kratos has them) and in the service
// Meta, and blocking queries on /v1/health/service for discovery. Every agent request has a deadline and is aborted by close(), so a
// hung agent neither blocks a start forever nor holds a stopping process.
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
  /** Agent address, e.g. `127.0.0.1:8500` or `http://127.0.0.1:8500`; `:8500` is 127.0.0.1:8500. */
  address: string;
  /** ACL token, sent as X-Consul-Token on every request. */
  token?: string | undefined;
  /** Health check interval, also how often the instance checks the agent still lists it; default '10s'. */
  checkInterval?: string | undefined;
  /** Consul removes an instance whose check stays critical this long; default '1m'. */
  deregisterCriticalAfter?: string | undefined;
  /** Check over 'http' (GET /readyz) or 'grpc' (grpc.health.v1); default http when the instance has an http endpoint. */
  checkKind?: 'http' | 'grpc' | undefined;
  /** How long a discovery blocking query waits for a change (Consul's `wait`); default '30s'. */
  watchWait?: string | undefined;
  /** When the agent cannot be reached at start: fail (default), or serve and register once it answers. */
  startup?: RegistryStartup | undefined;
  /** Told once when the agent becomes unreachable and once when it answers again. */
  events?: RegistryEvents | undefined;
}

interface HealthEntry {
  Service: {
    ID: string;
    Service: string;
    Tags?: string[] | null;
    Meta?: Record<string, string> | null;
    TaggedAddresses?: Record<string, { Address: string; Port: number }> | null;
  };
}

/** Tagged addresses Consul itself sets (the node's LAN/WAN addresses), not endpoints. */
const CONSUL_ADDRESS_TAGS = new Set(['lan', 'wan', 'lan_ipv4', 'wan_ipv4', 'lan_ipv6', 'wan_ipv6']);

/** An agent request (other than the watch's) that got no answer in this long is abandoned. */
const REQUEST_TIMEOUT_MS = 5000;

export class ConsulRegistry implements Registrar, Discovery {
  private readonly base: string;
  private readonly registrations: Registrations;
  private readonly closing = new AbortController();
  /** Per registered instance: the timer checking that the agent still lists it. */
  private readonly kept = new Map<string, NodeJS.Timeout>();

  constructor(private readonly options: ConsulRegistryOptions) {
    this.base = agentUrl(options.address);
    this.registrations = new Registrations('consul', this.base, options.startup, options.events);
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
    // Readiness, not liveness: an instance that cannot serve must stop getting traffic.
    const check =
      kind === 'http' && http
        ? { HTTP: `http://${http.host}/readyz` }
        : { GRPC: grpc?.host ?? primary.host, GRPCUseTLS: false };
    await this.request('PUT', '/v1/agent/service/register', {
      body: {
        ID: instance.id,
        Name: instance.name,
        Address: primary.hostname,
        Port: Number(primary.port),
        Tags: [`version=${instance.version}`],
        // One tagged address per scheme, as Kratos registers and reads them; Meta.endpoints
        // as well, for the tsk instances that read only that.
        TaggedAddresses: Object.fromEntries(
          endpoints.map((u) => [u.protocol.slice(0, -1), { Address: u.hostname, Port: Number(u.port) }]),
        ),
        Meta: { ...instance.metadata, version: instance.version, endpoints: instance.endpoints.join(',') },
        Check: {
          ...check,
          // The app registers once its servers listen, just before it marks itself ready: a
          // check starting critical would hide it from callers until the agent first runs
          // it, up to an interval later.
          Status: 'passing',
          Interval: this.options.checkInterval ?? '10s',
          Timeout: '5s',
          DeregisterCriticalServiceAfter: this.options.deregisterCriticalAfter ?? '1m',
        },
      },
    });
    this.registrations.health.back();
    this.keep(instance);
  }

  /**
   * Checks every interval that the agent still lists the instance: an agent restarted
   * without its data, or one that reaped the entry after its check was critical too long
   * (the process was paused), has forgotten it, and it is registered again.
   */
  private keep(instance: ServiceInstance): void {
    if (this.kept.has(instance.id) || this.closing.signal.aborted) return;
    const everyMs = durationMs(this.options.checkInterval ?? '10s');
    let checking = false;
    const timer = setInterval(async () => {
      if (checking) return;
      checking = true;
      try {
        const res = await this.request('GET', `/v1/agent/service/${encodeURIComponent(instance.id)}`);
        if (res.status !== 404) this.registrations.health.back();
        else if (this.kept.get(instance.id) === timer) {
          this.registrations.health.lost(
            new Error(`the agent no longer lists ${instance.id} (restarted, or its check was critical too long)`),
          );
          await this.put(instance);
        }
      } catch (err) {
        // After deregister() or close() the entry is no longer kept: a failure then is no outage.
        if (this.kept.get(instance.id) === timer) this.registrations.health.lost(err);
      } finally {
        checking = false;
      }
    }, everyMs);
    timer.unref();
    this.kept.set(instance.id, timer);
  }

  async deregister(instance: ServiceInstance): Promise<void> {
    this.registrations.cancel(instance.id);
    clearInterval(this.kept.get(instance.id));
    this.kept.delete(instance.id);
    await this.request('PUT', `/v1/agent/service/deregister/${encodeURIComponent(instance.id)}`);
  }

  /** Stops pending registration attempts and aborts every request under way. */
  async close(): Promise<void> {
    this.registrations.close();
    for (const timer of this.kept.values()) clearInterval(timer);
    this.kept.clear();
    this.closing.abort(new Error('consul registry closed'));
  }

  healthy(): boolean {
    return this.registrations.health.reachable;
  }

  async getService(name: string): Promise<ServiceInstance[]> {
    return (await this.passing(name, '')).entries.map(toInstance);
  }

  /** The passing instances of `name` (`query` adds a blocking query's index and wait), with the answer's headers. */
  private async passing(
    name: string,
    query: string,
    options: { timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<{ entries: HealthEntry[]; headers: Headers }> {
    const path = `/v1/health/service/${encodeURIComponent(name)}`;
    const res = await this.named(this.request('GET', `${path}?passing=true${query}`, options));
    if (res.status === 404) throw new Error(`consul at ${this.base}: GET ${path} answered 404`);
    return { entries: JSON.parse(res.text) as HealthEntry[], headers: res.headers };
  }

  /**
   * One agent request with the token, its answer read in full, cut off after `timeoutMs`,
   * by close() or by `signal`. A 404 is returned (it answers whether the agent knows an
   * ID); any other failure throws with the agent's own words.
   */
  private async request(
    method: string,
    path: string,
    { body, timeoutMs = REQUEST_TIMEOUT_MS, signal }: { body?: unknown; timeoutMs?: number; signal?: AbortSignal } = {},
  ): Promise<{ status: number; headers: Headers; text: string }> {
    const headers: Record<string, string> = {};
    if (this.options.token) headers['x-consul-token'] = this.options.token;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const timeout = AbortSignal.timeout(timeoutMs);
    // The registry's own traffic, not part of any call: not traced even when fetch is
    // instrumented (the watch would otherwise add a span per query under the call that opened it).
    let res: Response;
    let text: string;
    try {
      res = await untraced(() =>
        fetch(`${this.base}${path}`, {
          method,
          headers,
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.any([this.closing.signal, timeout, ...(signal ? [signal] : [])]),
        }),
      );
      text = await res.text();
    } catch (err) {
      if (this.closing.signal.aborted) throw this.closing.signal.reason;
      if (signal?.aborted) throw signal.reason;
      if (timeout.aborted) throw new Error(`${method} ${path.split('?')[0]} got no answer within ${timeoutMs} ms`);
      throw new Error(fetchFailureMessage(err), { cause: err });
    }
    if (res.ok || res.status === 404) return { status: res.status, headers: res.headers, text };
    const said = text.trim();
    throw new Error(`${method} ${path.split('?')[0]} answered ${res.status}${said ? `: ${said}` : ''}`);
  }

  /** A failure as discovery reports it: naming the agent. */
  private async named<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (err) {
      throw new Error(`consul at ${this.base}: ${(err as Error).message}`, { cause: err });
    }
  }

  async watch(name: string): Promise<Watcher> {
    const wait = this.options.watchWait ?? '30s';
    const waitMs = durationMs(wait);
    const stopped = new AbortController();
    const events = this.options.events;
    let index = 0;
    let first = true;
    let failingSince: number | undefined;
    let delayMs = 1000;
    // Blocking query: returns when the passing set changes or after `wait`. Its deadline
    // allows for the wait, the agent's jitter of up to wait/16, and a slow answer.
    const query = async () => {
      const blocking = first ? '' : `&index=${index}&wait=${wait}`;
      const timeoutMs = Math.ceil(waitMs + waitMs / 16) + 2000;
      const { entries, headers } = await this.passing(name, blocking, { timeoutMs, signal: stopped.signal });
      // Consul's rules for blocking queries: an index that went backwards starts over
      // (the agent's state was reset), and one not above 0 is taken as 1, or every
      // query would return at once.
      const next = Number(headers.get('x-consul-index'));
      const changed = first || next !== index;
      index = next < index ? 0 : next > 0 ? next : 1;
      first = false;
      return { entries, changed };
    };
    return discoveryWatch(
      'consul',
      name,
      {
        next: async () => {
          // A failure of the first query is the caller's (the target cannot open); after
          // that the watch retries, 1 s doubling to 30 s apart, reporting the outage once.
          for (;;) {
            if (stopped.signal.aborted) throw new Error('watcher stopped');
            const opened = !first;
            try {
              const { entries, changed } = await query();
              delayMs = 1000;
              if (failingSince !== undefined) {
                events?.discoveryBack?.('consul', name, Date.now() - failingSince);
                failingSince = undefined;
              }
              if (changed) return entries.map(toInstance);
            } catch (err) {
              if (!opened || stopped.signal.aborted) throw err;
              if (failingSince === undefined) {
                failingSince = Date.now();
                events?.discoveryFailing?.('consul', name, err);
              }
              await sleep(delayMs, stopped.signal);
              delayMs = Math.min(delayMs * 2, 30_000);
            }
          }
        },
        stop: async () => stopped.abort(new Error('watcher stopped')),
      },
      events,
    );
  }
}

/** The agent's base URL: http:// unless given, and `:port` on this host as in Go. */
function agentUrl(address: string): string {
  const url = /^https?:\/\//.test(address) ? address : `http://${address}`;
  return url.replace(/^(https?:\/\/):/, '$1127.0.0.1:').replace(/\/+$/, '');
}

/** A Consul duration (`10s`, `500ms`, `1m`, `1h`) in milliseconds. */
function durationMs(duration: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(duration);
  if (!m) throw new Error(`consul: invalid duration "${duration}" (expected e.g. 10s, 500ms, 1m)`);
  return Number(m[1]) * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    timer.unref();
    signal.addEventListener('abort', done);
  });
}

/** An entry as tsk writes it (Meta.endpoints), or as Kratos does (a tagged address per scheme, version in Tags). */
function toInstance(entry: HealthEntry): ServiceInstance {
  const s = entry.Service;
  const { version: metaVersion, endpoints: joined = '', ...metadata } = s.Meta ?? {};
  const tagged = Object.entries(s.TaggedAddresses ?? {})
    .filter(([scheme]) => !CONSUL_ADDRESS_TAGS.has(scheme))
    .map(([scheme, a]) => `${scheme}://${a.Address.includes(':') ? `[${a.Address}]` : a.Address}:${a.Port}`);
  const endpoints = joined ? joined.split(',').filter(Boolean) : tagged;
  const version = metaVersion ?? s.Tags?.find((t) => t.startsWith('version='))?.slice('version='.length) ?? '';
  return { id: s.ID, name: s.Service, version, metadata, endpoints };
}
