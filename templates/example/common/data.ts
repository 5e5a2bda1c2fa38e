// Shared data resources: the clients of the services this one calls
// (internal/data/clients.ts, from `tsk add client`). A database or cache client
// belongs here too, configured from conf.proto's Data and closed in close().
import type { Data as DataConfig, Client as ClientConfig } from '../conf/conf.js';
import type { Logger } from '../pkg/log/logger.js';
import type { Discovery } from '../pkg/registry/registry.js';
import { newClients, type Clients } from './clients.js';

export interface Data {
  clients: Clients;
  close(): Promise<void>;
}

export interface DataDeps {
  logger: Logger;
  /** clients.<service> from the config: endpoint and deadline per service called. */
  clients?: { [service: string]: ClientConfig };
  /** The registry, for clients that dial discovery:///<service>. */
  discovery?: Discovery;
}

export function newData(_config: DataConfig | undefined, deps: DataDeps): Data {
  const clients = newClients(deps.clients ?? {}, { logger: deps.logger, discovery: deps.discovery });
  return { clients, close: () => clients.close() };
}
