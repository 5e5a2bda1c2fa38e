// The __svc__ API, built through its layers (data -> biz -> service); wire.ts hands it to the
// servers, which serve every entry of Services (api/services.ts, generated from the protos).
import type { Services } from '../../api/services.js';
import type { Bootstrap } from '../conf/conf.js';
import { __Svc__Usecase } from '../biz/__svc__.js';
import type { Data } from '../data/data.js';
import { __REPO_IMPORT__ } from '../data/__svc__.js';
import type { Logger } from '../pkg/log/logger.js';
import { __Svc__Service } from './__svc__.js';

export interface ServiceDeps {
  bc: Bootstrap;
  data: Data;
  logger: Logger;
}

export function newServices(deps: ServiceDeps): Services {
  return { __svc__: new __Svc__Service(new __Svc__Usecase(__REPO_NEW__, deps.logger)) };
}
