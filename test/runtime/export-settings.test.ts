// traceExportSettings: which trace exporters OTEL_TRACES_EXPORTER turns on, and the
// settings it refuses up front with one line (a Zipkin endpoint
// the exporter cannot use).
import { describe, expect, it } from 'vitest';
import {
  headerProblems,
  TelemetrySettingsError,
  traceExportSettings,
  zipkinEndpointProblem,
} from '../../src/runtime/telemetry/export-settings.js';

const settings = (env: Record<string, string>, configured = {}) => traceExportSettings(configured, env);
const refusal = (env: Record<string, string>) => {
  try {
    settings(env);
  } catch (err) {
    expect(err).toBeInstanceOf(TelemetrySettingsError);
    return (err as Error).message;
  }
  return undefined;
};

describe('OTEL_TRACES_EXPORTER=zipkin', () => {
  it('turns Zipkin export on, alone or beside otlp and console', () => {
    expect(settings({ OTEL_TRACES_EXPORTER: 'zipkin' })).toEqual({ console: false, zipkin: true });
    expect(settings({ OTEL_TRACES_EXPORTER: 'console, zipkin' })).toEqual({ console: true, zipkin: true });
    expect(settings({ OTEL_TRACES_EXPORTER: 'otlp,zipkin' })).toEqual({
      otlp: { protocol: 'grpc', endpoint: 'http://localhost:4317', exact: false },
      console: false,
      zipkin: true,
    });
  });

  it('zipkin alone leaves a configured OTLP endpoint unused, as otlp is not named', () => {
    expect(settings({ OTEL_TRACES_EXPORTER: 'zipkin' }, { endpoint: 'http://c:4317' })).toEqual({
      console: false,
      zipkin: true,
    });
  });

  it('is off unless named', () => {
    expect(settings({})).toEqual({ console: false, zipkin: false });
    expect(settings({ OTEL_TRACES_EXPORTER: 'otlp' }).zipkin).toBe(false);
    expect(settings({ OTEL_TRACES_EXPORTER: 'none' }).zipkin).toBe(false);
  });

  it('takes any http or https OTEL_EXPORTER_ZIPKIN_ENDPOINT, and the default when it is unset or blank', () => {
    for (const endpoint of ['http://zipkin:9411/api/v2/spans', 'https://zipkin.example/api/v2/spans', ' ']) {
      expect(refusal({ OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: endpoint })).toBeUndefined();
    }
    expect(refusal({ OTEL_TRACES_EXPORTER: 'zipkin' })).toBeUndefined();
  });

  it('refuses an OTEL_EXPORTER_ZIPKIN_ENDPOINT that is not an http(s) URL, in one line', () => {
    expect(refusal({ OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'zipkin 9411' })).toBe(
      'OTEL_EXPORTER_ZIPKIN_ENDPOINT: "zipkin 9411" is not a valid URL; write e.g. http://zipkin:9411/api/v2/spans',
    );
    expect(refusal({ OTEL_TRACES_EXPORTER: 'otlp,zipkin', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'http://[bad' })).toMatch(
      /^OTEL_EXPORTER_ZIPKIN_ENDPOINT: "http:\/\/\[bad" is not a valid URL/,
    );
    expect(zipkinEndpointProblem('zipkin:9411')).toBe(
      'OTEL_EXPORTER_ZIPKIN_ENDPOINT: "zipkin:9411" must start with http:// or https://',
    );
  });

  it('does not check OTEL_EXPORTER_ZIPKIN_ENDPOINT when Zipkin is off', () => {
    expect(refusal({ OTEL_TRACES_EXPORTER: 'console', OTEL_EXPORTER_ZIPKIN_ENDPOINT: 'zipkin 9411' })).toBeUndefined();
  });
});

describe('an unknown OTEL_TRACES_EXPORTER', () => {
  it('is warned of and ignored, as the specification and sdk-node have it; the names tsk has still work', () => {
    const warnings: string[] = [];
    expect(traceExportSettings({}, { OTEL_TRACES_EXPORTER: 'otlp,jaeger' }, (w) => warnings.push(w))).toMatchObject({
      otlp: { protocol: 'grpc', endpoint: 'http://localhost:4317' },
    });
    expect(warnings).toEqual([
      'OTEL_TRACES_EXPORTER: "jaeger" is not an exporter tsk has (otlp, zipkin, console or none); ignored',
    ]);
  });

  it('naming only unknown exporters, exports no spans and says so', () => {
    const warnings: string[] = [];
    const endpoint = { endpoint: 'http://collector:4317' };
    expect(traceExportSettings(endpoint, { OTEL_TRACES_EXPORTER: 'jaeger' }, (w) => warnings.push(w))).toEqual({
      console: false,
      zipkin: false,
    });
    expect(warnings).toEqual([
      'OTEL_TRACES_EXPORTER: "jaeger" is not an exporter tsk has (otlp, zipkin, console or none); ignored',
      'OTEL_TRACES_EXPORTER names no exporter tsk has: spans are not exported',
    ]);
  });
});

describe('OTEL_EXPORTER_OTLP_(<SIGNAL>_)HEADERS', () => {
  it('names the entries the exporters would skip in silence, without quoting a value', () => {
    expect(
      headerProblems({
        OTEL_EXPORTER_OTLP_HEADERS: 'garbage,x-ok=1,x-bad=%zz, ,',
        OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'Authorization: Bearer secret,x-empty=',
        OTEL_EXPORTER_OTLP_LOGS_HEADERS: 'a=b',
      }),
    ).toEqual([
      'OTEL_EXPORTER_OTLP_HEADERS: entry 1 is not key=value and is ignored; write e.g. authorization=Bearer%20token',
      'OTEL_EXPORTER_OTLP_HEADERS: entry 3 ("x-bad") is not valid percent-encoding and is ignored',
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS: entry 1 is not key=value and is ignored; write e.g. authorization=Bearer%20token',
      'OTEL_EXPORTER_OTLP_TRACES_HEADERS: entry 2 ("x-empty") has no value and is ignored',
    ]);
    expect(headerProblems({ OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20token, x-tenant = shop ' })).toEqual(
      [],
    );
  });
});
