// Your additions to the service's telemetry (this file is yours: tsk never rewrites it).
// Span processors here see every server, client and handler span as it starts and ends,
// before export (redaction, a second exporter); a sampler here replaces the configured
// ratio; instrumentations trace libraries the service uses (database drivers, fetch).
import type { Bootstrap } from '../../internal/conf/conf.js';
import type { TelemetryOptions } from '../../internal/pkg/telemetry/sdk.js';
// import { PrioritySampler } from '../../internal/pkg/telemetry/priority-sampler.js';

export function telemetryExtensions(
  bc: Bootstrap,
): Pick<TelemetryOptions, 'spanProcessors' | 'sampler' | 'captureRequestHeaders' | 'instrumentations'> {
  void bc;
  return {
    spanProcessors: [],
    instrumentations: [],
    // Always sample requests sent with `x-priority: high`, the rest at telemetry.sampling_ratio:
    // captureRequestHeaders: ['x-priority'],
    // sampler: new PrioritySampler({ header: 'x-priority', value: 'high', ratio: bc.telemetry?.samplingRatio ?? 1 }),
  };
}
