// /healthz (the process is alive) and /readyz (ready for traffic: started and not
// stopping). Readiness means "this instance can serve": a registry outage is not a
// reason to leave the load balancer, so the registry is never one of its checks.
import type { HttpServer } from '../transport/http/server.js';

export class Readiness {
  private started = false;
  private stopping = false;
  private readonly checks: (() => boolean)[] = [];

  /** Adds a condition this instance needs to serve (e.g. a database it cannot answer without). */
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
