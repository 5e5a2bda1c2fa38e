// /healthz (the process is alive) and /readyz (ready for traffic: started, not
// stopping, and the registry reachable when one is configured).
import type { HttpServer } from '../transport/http/server.js';

export class Readiness {
  private started = false;
  private stopping = false;
  private readonly checks: (() => boolean)[] = [];

  /** Adds a condition readiness depends on (e.g. the registry being reachable). */
  addCheck(check: () => boolean): void {
    this.checks.push(check);
  }
  markStarted(): void {
    this.started = true;
  }
  markStopping(): void {
    this.stopping = true;
  }
  isReady(): boolean {
    return this.started && !this.stopping && this.checks.every((c) => c());
  }
}

export function registerHealthRoutes(server: HttpServer, readiness: Readiness): void {
  server.handleRaw('GET', '/healthz', (_req, reply) => reply.code(200).send({ status: 'ok' }));
  server.handleRaw('GET', '/readyz', (_req, reply) =>
    readiness.isReady() ? reply.code(200).send({ status: 'ready' }) : reply.code(503).send({ status: 'not ready' }),
  );
}
