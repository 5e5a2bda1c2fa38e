// Which exporters run and where OTLP (and Zipkin) export goes: the standard OTEL_*
// variables over the service's config, checked up front so a setting that cannot
// work stops the service with one line instead of losing every span quietly.
// No package imports here: tsk's CLI checks `--otlp-endpoint` with this file, and the
// installed CLI has none of the runtime's packages (test/cli/dependencies.test.ts).

export type OtlpProtocol = 'grpc' | 'http/protobuf' | 'http/json';
export const OTLP_PROTOCOLS: readonly OtlpProtocol[] = ['grpc', 'http/protobuf', 'http/json'];

/** A telemetry setting that cannot work; its message is one line saying what to write instead. */
export class TelemetrySettingsError extends Error {
  override name = 'TelemetrySettingsError';
}

export interface TraceExportSettings {
  /** OTLP export, when it is on. */
  otlp?: {
    protocol: OtlpProtocol;
    endpoint: string;
    /** The endpoint is the traces URL itself (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT): no /v1/traces is added for HTTP. */
    exact: boolean;
  };
  /** Also print spans on stdout (OTEL_TRACES_EXPORTER=console). */
  console: boolean;
  /**
   * Also send spans to Zipkin (OTEL_TRACES_EXPORTER=zipkin). The exporter reads
   * OTEL_EXPORTER_ZIPKIN_ENDPOINT itself; it is checked here only so a bad one stops the service.
   */
  zipkin: boolean;
}

/** The names OTEL_TRACES_EXPORTER takes. */
export const TRACE_EXPORTERS = ['otlp', 'zipkin', 'console', 'none'] as const;

/** The names OTEL_LOGS_EXPORTER takes. */
const LOG_EXPORTERS = ['otlp', 'console', 'none'] as const;

/** Where the Zipkin exporter sends spans when OTEL_EXPORTER_ZIPKIN_ENDPOINT is unset (its own default). */
export const DEFAULT_ZIPKIN_ENDPOINT = 'http://localhost:9411/api/v2/spans';

export interface ConfiguredExport {
  endpoint?: string | undefined;
  protocol?: string | undefined;
}

/** The collector a protocol's exporter talks to when none is configured (the OpenTelemetry defaults). */
const DEFAULT_ENDPOINTS: Record<OtlpProtocol, string> = {
  grpc: 'http://localhost:4317',
  'http/protobuf': 'http://localhost:4318',
  'http/json': 'http://localhost:4318',
};

/**
 * The trace export settings. Without OTEL_TRACES_EXPORTER, spans are exported over
 * OTLP when an endpoint is configured (config or OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT)
 * and not at all otherwise; `otlp` without an endpoint uses the standard default.
 */
export function traceExportSettings(
  configured: ConfiguredExport,
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = () => {},
): TraceExportSettings {
  const { listed, names: exporters } = exportersFrom(env, 'OTEL_TRACES_EXPORTER', TRACE_EXPORTERS, warn);
  // Only names tsk does not have: as sdk-node, no exporter is set up.
  if (listed && exporters.length === 0) {
    warn('OTEL_TRACES_EXPORTER names no exporter tsk has: spans are not exported');
    return { console: false, zipkin: false };
  }
  const protocol = protocolOf(env, configured.protocol);
  const tracesEndpoint = nonEmpty(env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT']);
  const endpoint = tracesEndpoint ?? nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']) ?? nonEmpty(configured.endpoint);
  const console = exporters.includes('console');
  const zipkin = exporters.includes('zipkin');
  if (zipkin) {
    const problem = zipkinEndpointProblem(nonEmpty(env['OTEL_EXPORTER_ZIPKIN_ENDPOINT']) ?? DEFAULT_ZIPKIN_ENDPOINT);
    if (problem) throw new TelemetrySettingsError(problem);
  }
  if (exporters.includes('none') && exporters.length === 1) return { console: false, zipkin: false };
  const otlpOn = exporters.length === 0 ? endpoint !== undefined : exporters.includes('otlp');
  if (!otlpOn) return { console, zipkin };
  return {
    otlp: {
      protocol,
      endpoint: otlpEndpoint(endpoint ?? DEFAULT_ENDPOINTS[protocol], protocol),
      exact: tracesEndpoint !== undefined,
    },
    console,
    zipkin,
  };
}

export interface LogExportSettings {
  /** OTLP export, when OTEL_LOGS_EXPORTER names otlp. */
  otlp?: {
    protocol: OtlpProtocol;
    /** What the exporter is given as its url: for HTTP the logs URL itself (…/v1/logs), for gRPC the collector. */
    url: string;
  };
  /** Also print log records on stdout (OTEL_LOGS_EXPORTER=console). */
  console: boolean;
}

/**
 * The log export settings, read as sdk-node reads OTEL_LOGS_EXPORTER (a list of
 * otlp, console, none; `none` anywhere in it turns log export off). Undefined when
 * logs are not exported: the variable unset, empty or `none`. Unset stays off, unlike
 * sdk-node's default: the service's stdout lines already carry every field and the
 * trace ids, and a collector reading them (filelog) would get each line twice.
 * Protocol and endpoint follow the trace rules with the LOGS variables.
 */
export function logExportSettings(
  configured: ConfiguredExport,
  env: NodeJS.ProcessEnv = process.env,
  warn: (line: string) => void = () => {},
): LogExportSettings | undefined {
  const { names: exporters } = exportersFrom(env, 'OTEL_LOGS_EXPORTER', LOG_EXPORTERS, warn);
  if (exporters.length === 0 || exporters.includes('none')) return undefined;
  const console = exporters.includes('console');
  if (!exporters.includes('otlp')) return { console };
  const protocol = protocolOf(env, configured.protocol, 'LOGS');
  const logsEndpoint = nonEmpty(env['OTEL_EXPORTER_OTLP_LOGS_ENDPOINT']);
  if (logsEndpoint !== undefined) return { otlp: { protocol, url: otlpEndpoint(logsEndpoint, protocol) }, console };
  const base = otlpEndpoint(
    nonEmpty(env['OTEL_EXPORTER_OTLP_ENDPOINT']) ?? nonEmpty(configured.endpoint) ?? DEFAULT_ENDPOINTS[protocol],
    protocol,
  );
  // Only the HTTP exporters take a path: the signal's, added to the shared base.
  return { otlp: { protocol, url: protocol === 'grpc' ? base : joinPath(base, '/v1/logs') }, console };
}

/** `endpoint` with a signal's path (`/v1/traces`) at its end, once. */
export function joinPath(endpoint: string, path: string): string {
  return endpoint.endsWith(path) ? endpoint : endpoint.replace(/\/$/, '') + path;
}

/**
 * The names of a `OTEL_*_EXPORTER` list that are among `accepted` (whose last is `none`),
 * and whether the variable lists any at all. Another name is warned of and ignored, as the
 * specification asks of a value an SDK does not know, and as sdk-node does.
 */
function exportersFrom(
  env: NodeJS.ProcessEnv,
  variable: string,
  accepted: readonly string[],
  warn: (line: string) => void,
): { listed: boolean; names: string[] } {
  const listed = listOf(env[variable]);
  const names = listed.filter((name) => accepted.includes(name));
  for (const name of listed) {
    if (!accepted.includes(name))
      warn(`${variable}: "${name}" is not an exporter tsk has (${accepted.slice(0, -1).join(', ')} or none); ignored`);
  }
  return { listed: listed.length > 0, names };
}

/**
 * Why the Zipkin exporter cannot send to `endpoint`, in one line, or undefined when it
 * can. The exporter parses it when it is created, and posts with http or https only.
 */
export function zipkinEndpointProblem(endpoint: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `OTEL_EXPORTER_ZIPKIN_ENDPOINT: "${endpoint}" is not a valid URL; write e.g. http://zipkin:9411/api/v2/spans`;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return `OTEL_EXPORTER_ZIPKIN_ENDPOINT: "${endpoint}" must start with http:// or https://`;
  }
  return undefined;
}

/**
 * A signal's OTLP protocol: OTEL_EXPORTER_OTLP_<SIGNAL>_PROTOCOL, else
 * OTEL_EXPORTER_OTLP_PROTOCOL, else the configured one, else grpc.
 */
export function protocolOf(
  env: NodeJS.ProcessEnv,
  configured: string | undefined,
  signal: 'TRACES' | 'METRICS' | 'LOGS' = 'TRACES',
): OtlpProtocol {
  const variable = [`OTEL_EXPORTER_OTLP_${signal}_PROTOCOL`, 'OTEL_EXPORTER_OTLP_PROTOCOL'].find(
    (name) => nonEmpty(env[name]) !== undefined,
  );
  const value = (variable && nonEmpty(env[variable])) ?? nonEmpty(configured) ?? 'grpc';
  if (!(OTLP_PROTOCOLS as readonly string[]).includes(value)) {
    const source = variable ?? 'telemetry.otlp_protocol';
    throw new TelemetrySettingsError(
      `${source}: "${value}" is not an OTLP protocol; use grpc, http/protobuf or http/json`,
    );
  }
  return value as OtlpProtocol;
}

/**
 * The endpoint as a URL the exporter takes. `host:port` without a scheme is what
 * gRPC collectors are usually given (`otel-collector:4317`): it means plaintext
 * gRPC, as with an insecure gRPC exporter. The HTTP protocols need the scheme.
 */
export function otlpEndpoint(endpoint: string, protocol: OtlpProtocol): string {
  const problem = otlpEndpointProblem(endpoint, protocol);
  if (problem) throw new TelemetrySettingsError(problem);
  return hasScheme(endpoint) ? endpoint : `http://${endpoint}`;
}

/** Why an OTLP endpoint cannot work with a protocol, in one line, or undefined when it can. */
export function otlpEndpointProblem(endpoint: string, protocol: OtlpProtocol = 'grpc'): string | undefined {
  if (hasScheme(endpoint)) {
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return `OTLP endpoint "${endpoint}" is not a valid URL; write e.g. http://otel-collector:4317`;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return `OTLP endpoint "${endpoint}" must start with http:// or https://`;
    }
    return undefined;
  }
  if (protocol !== 'grpc') {
    return `OTLP endpoint "${endpoint}" has no scheme; with ${protocol} write http://${endpoint} (or https://)`;
  }
  const port = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(endpoint)?.[2];
  if (port === undefined) {
    return `OTLP endpoint "${endpoint}" is neither host:port nor a URL; write e.g. otel-collector:4317 or http://otel-collector:4317`;
  }
  if (Number(port) < 1 || Number(port) > 65535) {
    return `OTLP endpoint "${endpoint}": port ${port} is not between 1 and 65535`;
  }
  return undefined;
}

function hasScheme(endpoint: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(endpoint);
}

/** The variables that add headers to OTLP exports: the shared one and each signal's. */
const HEADER_VARIABLES = ['', 'TRACES_', 'METRICS_', 'LOGS_'].map((signal) => `OTEL_EXPORTER_OTLP_${signal}HEADERS`);

/**
 * Entries of the OTEL_EXPORTER_OTLP_(<SIGNAL>_)HEADERS variables the exporters skip
 * without a word (not `key=value`, an empty key or value, percent-encoding that does not
 * decode), one line each. An entry's text is not quoted: a mistyped one may hold a token.
 */
export function headerProblems(env: NodeJS.ProcessEnv = process.env): string[] {
  const problems: string[] = [];
  for (const variable of HEADER_VARIABLES) {
    const entries = (env[variable] ?? '').split(',');
    entries.forEach((entry, index) => {
      if (entry.trim() === '') return;
      const equals = entry.indexOf('=');
      const key = equals < 0 ? '' : entry.slice(0, equals).trim();
      const value = equals < 0 ? '' : entry.slice(equals + 1).trim();
      const at = `${variable}: entry ${index + 1}`;
      if (!key) problems.push(`${at} is not key=value and is ignored; write e.g. authorization=Bearer%20token`);
      else if (!decodes(key)) problems.push(`${at} is not valid percent-encoding and is ignored`);
      else if (!value) problems.push(`${at} (${JSON.stringify(key)}) has no value and is ignored`);
      else if (!decodes(value))
        problems.push(`${at} (${JSON.stringify(key)}) is not valid percent-encoding and is ignored`);
    });
  }
  return problems;
}

function decodes(text: string): boolean {
  try {
    decodeURIComponent(text);
    return true;
  } catch {
    return false;
  }
}

function listOf(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
