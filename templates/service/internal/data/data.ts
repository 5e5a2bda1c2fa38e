// Shared data resources: connection pools and the clients of other services
// (internal/data/clients.ts, from `tsk add client`). The sample keeps its data in
// memory; replace the store here with a real database client, connect it in open()
// and close it in close() (docs/data.md).
import type { Data as DataConfig, Client as ClientConfig } from '../conf/conf.js';
import type { Logger } from '../pkg/log/logger.js';
import type { Discovery } from '../pkg/registry/registry.js';
import { newClients, type Clients } from './clients.js';

export interface Data {
  users: Map<string, number>;
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

export function newData(config: DataConfig | undefined, deps: DataDeps): Data {
  const users = new Map<string, number>((config?.seedUsers ?? []).map((name) => [name, 0]));
  const clients = newClients(deps.clients ?? {}, { logger: deps.logger, discovery: deps.discovery });
  deps.logger.info({ users: users.size }, 'data ready (in-memory)');
  return {
    users,
    clients,
    // Connect pools, check the database, run migrations here: nothing to do in memory.
    open: async () => {},
    close: async () => {
      users.clear();
      await clients.close();
    },
  };
}
