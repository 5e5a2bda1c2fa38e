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
  /** Whether the registry is reachable right now (feeds /readyz). Optional. */
  healthy?(): boolean;
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
