// What a valid config holds beyond its types (conf.proto gives the types): ranges,
// addresses, URLs and allowed values, by proto field path. Add checks for your own
// fields here; every broken one is reported as one line naming the key and where
// the value came from, and the service does not start.
import { checks, type Check } from '../pkg/config/config.js';
import { redactPathProblem } from '../pkg/log/logger.js';
import { OTLP_PROTOCOLS, otlpEndpointProblem } from '../pkg/telemetry/export-settings.js';
import { clientEndpointProblem, filteredEndpointProblem } from '../pkg/registry/target.js';
import { docsPageProblem } from '../pkg/transport/http/openapi.js';
import { REGISTRY_CHECKS } from '../server/registry.js';

export const CONFIG_CHECKS: Record<string, Check> = {
  'server.http.addr': checks.address(),
  'server.http.timeout_ms': checks.range(0, 3_600_000),
  'server.http.docs': (v) => (v === true ? docsPageProblem() : undefined),
  'server.grpc.addr': checks.address(),
  'server.grpc.timeout_ms': checks.range(0, 3_600_000),
  // Unset is the default (10 000 ms, 10 000 users, 15 s); 0 would read as unset, so it is refused.
  'server.stop_timeout_ms': checks.range(1, 600_000),
  'server.drain_delay_ms': checks.range(0, 600_000),
  'data.max_users': checks.range(1, 10_000_000),
  'registry.ttl_seconds': checks.range(1, 86_400),
  ...REGISTRY_CHECKS,
  'registry.startup': checks.oneOf(['', 'fail_fast', 'retry']),
  // An http(s) URL, or host:port for plaintext gRPC; whether it suits the protocol is checked at start.
  'telemetry.otlp_endpoint': (v) => (v === '' ? undefined : otlpEndpointProblem(String(v))),
  'telemetry.otlp_protocol': checks.oneOf(['', ...OTLP_PROTOCOLS]),
  'telemetry.sampling_ratio': checks.range(0, 1),
  'telemetry.context_propagation': checks.oneOf(['', 'explicit', 'async-local-storage']),
  'log.level': checks.oneOf(['', 'trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']),
  'log.redact': (v) => redactPathProblem(String(v)),
  // `*` is every entry of the map; a check reads the keys beside its own as its second argument.
  'clients.*.endpoint': (v) => clientEndpointProblem(String(v)),
  'clients.*.version': (v, client) => (v ? filteredEndpointProblem(String(client['endpoint'] ?? '')) : undefined),
};
