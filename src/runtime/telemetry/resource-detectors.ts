// The resource detectors OTEL_NODE_RESOURCE_DETECTORS names, as sdk-node reads the
// variable: `host` (host.* and os.*), `process`, `service`, `all`, `none`. Unset, a
// service describes its host and process itself (host.name, process.pid and runtime),
// which is what it needs without the detectors' extra reads.
import { diag } from '@opentelemetry/api';
import { getStringListFromEnv } from '@opentelemetry/core';
import * as resources from '@opentelemetry/resources';

const BY_NAME: Record<string, resources.ResourceDetector[]> = {
  host: [resources.hostDetector, resources.osDetector],
  process: [resources.processDetector],
  // service.instance.id and OTEL_SERVICE_NAME a service sets itself.
  service: [],
};

/** The detectors the variable names; undefined when it is unset or blank. */
export function resourceDetectorsFromEnv(): resources.ResourceDetector[] | undefined {
  const names = getStringListFromEnv('OTEL_NODE_RESOURCE_DETECTORS') ?? [];
  if (names.length === 0) return undefined;
  if (names.includes('none')) return [];
  const wanted = names.includes('all') ? Object.keys(BY_NAME) : names;
  return wanted.flatMap((name) => {
    const detectors = Object.hasOwn(BY_NAME, name) ? BY_NAME[name] : undefined;
    if (!detectors)
      diag.warn(
        `unknown resource detector "${name}" in OTEL_NODE_RESOURCE_DETECTORS environment variable: this detector will be skipped`,
      );
    return detectors ?? [];
  });
}
