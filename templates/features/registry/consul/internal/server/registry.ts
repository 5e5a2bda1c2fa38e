// Service registration and discovery in Consul: the app registers once both servers
// listen and deregisters before it stops; clients dial discovery:///<name> through it.
// Set registry.kind to none to run without it.
import type { Registry as RegistryConfig } from '../conf/conf.js';
import { checks, type Check } from '../pkg/config/config.js';
import type { Logger } from '../pkg/log/logger.js';
import { ConsulRegistry } from '../pkg/registry/consul.js';
import { loggedRegistryEvents, type Discovery, type Registrar } from '../pkg/registry/registry.js';

/** The registry keys' checks for this kind; internal/conf/checks.ts includes them. */
export const REGISTRY_CHECKS: Record<string, Check> = {
  'registry.kind': checks.oneOf(
    ['', 'none', 'consul'],
    'registries installed in this project; `tsk registry etcd` switches to etcd',
  ),
  'registry.endpoints': checks.single(checks.address(), 'Consul is reached through one agent, the node-local one'),
};

export type ServiceRegistry = Registrar & Discovery & { close?(): Promise<void> };

export function newRegistry(config: RegistryConfig | undefined, logger: Logger): ServiceRegistry | undefined {
  const kind = config?.kind || 'none';
  if (kind === 'none') return undefined;
  if (kind !== 'consul')
    throw new Error(`registry.kind "${kind}" is not installed in this project (switch with: tsk registry ${kind})`);
  return new ConsulRegistry({
    address: config?.endpoints?.[0] || '127.0.0.1:8500',
    token: config?.token || process.env['CONSUL_HTTP_TOKEN'] || undefined,
    startup: config?.startup === 'retry' ? 'retry' : 'fail-fast',
    events: loggedRegistryEvents(logger),
  });
}
