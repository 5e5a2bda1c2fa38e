// Duration and size variables of the OpenTelemetry SDK (OTEL_BSP_*, OTEL_BLRP_*,
// OTEL_METRIC_EXPORT_*), read as sdk-node reads them. Apart from export-settings.ts,
// which tsk's CLI loads and so may import no package.
import { diag } from '@opentelemetry/api';

/** The variable's value when it is a number above 0; anything else set is reported through diag and `fallback` kept. */
export function positiveNumberFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (Number.isFinite(value) && value > 0) return value;
  diag.warn(`${name} (${raw}) is invalid, expected number greater than 0, using default.`);
  return fallback;
}
