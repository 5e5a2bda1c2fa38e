// The service lifecycle (Kratos's kratos.App): start servers, register once they
// listen, wait for SIGINT/SIGTERM, then deregister, stop accepting, drain within
// the stop timeout, flush telemetry and exit 0. A second signal forces exit.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Readiness } from '../health/health.js';
import type { Registrar, ServiceInstance } from '../registry/registry.js';
import type { Server } from '../transport/server.js';

export interface AppOptions {
  name: string;
  version: string;
  id?: string;
  metadata?: Record<string, string>;
  servers: Server[];
  registrar?: Registrar;
  logger?: Logger;
  /** Drain window for in-flight calls on stop; default 10 s. */
  stopTimeoutMs?: number;
  readiness?: Readiness;
  /** Runs after servers stop (flush telemetry, close pools). */
  afterStop?: () => Promise<void>;
  /** Signals that stop the app; default SIGINT and SIGTERM. Empty: do not listen. */
  signals?: NodeJS.Signals[];
}

export interface App {
  /** Starts everything and resolves when the app has stopped. */
  run(): Promise<void>;
  stop(): Promise<void>;
  instance(): ServiceInstance;
}

export function createApp(options: AppOptions): App {
  const id = options.id ?? `${hostname()}-${process.pid}`;
  const stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
  let instance: ServiceInstance | undefined;
  let stopping: Promise<void> | undefined;
  let resolveRun: () => void = () => {};
  const log = options.logger;

  const buildInstance = (): ServiceInstance => ({
    id,
    name: options.name,
    version: options.version,
    metadata: options.metadata ?? {},
    endpoints: options.servers.map((s) => s.endpoint()),
  });

  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      options.readiness?.markStopping();
      // Leave the registry first so callers stop picking this instance, then drain.
      if (options.registrar && instance) {
        await options.registrar.deregister(instance).catch((err) => log?.error({ err }, 'deregister failed'));
      }
      await Promise.all(options.servers.map((s) => s.stop({ timeoutMs: stopTimeoutMs })));
      await options.afterStop?.().catch((err) => log?.error({ err }, 'afterStop failed'));
      log?.info({ id }, 'stopped');
      resolveRun();
    })();
    return stopping;
  };

  return {
    instance: () => instance ?? buildInstance(),
    stop,
    async run() {
      const done = new Promise<void>((resolve) => (resolveRun = resolve));
      const signals = options.signals ?? ['SIGINT', 'SIGTERM'];
      let received = 0;
      const onSignal = (signal: NodeJS.Signals) => {
        received++;
        if (received > 1) {
          log?.warn({ signal }, 'second signal: exiting now');
          process.exit(1);
        }
        log?.info({ signal }, 'shutting down');
        void stop();
      };
      for (const s of signals) process.on(s, onSignal);
      try {
        await Promise.all(options.servers.map((s) => s.start()));
        instance = buildInstance();
        if (options.registrar) await options.registrar.register(instance);
        options.readiness?.markStarted();
        log?.info({ id, endpoints: instance.endpoints }, `${options.name} ${options.version} started`);
      } catch (err) {
        await stop();
        throw err;
      }
      await done;
      for (const s of signals) process.off(s, onSignal);
    },
  };
}
