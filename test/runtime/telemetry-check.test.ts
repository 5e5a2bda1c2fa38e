// telemetrySettingsProblem: what `--check` reports is what setupTelemetry would stop on,
// for the same config values and OTEL_* variables, without starting anything.
import { context, metrics, propagation, trace } from '@opentelemetry/api';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { setupTelemetry, telemetrySettingsProblem } from '../../src/runtime/telemetry/sdk.js';

const OTEL = [
  'OTEL_SDK_DISABLED',
  'OTEL_TRACES_EXPORTER',
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_PROTOCOL',
  'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT',
  'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
  'OTEL_EXPORTER_ZIPKIN_ENDPOINT',
];

function withEnv(env: Record<string, string>): void {
  for (const name of OTEL) vi.stubEnv(name, undefined);
  for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
}

afterEach(() => vi.unstubAllEnvs());

/** The message setupTelemetry stops with for these settings, or undefined when it starts (then shut down). */
async function startProblem(otlp: { endpoint?: string; protocol?: string; metrics?: boolean }) {
  try {
    const telemetry = await setupTelemetry({ serviceName: 's', serviceVersion: '0', instanceId: 'i', otlp });
    await telemetry.shutdown();
    // Telemetry is process-wide: the next case registers its own.
    for (const api of [trace, context, propagation, metrics]) api.disable();
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

const cases: {
  name: string;
  env: Record<string, string>;
  otlp: { endpoint?: string; protocol?: string; metrics?: boolean };
}[] = [
  { name: 'defaults', env: {}, otlp: {} },
  { name: 'a scheme-less gRPC endpoint', env: {}, otlp: { endpoint: 'otel-collector:4317' } },
  { name: 'an unknown exporter', env: { OTEL_TRACES_EXPORTER: 'jaeger' }, otlp: {} },
  {
    name: 'zipkin',
    env: { OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://zipkin:9411/api/v2/spans' },
    otlp: {},
  },
  {
    name: 'a Zipkin endpoint that is no URL',
    env: { OTEL_TRACES_EXPORTER: 'otlp,zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'zipkin 9411' },
    otlp: { endpoint: 'http://c:4317' },
  },
  { name: 'an unknown protocol in config', env: {}, otlp: { endpoint: 'http://c:4317', protocol: 'thrift' } },
  {
    name: 'a scheme-less endpoint with an HTTP protocol from the environment',
    env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' },
    otlp: {},
  },
  {
    name: 'a metrics endpoint that is no URL',
    env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c:4318/v1/traces' },
    otlp: { endpoint: 'http://[bad', protocol: 'http/json', metrics: true },
  },
  {
    name: 'anything, with the SDK disabled',
    env: { OTEL_SDK_DISABLED: 'true', OTEL_TRACES_EXPORTER: 'jaeger' },
    otlp: {},
  },
];

describe('telemetrySettingsProblem', () => {
  it.each(cases)('agrees with setupTelemetry: $name', async ({ env, otlp }) => {
    withEnv(env);
    expect(telemetrySettingsProblem(otlp)).toBe(await startProblem(otlp));
  });

  it('names the setting and what to write', () => {
    withEnv({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4318', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' });
    expect(telemetrySettingsProblem({})).toBe(
      'OTLP endpoint "collector:4318" has no scheme; with http/protobuf write http://collector:4318 (or https://)',
    );
    withEnv({ OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'zipkin 9411' });
    expect(telemetrySettingsProblem({})).toBe(
      'OTEL_EXPORTER_ZIPKIN_ENDPOINT: "zipkin 9411" is not a valid URL; write e.g. http://zipkin:9411/api/v2/spans',
    );
  });
});
