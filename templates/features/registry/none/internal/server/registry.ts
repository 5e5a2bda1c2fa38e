// No service registry: the app registers nowhere, and clients of other services dial
// the addresses in config (clients.<name>.endpoint). Add one with `tsk registry etcd`.
import type { Registry as RegistryConfig } from '../conf/conf.js';
import { checks, type Check } from '../pkg/config/config.js';
import type { Logger } from '../pkg/log/logger.js';
import type { Discovery, Registrar } from '../pkg/registry/registry.js';

/** The registry keys' checks for this kind; internal/conf/checks.ts includes them. */
export const REGISTRY_CHECKS: Record<string, Check> = {
  'registry.kind': checks.oneOf(
    ['', 'none'],
    'no registry is installed in this project; add one with `tsk registry etcd` or `tsk registry consul`',
  ),
};

export type ServiceRegistry = Registrar & Discovery & { close?(): Promise<void> };

export function newRegistry(config: RegistryConfig | undefined, _logger: Logger): ServiceRegistry | undefined {
  const kind = config?.kind || 'none';
  if (kind !== 'none')
    throw new Error(`registry.kind "${kind}" is not installed in this project (add it with: tsk registry ${kind})`);
  return undefined;
}
