// The gRPC server: default observers, the __svc__ service, health and reflection.
import type { Server_GRPC } from '../conf/conf.js';
import { registerGRPCServices, type Services } from '../../api/services.js';
import type { Readiness } from '../pkg/health/health.js';
import type { Logger } from '../pkg/log/logger.js';
import { defaultServerObservers } from '../pkg/middleware/index.js';
import { GrpcServer } from '../pkg/transport/grpc/index.js';

export interface GrpcDeps {
  logger: Logger;
  readiness: Readiness;
  services: Services;
  name: string;
}

export function newGrpcServer(config: Server_GRPC | undefined, deps: GrpcDeps): GrpcServer {
  const server = new GrpcServer({
    address: config?.addr || '0.0.0.0:9000',
    timeoutMs: config?.timeoutMs ?? 1000,
    observers: defaultServerObservers({ logger: deps.logger }),
    logger: deps.logger,
    errorDomain: deps.name,
    health: { isServing: () => deps.readiness.isReady() },
    reflection: { includeDirs: ['api', 'third_party'] },
  });
  registerGRPCServices(server, deps.services);
  return server;
}
