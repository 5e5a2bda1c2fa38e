// `discovery:///name` targets: follow a service's instances through a Discovery
// and hand out endpoints round-robin. Both the HTTP and the gRPC client use it.

import { ErrServiceUnavailable } from '../errors/catalogue.js';
import type { Discovery, ServiceInstance, Watcher } from './registry.js';

export const DISCOVERY_SCHEME = 'discovery:';

/** The service name of a `discovery:///name` target, or undefined for any other target. */
export function discoveryServiceName(target: string): string | undefined {
  if (!target.startsWith('discovery://')) return undefined;
  const name = target.replace(/^discovery:\/\/[^/]*\//, '');
  if (!name || name.includes('/'))
    throw new Error(`invalid discovery target "${target}": expected discovery:///<service-name>`);
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

export class DiscoveryTarget {
  private current: string[] = [];
  private next = 0;
  private closed = false;
  private readonly listeners = new Set<(addresses: string[]) => void>();

  private constructor(
    readonly serviceName: string,
    private readonly scheme: string,
    private readonly watcher: Watcher,
  ) {}

  /** Opens a watch and waits for the first instance list, so the first pick can succeed. */
  static async open(discovery: Discovery, target: string, scheme: 'http' | 'grpc'): Promise<DiscoveryTarget> {
    const name = discoveryServiceName(target);
    if (!name) throw new Error(`not a discovery target: "${target}"`);
    const watcher = await discovery.watch(name);
    const t = new DiscoveryTarget(name, scheme, watcher);
    t.update(await watcher.next());
    void t.follow();
    return t;
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
    this.current = endpointsFor(instances, this.scheme);
    for (const listener of this.listeners) listener(this.addresses());
  }

  /** The next endpoint, round-robin; throws 503 SERVICE_UNAVAILABLE when there is none. */
  pick(): string {
    if (this.current.length === 0) {
      throw ErrServiceUnavailable(
        { service: this.serviceName, target: `discovery:///${this.serviceName}` },
        `no instance with a ${this.scheme} endpoint is registered`,
      );
    }
    const address = this.current[this.next++ % this.current.length]!;
    return address;
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
