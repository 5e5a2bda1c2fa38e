// The service lifecycle (Kratos's kratos.App): start servers, register once they
// listen, wait for SIGINT/SIGTERM, then stop in order (stop.ts) within the stop
// timeout and exit 0. A second signal forces exit. An error no code caught stops the
// app the same way, then exits 1.
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import type { Readiness } from '../health/health.js';
import type { Registrar, ServiceInstance } from '../registry/registry.js';
import type { Server } from '../transport/server.js';
import { appStarted } from './after-start.js';
import { releaseStartupMemoryWhenIdle } from './heap.js';
import { StopBudget } from './stop.js';

export interface AppOptions {
  name: string;
  version: string;
  id?: string | undefined;
  metadata?: Record<string, string> | undefined;
  servers: Server[];
  registrar?: Registrar | undefined;
  logger?: Logger | undefined;
  /** The whole stop (deregister, drain delay, in-flight calls, afterStop) fits in this; default 10 s. */
  stopTimeoutMs?: number | undefined;
  /**
   * How long to keep serving after deregistering, before the listeners close, so
   * callers that still hold this instance's address (discovery caches, load
   * balancers catching up with /readyz) stop picking it first. Default 0.
   */
  drainDelayMs?: number | undefined;
  readiness?: Readiness | undefined;
  /**
   * Runs before the servers listen (open pools, check the database, run migrations): the
   * service is started, registered and ready only once it resolves. When it fails, the
   * start fails with its error, after afterStop has run.
   */
  beforeStart?: (() => Promise<void>) | undefined;
  /** Runs after servers stop (flush telemetry, close pools); cut off at the stop timeout. */
  afterStop?: (() => Promise<void>) | undefined;
  /**
   * Signals that stop the app; default SIGINT and SIGTERM. Empty: do not listen, and leave
   * uncaught errors to whoever owns the process (a test runner).
   */
  signals?: NodeJS.Signals[] | undefined;
  /**
   * Once started, the work queued with afterStart settled and the event loop idle, run
   * one memory-reducing garbage collection so the memory start-up used goes back to the
   * system (heap.ts). Default true.
   */
  releaseStartupMemory?: boolean | undefined;
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
  /** Whether the registry took the instance: a start whose registration failed has no entry to remove. */
  let registered = false;
  let stopping: Promise<void> | undefined;
  let resolveRun: () => void = () => {};
  let cancelRelease = () => {};
  const log = options.logger;

  const buildInstance = (): ServiceInstance => ({
    id,
    name: options.name,
    version: options.version,
    metadata: options.metadata ?? {},
    endpoints: options.servers.flatMap((s) => {
      const endpoint = s.endpoint?.();
      return endpoint ? [endpoint] : [];
    }),
  });

  // deregister -> drain delay -> stop accepting and finish in-flight calls -> afterStop
  // (telemetry flush), each step cut short so the whole stop fits in the stop timeout.
  // After a failed start there is no traffic to drain and nothing to announce: the
  // caller reports the failure, which is then the last line.
  const stop = (afterFailedStart = false): Promise<void> => {
    stopping ??= (async () => {
      const budget = new StopBudget(stopTimeoutMs);
      cancelRelease();
      options.readiness?.markStopping();
      // Leave the registry first so callers stop picking this instance, then drain.
      const registrar = options.registrar;
      if (registrar && instance && (registered || !afterFailedStart)) {
        const leaving = instance;
        const done = await budget.step(budget.forDeregister(), () => registrar.deregister(leaving));
        if (done === 'failed') log?.error({ err: budget.lastError }, 'deregister failed');
        if (done === 'timeout')
          log?.warn(
            'deregister did not finish in time; the registry drops the entry itself (etcd when its lease expires, Consul once its check has been critical for DeregisterCriticalServiceAfter)',
          );
      }
      if (!afterFailedStart) {
        for (const server of options.servers) server.drain?.();
        await budget.sleep(Math.min(options.drainDelayMs ?? 0, budget.forServers()));
      }
      const serversMs = budget.forServers();
      await Promise.all(options.servers.map((s) => s.stop({ timeoutMs: serversMs })));
      if (options.afterStop) {
        const done = await budget.step(budget.remaining(), options.afterStop);
        if (done === 'failed') log?.error({ err: budget.lastError }, 'afterStop failed');
        if (done === 'timeout')
          log?.warn(
            { stop_timeout_ms: stopTimeoutMs },
            'afterStop (closing data, flushing telemetry) cut off at the stop timeout',
          );
      }
      if (!afterFailedStart) log?.info({ id, elapsed_ms: budget.elapsed() }, 'stopped');
      log?.flush();
      resolveRun();
    })();
    return stopping;
  };

  return {
    instance: () => instance ?? buildInstance(),
    stop: () => stop(),
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
      // A rejected promise nobody awaited, or a throw in a timer, leaves the process in a
      // state no code planned for, and Node would exit at once, mid-answer to every other
      // caller, with its own plain-text report. It is logged as a line like any other (with
      // its stack); the instance leaves the registry and finishes its calls in flight as at
      // a signal, then exits 1.
      let crashed = false;
      const onUncaught = (err: unknown, origin: string) => {
        const msg = stopping ? 'uncaught error while stopping' : 'uncaught error; stopping';
        if (log) log.fatal({ err, origin }, msg);
        else console.error(`${msg} (${origin}):`, err);
        crashed = true;
        void stop();
      };
      const onRejection = (reason: unknown) => onUncaught(reason, 'unhandledRejection');
      if (signals.length > 0) {
        process.on('uncaughtException', onUncaught);
        process.on('unhandledRejection', onRejection);
      }
      const unlisten = () => {
        for (const s of signals) process.off(s, onSignal);
        process.off('uncaughtException', onUncaught);
        process.off('unhandledRejection', onRejection);
      };
      const serve = async () => {
        await startAll(options.servers);
        const started = buildInstance();
        instance = started;
        if (options.registrar) await options.registrar.register(started);
        registered = true;
        // A signal while the registry had not answered yet: the stop under way ends this run.
        if (stopping) return;
        options.readiness?.markStarted();
        log?.info({ id, endpoints: started.endpoints }, `${options.name} ${options.version} started`);
        const settled = appStarted();
        if (options.releaseStartupMemory ?? true)
          void settled.then(() => {
            if (stopping) return;
            cancelRelease = releaseStartupMemoryWhenIdle((bytes) =>
              log?.debug({ released_mb: Math.round(bytes / 1048576) }, 'start-up memory released'),
            );
          });
      };
      try {
        // A signal during beforeStart (a database that never answers): the stop ends this run
        // without waiting for it, and no server starts.
        if (options.beforeStart) {
          const opening = options.beforeStart();
          opening.catch(() => {}); // a failure after a stop has nothing left to fail
          await Promise.race([opening, done]);
        }
        if (!stopping) await serve();
      } catch (err) {
        // A start cut short by a requested stop (the registry client closed under a pending
        // registration) is that stop, exit 0, not a failed start.
        if (!stopping) {
          await stop(true);
          unlisten();
          throw err;
        }
      }
      await done;
      unlisten();
      if (crashed) process.exit(1);
    },
  };
}

/**
 * Starts every server, waiting for all of them: when several fail (both ports taken),
 * the error names each failure, not only the first.
 */
async function startAll(servers: readonly Server[]): Promise<void> {
  const failed = (await Promise.allSettled(servers.map((s) => s.start())))
    .filter((r): r is PromiseRejectedResult => r.status === 'rejected')
    .map((r) => r.reason as unknown);
  if (failed.length === 1) throw failed[0];
  if (failed.length > 1)
    throw new AggregateError(failed, failed.map((e) => (e instanceof Error ? e.message : String(e))).join('; '));
}
