// Shared data resources: the clients of the services this one calls
// (internal/data/clients.ts, from `tsk add client`). A database or cache client
// belongs here too, configured from conf.proto's Data, connected in open() and closed in close().
import type { Data as DataConfig, Client as ClientConfig } from '../conf/conf.js';
import type { Logger } from '../pkg/log/logger.js';
import type { Discovery } from '../pkg/registry/registry.js';
import { newClients, type Clients } from './clients.js';

export interface Data {
  clients: Clients;
  /** Runs before the servers listen: a failure stops the start (exit 1), after close() has run. */
  open(): Promise<void>;
  close(): Promise<void>;
}

export interface DataDeps {
  logger: Logger;
  /** clients.<service> from the config: endpoint and deadline per service called. */
  clients?: { [service: string]: ClientConfig } | undefined;
  /** The registry, for clients that dial discovery:///<service>. */
  discovery?: Discovery | undefined;
}

export function newData(_config: DataConfig | undefined, deps: DataDeps): Data {
  const clients = newClients(deps.clients ?? {}, { logger: deps.logger, discovery: deps.discovery });
  return { clients, open: async () => {}, close: () => clients.close() };
}
