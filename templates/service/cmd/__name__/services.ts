// The APIs this service serves, each built through its layers (data -> biz -> service),
// here beside wire.ts so that the layers import only the ones below them, as Kratos's
// wire_gen.go builds them in cmd/. Services (api/services.ts, generated from the protos)
// has one entry per service the protos declare, and the servers serve every one; a new
// API is built here and nowhere else.
import type { Services } from '../../api/services.js';
import type { Bootstrap } from '../../internal/conf/conf.js';
import { GreeterUsecase } from '../../internal/biz/greeter.js';
import type { Data } from '../../internal/data/data.js';
import { GreeterRepoInMemory } from '../../internal/data/greeter.js';
import type { Logger } from '../../internal/pkg/log/logger.js';
import { GreeterService } from '../../internal/service/greeter.js';

export interface ServiceDeps {
  bc: Bootstrap;
  data: Data;
  logger: Logger;
}

export function newServices({ bc, data, logger }: ServiceDeps): Services {
  const repo = new GreeterRepoInMemory(data, bc.data?.maxUsers || 10_000);
  return { greeter: new GreeterService(new GreeterUsecase(repo, logger)) };
}
