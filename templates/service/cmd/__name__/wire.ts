// Builds the object graph by hand, in dependency order (Kratos uses wire for this;
// plain constructor calls keep it readable and easy to change).
import type { Bootstrap } from '../../internal/conf/conf.js';
import { newData } from '../../internal/data/data.js';
import { newServices } from './services.js';
import { newGrpcServer } from '../../internal/server/grpc.js';
import { newHttpServer } from '../../internal/server/http.js';
import { newRegistry } from '../../internal/server/registry.js';
import { createApp, type App } from '../../internal/pkg/app/app.js';
import { Readiness } from '../../internal/pkg/health/health.js';
import type { Logger } from '../../internal/pkg/log/logger.js';
import type { Telemetry } from '../../internal/pkg/telemetry/sdk.js';
import type { GrpcServer } from '../../internal/pkg/transport/grpc/index.js';
import type { HttpServer } from '../../internal/pkg/transport/http/index.js';

export interface WireOptions {
  bc: Bootstrap;
  logger: Logger;
  telemetry: Telemetry;
  name: string;
  version: string;
  id: string;
}

export function wireApp({ bc, logger, telemetry, name, version, id }: WireOptions): {
  app: App;
  http: HttpServer;
  grpc: GrpcServer;
} {
  // One registry client: it registers this service and discovers the ones it calls.
  const registry = newRegistry(bc.registry, logger);
  const data = newData(bc.data, { logger, clients: bc.clients, discovery: registry });
  const services = newServices({ bc, data, logger });

  // Readiness means "can serve": a registry outage is logged and retried, not a readiness check.
  const readiness = new Readiness();

  const http = newHttpServer(bc.server?.http, { logger, telemetry, readiness, services });
  const grpc = newGrpcServer(bc.server?.grpc, { logger, readiness, services, name });
  const app = createApp({
    name,
    version,
    id,
    servers: [http, grpc],
    registrar: registry,
    logger,
    readiness,
    stopTimeoutMs: bc.server?.stopTimeoutMs || 10_000,
    drainDelayMs: bc.server?.drainDelayMs ?? 1000,
    beforeStart: () => data.open(),
    // Each closes on its own: a database pool waiting on a query must not hold back the spans.
    afterStop: async () => {
      const closed = await Promise.allSettled([data.close(), registry?.close?.(), telemetry.shutdown()]);
      const failed = closed.find((result) => result.status === 'rejected');
      if (failed) throw failed.reason;
    },
  });
  return { app, http, grpc };
}
