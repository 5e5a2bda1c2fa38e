// `discovery:///name` targets: follow a service's instances through a Discovery
// and hand out endpoints round-robin. Both the HTTP and the gRPC client use it.
// An instance that refused a connection is passed over for a while (longer each
// time it refuses again), as grpc-js passes over a subchannel that failed to connect:
// one that crashed stays registered until its lease or check expires.

import { ErrServiceUnavailable } from '../errors/catalogue.js';
import { outsideCalls } from '../telemetry/active-context.js';
import type { Discovery, ServiceInstance, Watcher } from './registry.js';

export const DISCOVERY_SCHEME = 'discovery:';

/** The service name of a `discovery:///name` target, or undefined for any other target. */
export function discoveryServiceName(target: string): string | undefined {
  if (!target.startsWith('discovery://')) return undefined;
  const name = target.replace(/^discovery:\/\/[^/]*\//, '');
  if (!name || name.includes('/'))
    throw new Error(`invalid discovery target "${target}": expected discovery:///<service-name>`);
  // Kratos filters by version or metadata in code (selector filters), not in the target.
  if (/[?#]/.test(name))
    throw new Error(
      `invalid discovery target "${target}": a discovery target names a service and nothing else (no query or fragment)`,
    );
  return name;
}

/** `host:port` of each endpoint with the given scheme (`http`, `grpc`) across the instances. */
export function endpointsFor(instances: ServiceInstance[], scheme: string): string[] {
  const out: string[] = [];
  for (const instance of instances) {
    for (const endpoint of instance.endpoints) {
      try {
        const url = new URL(endpoint);
        if (url.protocol === `${scheme}:`) out.push(url.host);
      } catch {
        // A malformed endpoint in the registry is skipped, not fatal for the caller.
      }
    }
  }
  return out;
}

/**
 * Which of a service's registered instances a client calls, as Kratos's selector node
 * filters choose: only a canary's version, say. Instances it turns away get no calls.
 */
export interface InstanceFilter {
  accepts(instance: ServiceInstance): boolean;
  /** What it asks for, as errors name it: `version 1.4.2`. */
  readonly description: string;
}

/** Only instances registered with this version (package.json's, or SERVICE_VERSION). */
export function versionFilter(version: string): InstanceFilter {
  return { accepts: (instance) => instance.version === version, description: `version ${version}` };
}

/**
 * Why a client with an instance filter (clients.<service>.version) cannot call `endpoint`:
 * an address has no instances to choose from. Empty and discovery:/// endpoints can.
 */
export function filteredEndpointProblem(endpoint: string): string | undefined {
  if (endpoint === '' || endpoint.startsWith(DISCOVERY_SCHEME)) return undefined;
  return `chooses among the instances a registry lists, and the endpoint is one address (${endpoint})`;
}

/**
 * Why a client cannot dial `endpoint`: it names one target, and a list of addresses is one
 * only in grpc-js's `ipv4:`/`ipv6:` form; otherwise it would be looked up in DNS as one name.
 */
export function clientEndpointProblem(endpoint: string): string | undefined {
  if (!endpoint.includes(',') || /^ipv[46]:/.test(endpoint)) return undefined;
  return `names one target; give several addresses one DNS name (a headless Service), or, to a gRPC client, write them as ipv4:<host>:<port>,<host>:<port>; got ${endpoint}`;
}

/** Why a target has nothing to call: no instance, or none the filter accepts, with an endpoint of this scheme. */
export function noInstanceDetail(scheme: string, filter: InstanceFilter | undefined): string {
  const article = scheme === 'http' ? 'an' : 'a';
  return `no instance${filter ? ` of ${filter.description}` : ''} with ${article} ${scheme} endpoint is registered`;
}

/** How long an address that refused a connection is passed over: doubled on each refusal in a row, up to the maximum. */
const FIRST_BACKOFF_MS = 1000;
const MAX_BACKOFF_MS = 30_000;
const NONE_TRIED: ReadonlySet<string> = new Set();

export class DiscoveryTarget {
  private current: string[] = [];
  private next = 0;
  private closed = false;
  /** Addresses whose last connection attempt was refused, and until when pick passes them over. */
  private readonly refused = new Map<string, { until: number; backoffMs: number }>();
  private readonly listeners = new Set<(addresses: string[]) => void>();

  private constructor(
    readonly serviceName: string,
    private readonly scheme: string,
    private readonly watcher: Watcher,
    private readonly filter: InstanceFilter | undefined,
  ) {}

  /**
   * Opens a watch and waits for the first instance list, so the first pick can succeed.
   * The watch outlives the call that opened it: it runs outside that call's context.
   */
  static async open(
    discovery: Discovery,
    target: string,
    scheme: 'http' | 'grpc',
    filter?: InstanceFilter,
  ): Promise<DiscoveryTarget> {
    const name = discoveryServiceName(target);
    if (!name) throw new Error(`not a discovery target: "${target}"`);
    return outsideCalls(async () => {
      const watcher = await discovery.watch(name);
      const t = new DiscoveryTarget(name, scheme, watcher, filter);
      t.update(await watcher.next());
      void t.follow();
      return t;
    });
  }

  private async follow(): Promise<void> {
    while (!this.closed) {
      try {
        this.update(await this.watcher.next());
      } catch {
        if (this.closed) return;
        // The watcher failed (registry down): keep the last known endpoints and retry.
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }

  private update(instances: ServiceInstance[]): void {
    const filter = this.filter;
    this.current = endpointsFor(filter ? instances.filter((i) => filter.accepts(i)) : instances, this.scheme);
    for (const address of this.refused.keys()) if (!this.current.includes(address)) this.refused.delete(address);
    for (const listener of this.listeners) listener(this.addresses());
  }

  /**
   * The next endpoint, round-robin, passing over those that refused a connection
   * lately unless every one did; throws 503 SERVICE_UNAVAILABLE when none is registered.
   */
  pick(): string {
    const count = this.current.length;
    if (count === 0) {
      throw ErrServiceUnavailable(
        { service: this.serviceName, target: `discovery:///${this.serviceName}` },
        noInstanceDetail(this.scheme, this.filter),
      );
    }
    if (this.refused.size > 0) return this.pickExcept(NONE_TRIED)!;
    return this.current[this.next++ % count]!;
  }

  /**
   * `address` refused a connection: it is passed over for a while, and the call goes
   * to another instance not in `tried` (which gains `address`), one not passed over if
   * there is one; undefined when every instance has been tried.
   */
  failOver(address: string, tried: Set<string>): string | undefined {
    const previous = this.refused.get(address);
    const backoffMs = previous ? Math.min(previous.backoffMs * 2, MAX_BACKOFF_MS) : FIRST_BACKOFF_MS;
    this.refused.set(address, { until: Date.now() + backoffMs, backoffMs });
    tried.add(address);
    return this.pickExcept(tried);
  }

  /** `address` answered: it is no longer passed over. */
  answered(address: string): void {
    if (this.refused.size > 0) this.refused.delete(address);
  }

  /** The next address round-robin not in `tried`: one not passed over if any, else one that is. */
  private pickExcept(tried: ReadonlySet<string>): string | undefined {
    const now = Date.now();
    let passedOver: string | undefined;
    for (let i = 0; i < this.current.length; i++) {
      const address = this.current[this.next++ % this.current.length]!;
      if (tried.has(address)) continue;
      const refused = this.refused.get(address);
      if (refused === undefined || refused.until <= now) return address;
      passedOver ??= address;
    }
    return passedOver;
  }

  addresses(): string[] {
    return [...this.current];
  }

  onChange(listener: (addresses: string[]) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    await this.watcher.stop();
  }
}
