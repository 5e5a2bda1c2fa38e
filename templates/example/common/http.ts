// The HTTP server: default observers, the __svc__ routes, health probes, /metrics
// and the OpenAPI document.
import type { Server_HTTP } from '../conf/conf.js';
import { openApiDocument } from '../../api/openapi.js';
import { registerHTTPServices, type Services } from '../../api/services.js';
import { registerHealthRoutes, type Readiness } from '../pkg/health/health.js';
import type { Logger } from '../pkg/log/logger.js';
import { defaultServerObservers } from '../pkg/middleware/index.js';
import type { Telemetry } from '../pkg/telemetry/sdk.js';
import { HttpServer } from '../pkg/transport/http/index.js';
import { registerOpenApiRoutes } from '../pkg/transport/http/openapi.js';

export interface HttpDeps {
  logger: Logger;
  telemetry: Telemetry;
  readiness: Readiness;
  services: Services;
}

export function newHttpServer(config: Server_HTTP | undefined, deps: HttpDeps): HttpServer {
  const server = new HttpServer({
    address: config?.addr || '0.0.0.0:8000',
    timeoutMs: config?.timeoutMs ?? 1000,
    observers: defaultServerObservers({ logger: deps.logger }),
    logger: deps.logger,
  });
  registerHTTPServices(server, deps.services);
  registerHealthRoutes(server, deps.readiness);
  registerOpenApiRoutes(server, { document: openApiDocument, docs: config?.docs ?? false });
  server.handleRaw('GET', '/metrics', (request, reply) => {
    reply.hijack();
    deps.telemetry.metricsHandler(request.raw, reply.raw);
  });
  return server;
}
