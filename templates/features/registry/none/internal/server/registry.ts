// No service registry: the app registers nowhere, and clients of other services dial
// the addresses in config (clients.<name>.endpoint). Add one with `tsk registry etcd`.
import type { Registry as RegistryConfig } from '../conf/conf.js';
import type { Logger } from '../pkg/log/logger.js';
import type { Discovery, Registrar } from '../pkg/registry/registry.js';

export type ServiceRegistry = Registrar & Discovery & { close?(): Promise<void> };

export function newRegistry(config: RegistryConfig | undefined, _logger: Logger): ServiceRegistry | undefined {
  const kind = config?.kind || 'none';
  if (kind !== 'none') throw new Error(`registry.kind "${kind}" is not installed in this project (add it with: tsk registry ${kind})`);
  return undefined;
}
