// The __svc__ API, built through its layers (data -> biz -> service) beside wire.ts, which
// hands it to the servers; they serve every entry of Services (api/services.ts, generated from the protos).
import type { Services } from '../../api/services.js';
import type { Bootstrap } from '../../internal/conf/conf.js';
import { __Svc__Usecase } from '../../internal/biz/__svc__.js';
import type { Data } from '../../internal/data/data.js';
import { __REPO_IMPORT__ } from '../../internal/data/__svc__.js';
import type { Logger } from '../../internal/pkg/log/logger.js';
import { __Svc__Service } from '../../internal/service/__svc__.js';

export interface ServiceDeps {
  bc: Bootstrap;
  data: Data;
  logger: Logger;
}

export function newServices(deps: ServiceDeps): Services {
  return { __svc__: new __Svc__Service(new __Svc__Usecase(__REPO_NEW__, deps.logger)) };
}
