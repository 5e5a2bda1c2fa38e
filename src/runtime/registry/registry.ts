// Service registry contracts (Kratos's registry package). Implementations: ./etcd.ts, ./consul.ts.

export interface ServiceInstance {
  /** Unique per process, e.g. hostname + pid or a UUID. */
  id: string;
  name: string;
  version: string;
  metadata: Record<string, string>;
  /** Scheme-qualified: `http://10.0.0.5:8000`, `grpc://10.0.0.5:9000`. */
  endpoints: string[];
}

export interface Registrar {
  register(instance: ServiceInstance): Promise<void>;
  deregister(instance: ServiceInstance): Promise<void>;
  /**
   * Whether the registry is reachable right now. For diagnostics only: readiness
   * never depends on it, since an instance that can serve should keep serving.
   */
  healthy?(): boolean;
}

/** A registration that failed, naming the registry, where it was looked for and the instance. */
export class RegistrationError extends Error {
  override name = 'RegistrationError';

  constructor(registry: string, address: string, instance: Pick<ServiceInstance, 'name' | 'id'>, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super(`${registry} at ${address} did not register ${instance.name} (${instance.id}): ${reason}`, { cause });
  }
}

/** What register() does when the registry cannot be reached at start. */
export type RegistryStartup = 'fail-fast' | 'retry';

/**
 * An instance's registration, the same for every registry: at start a failure
 * either stops the process (fail-fast) or is reported once and retried in the
 * background, backing off from 1 s to 10 s, until an attempt succeeds or the
 * registration is cancelled. Attempts report success to `health` themselves.
 */
export class Registrations {
  readonly health: RegistryHealth;
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private closed = false;

  constructor(
    private readonly kind: string,
    private readonly address: string,
    private readonly startup: RegistryStartup | undefined,
    events?: RegistryEvents,
  ) {
    this.health = new RegistryHealth(kind, events, address);
  }

  /** The first attempt: a failure rejects with a RegistrationError, or with startup `retry` is retried. */
  async start(
    instance: Pick<ServiceInstance, 'name' | 'id'>,
    key: string,
    attempt: () => Promise<void>,
  ): Promise<void> {
    try {
      await attempt();
    } catch (err) {
      if (this.startup !== 'retry') throw new RegistrationError(this.kind, this.address, instance, err);
      this.retry(key, attempt, err);
    }
  }

  /** Reports the failure and tries again later, doubling the wait after each failed attempt. */
  retry(key: string, attempt: () => Promise<void>, err: unknown, delayMs = 1000): void {
    // An attempt cut short by close() (the service is stopping) is no outage to report.
    if (this.closed) return;
    this.health.lost(err);
    clearTimeout(this.timers.get(key));
    const timer = setTimeout(async () => {
      this.timers.delete(key);
      if (this.closed) return;
      try {
        await attempt();
      } catch (failure) {
        this.retry(key, attempt, failure, Math.min(delayMs * 2, 10_000));
      }
    }, delayMs);
    this.timers.set(key, timer);
  }

  /** Stops retrying one registration (the instance is deregistering). */
  cancel(key: string): void {
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
  }

  /** Stops every retry, for good. */
  close(): void {
    this.closed = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

/** Registry outages as they start and end (each reported once), and what discovery sees. */
export interface RegistryEvents {
  unreachable(kind: string, err: unknown, address?: string): void;
  reachable(kind: string, downForMs: number): void;
  /**
   * The instances a watch of `service` found changed: those listed now. `kept`: the
   * registry listed none, and the last ones are kept (see discoveryWatch).
   */
  instances?(kind: string, service: string, instances: readonly ServiceInstance[], kept: boolean): void;
  /** A watch of `service` that had answered fails (its retries are not told), and when it answers again. */
  discoveryFailing?(kind: string, service: string, err: unknown): void;
  discoveryBack?(kind: string, service: string, downForMs: number): void;
}

/**
 * Logs through a pino-style logger: one line when a registry outage starts, one when it
 * ends, the same for a watch, and one for each change of a watched service's instances.
 */
export function loggedRegistryEvents(logger: {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}): RegistryEvents {
  return {
    unreachable: (kind, err, address) =>
      logger.warn(
        { err, registry: kind, ...(address ? { endpoints: address } : {}) },
        `${kind} registry unreachable; still serving, retrying registration`,
      ),
    reachable: (kind, downForMs) =>
      logger.info({ registry: kind, down_ms: downForMs }, `${kind} registry reachable again; instance registered`),
    instances: (kind, service, listed, kept) => {
      // Which instance and release joined or left, beside the addresses calls go to.
      const instances = listed.map((i) => ({ id: i.id, version: i.version, endpoints: i.endpoints }));
      if (kept)
        logger.warn(
          { registry: kind, service, instances },
          `${kind} registry lists no instance of ${service}; calls keep going to the last ones it listed`,
        );
      else logger.info({ registry: kind, service, instances }, `instances of ${service} changed`);
    },
    discoveryFailing: (kind, service, err) =>
      logger.warn(
        { err, registry: kind, service },
        `${kind} discovery of ${service} failing; calls keep going to the last instances it listed, retrying`,
      ),
    discoveryBack: (kind, service, downForMs) =>
      logger.info({ registry: kind, service, down_ms: downForMs }, `${kind} discovery of ${service} answering again`),
  };
}

/** Tracks reachability and turns its changes into single events. */
export class RegistryHealth {
  private since?: number | undefined;

  constructor(
    private readonly kind: string,
    private readonly events?: RegistryEvents,
    private readonly address?: string,
  ) {}

  get reachable(): boolean {
    return this.since === undefined;
  }

  lost(err: unknown): void {
    if (this.since !== undefined) return;
    this.since = Date.now();
    this.events?.unreachable(this.kind, err, this.address);
  }

  back(): void {
    if (this.since === undefined) return;
    const downFor = Date.now() - this.since;
    this.since = undefined;
    this.events?.reachable(this.kind, downFor);
  }
}

export interface Watcher {
  /** Resolves with the full instance list the first time at once, then on every change. */
  next(): Promise<ServiceInstance[]>;
  stop(): Promise<void>;
}

export interface Discovery {
  getService(name: string): Promise<ServiceInstance[]>;
  watch(name: string): Promise<Watcher>;
}

/**
 * A registry's watch as discovery follows it: each change is told to `events`, and a
 * list of no instances that follows one of some is not handed on; the last list is
 * kept, as Kratos's resolvers refuse an empty update. A registry that expired every
 * lease at once (it stalled longer than the TTL) would otherwise take the callers of
 * a service down while its instances still serve and register again in seconds.
 */
export function discoveryWatch(
  kind: string,
  service: string,
  watcher: Watcher,
  events: RegistryEvents | undefined,
): Watcher {
  let last: ServiceInstance[] | undefined;
  const endpoints = (list: ServiceInstance[]) => list.flatMap((i) => i.endpoints);
  return {
    next: async () => {
      for (;;) {
        const list = await watcher.next();
        if (list.length === 0 && last !== undefined && last.length > 0) {
          events?.instances?.(kind, service, last, true);
          continue;
        }
        const changed = last !== undefined && endpoints(list).join(' ') !== endpoints(last).join(' ');
        last = list;
        if (changed) events?.instances?.(kind, service, list, false);
        return list;
      }
    },
    stop: () => watcher.stop(),
  };
}
