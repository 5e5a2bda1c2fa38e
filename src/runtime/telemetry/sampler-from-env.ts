// The sampler OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG name, as the OpenTelemetry
// SDK configuration specifies them. The trace SDK no longer reads them itself (3.0 left
// that to whoever sets it up), so a service reads them here, with the SDK's names and
// diagnostics.

import { diag } from '@opentelemetry/api';
import { getNumberFromEnv, getStringFromEnv } from '@opentelemetry/core';
import * as tracing from '@opentelemetry/sdk-trace';

/** The sampler the variables name; undefined when unset or unknown (the caller's default applies). */
export function samplerFromEnv(): tracing.Sampler | undefined {
  const name = getStringFromEnv('OTEL_TRACES_SAMPLER');
  switch (name) {
    case undefined:
      return undefined;
    case 'always_on':
      return new tracing.AlwaysOnSampler();
    case 'always_off':
      return new tracing.AlwaysOffSampler();
    case 'parentbased_always_on':
      return new tracing.ParentBasedSampler({ root: new tracing.AlwaysOnSampler() });
    case 'parentbased_always_off':
      return new tracing.ParentBasedSampler({ root: new tracing.AlwaysOffSampler() });
    case 'traceidratio':
      return new tracing.TraceIdRatioBasedSampler(ratioFromEnv());
    case 'parentbased_traceidratio':
      return new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(ratioFromEnv()) });
    default:
      diag.error(`unknown OTEL_TRACES_SAMPLER value "${name}", using the configured sampling ratio`);
      return undefined;
  }
}

/** OTEL_TRACES_SAMPLER_ARG for the ratio samplers: 1 when unset or outside [0, 1], as the SDK does. */
function ratioFromEnv(): number {
  const ratio = getNumberFromEnv('OTEL_TRACES_SAMPLER_ARG');
  if (ratio === undefined) {
    diag.error('OTEL_TRACES_SAMPLER_ARG is blank, defaulting to 1.');
    return 1;
  }
  if (ratio < 0 || ratio > 1) {
    diag.error(`OTEL_TRACES_SAMPLER_ARG=${ratio} was given, but it is out of range ([0..1]), defaulting to 1.`);
    return 1;
  }
  return ratio;
}
