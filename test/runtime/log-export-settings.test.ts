// The pieces of OTLP log export on their own: reading OTEL_LOGS_EXPORTER and the LOGS
// protocol and endpoint variables, turning a JSON log line into a log record, and the
// logger's tap that feeds the export (and leaves out OpenTelemetry's own diagnostics).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeverityNumber, TraceFlags, trace } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { createLogger, lineBatcher, notExported } from '../../src/runtime/log/logger.js';
import { logExportSettings, protocolOf } from '../../src/runtime/telemetry/export-settings.js';
import { forEachRecord, recordOfLine, severityOf } from '../../src/runtime/telemetry/log-records.js';

describe('logExportSettings', () => {
  it('is off when OTEL_LOGS_EXPORTER is unset, empty or none', () => {
    expect(logExportSettings({ endpoint: 'http://collector:4317' }, {})).toBeUndefined();
    expect(logExportSettings({}, { OTEL_LOGS_EXPORTER: ' ' })).toBeUndefined();
    expect(logExportSettings({}, { OTEL_LOGS_EXPORTER: 'none' })).toBeUndefined();
    // As sdk-node reads it: none anywhere in the list turns log export off.
    expect(logExportSettings({}, { OTEL_LOGS_EXPORTER: 'otlp,none' })).toBeUndefined();
  });

  it('otlp defaults to grpc at the standard address', () => {
    expect(logExportSettings({}, { OTEL_LOGS_EXPORTER: 'otlp' })).toEqual({
      otlp: { protocol: 'grpc', url: 'http://localhost:4317' },
      console: false,
    });
  });

  it('takes the protocol from the LOGS variable, then the shared one, then config', () => {
    const env = { OTEL_LOGS_EXPORTER: 'otlp' };
    expect(logExportSettings({ protocol: 'http/json' }, env)?.otlp?.protocol).toBe('http/json');
    expect(
      logExportSettings({ protocol: 'http/json' }, { ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' })?.otlp
        ?.protocol,
    ).toBe('http/protobuf');
    expect(
      logExportSettings(
        { protocol: 'http/json' },
        { ...env, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'grpc' },
      )?.otlp?.protocol,
    ).toBe('grpc');
    expect(protocolOf({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' }, undefined, 'LOGS')).toBe('http/json');
    expect(protocolOf({ OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json' }, undefined, 'TRACES')).toBe('grpc');
  });

  it('adds /v1/logs to a shared or configured HTTP endpoint, takes the LOGS endpoint as it is', () => {
    const http = { OTEL_LOGS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf' };
    expect(logExportSettings({ endpoint: 'http://conf:4318/' }, http)?.otlp?.url).toBe('http://conf:4318/v1/logs');
    expect(logExportSettings({}, http)?.otlp?.url).toBe('http://localhost:4318/v1/logs');
    expect(
      logExportSettings({ endpoint: 'http://conf:4318' }, { ...http, OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318' })
        ?.otlp?.url,
    ).toBe('http://env:4318/v1/logs');
    expect(
      logExportSettings(
        {},
        {
          ...http,
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318',
          OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'http://l:1/ingest',
        },
      )?.otlp?.url,
    ).toBe('http://l:1/ingest');
  });

  it('reads a scheme-less host:port as plaintext gRPC, and refuses it for HTTP', () => {
    expect(
      logExportSettings({}, { OTEL_LOGS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_ENDPOINT: 'otel-collector:4317' })?.otlp,
    ).toEqual({ protocol: 'grpc', url: 'http://otel-collector:4317' });
    expect(() =>
      logExportSettings(
        {},
        {
          OTEL_LOGS_EXPORTER: 'otlp',
          OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http/json',
          OTEL_EXPORTER_OTLP_LOGS_ENDPOINT: 'otel-collector:4318',
        },
      ),
    ).toThrow(/has no scheme; with http\/json write http:\/\/otel-collector:4318/);
  });

  it('console alone or with otlp', () => {
    expect(logExportSettings({}, { OTEL_LOGS_EXPORTER: 'console' })).toEqual({ console: true });
    expect(logExportSettings({}, { OTEL_LOGS_EXPORTER: 'console, otlp' })).toMatchObject({
      otlp: { protocol: 'grpc' },
      console: true,
    });
  });

  it('warns of an unknown exporter and ignores it; stops on an unknown protocol with one line', () => {
    const warnings: string[] = [];
    expect(logExportSettings({}, { OTEL_LOGS_EXPORTER: 'console,loki' }, (w) => warnings.push(w))).toEqual({
      console: true,
    });
    expect(logExportSettings({}, { OTEL_LOGS_EXPORTER: 'loki' }, (w) => warnings.push(w))).toBeUndefined();
    expect(warnings).toEqual([
      'OTEL_LOGS_EXPORTER: "loki" is not an exporter tsk has (otlp, console or none); ignored',
      'OTEL_LOGS_EXPORTER: "loki" is not an exporter tsk has (otlp, console or none); ignored',
    ]);
    expect(() =>
      logExportSettings({}, { OTEL_LOGS_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: 'http' }),
    ).toThrow('OTEL_EXPORTER_OTLP_LOGS_PROTOCOL: "http" is not an OTLP protocol');
  });
});

describe('telemetrySettingsProblem (--check)', () => {
  it('passes an unknown OTEL_LOGS_EXPORTER, which the service warns of as it starts', async () => {
    const { telemetrySettingsProblem, telemetrySettingsWarnings } = await import('../../src/runtime/telemetry/sdk.js');
    const saved = process.env['OTEL_LOGS_EXPORTER'];
    process.env['OTEL_LOGS_EXPORTER'] = 'loki';
    try {
      expect(telemetrySettingsProblem({})).toBeUndefined();
      expect(await telemetrySettingsWarnings({})).toContain(
        'OTEL_LOGS_EXPORTER: "loki" is not an exporter tsk has (otlp, console or none); ignored',
      );
    } finally {
      if (saved === undefined) delete process.env['OTEL_LOGS_EXPORTER'];
      else process.env['OTEL_LOGS_EXPORTER'] = saved;
    }
  });
});

describe('recordOfLine', () => {
  it("maps pino's levels to OpenTelemetry severities", () => {
    expect(
      [10, 20, 30, 40, 50, 60, 'trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((l) => severityOf(l).number),
    ).toEqual([1, 5, 9, 13, 17, 21, 1, 5, 9, 13, 17, 21]);
    expect(severityOf('warn').text).toBe('WARN');
    expect(severityOf('audit')).toEqual({ number: SeverityNumber.UNSPECIFIED, text: 'audit' });
  });

  it('makes the message the body, the time the timestamp, the ids the span context, the rest attributes', () => {
    const line = JSON.stringify({
      level: 'error',
      time: '2026-01-02T03:04:05.678Z',
      'service.name': 'shop',
      'service.version': '2',
      order: 7,
      nested: { a: [1, 'b'] },
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      span_id: '00f067aa0ba902b7',
      trace_flags: '01',
      err: { type: 'Error', message: 'boom', stack: 'Error: boom\n at x', code: 'E1' },
      msg: 'order failed',
    });
    const record = recordOfLine(line, { 'service.name': 'shop', 'service.version': '1' })!;
    expect(record).toMatchObject({
      severityNumber: SeverityNumber.ERROR,
      severityText: 'ERROR',
      body: 'order failed',
      timestamp: Date.parse('2026-01-02T03:04:05.678Z'),
    });
    // service.name repeats the resource and is left out; a differing service.version stays.
    expect(record.attributes).toEqual({
      'service.version': '2',
      order: 7,
      nested: { a: [1, 'b'] },
      'exception.type': 'Error',
      'exception.message': 'boom',
      'exception.stacktrace': 'Error: boom\n at x',
      err: { code: 'E1' },
    });
    expect(trace.getSpanContext(record.context!)).toMatchObject({
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      traceFlags: TraceFlags.SAMPLED,
    });
  });

  it('claims no trace flags for a line without them or with ones that are not two hex digits', () => {
    const ids = { trace_id: '4bf92f3577b34da6a3ce929d0e0e4736', span_id: '00f067aa0ba902b7' };
    for (const flags of [undefined, '1', 'zz', 1, '011']) {
      const record = recordOfLine(JSON.stringify({ ...ids, trace_flags: flags, msg: 'm' }))!;
      expect(trace.getSpanContext(record.context!)?.traceFlags).toBe(TraceFlags.NONE);
      expect(record.attributes).toEqual({});
    }
  });

  it('leaves out what a line does not have, and text that is not a JSON object', () => {
    const record = recordOfLine('{"level":"info","time":"not a time","a":1}')!;
    expect(record).toEqual({ severityNumber: 9, severityText: 'INFO', attributes: { a: 1 } });
    expect(recordOfLine('not json')).toBeUndefined();
    expect(recordOfLine('[1,2]')).toBeUndefined();
  });

  it('reads each line of a batch of lines', () => {
    const bodies: unknown[] = [];
    forEachRecord('{"msg":"a"}\n{"msg":"b"}\n', {}, (r) => bodies.push(r.body));
    forEachRecord('{"msg":"c"}', {}, (r) => bodies.push(r.body));
    expect(bodies).toEqual(['a', 'b', 'c']);
  });
});

describe('LineBatcher.tap', () => {
  it('hands every line over after it joined the batch, but not lines written inside notExported', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tap-')), 'log');
    const logger = createLogger({ name: 'tapped', destination: file });
    const batcher = lineBatcher(logger)!;
    const seen: string[] = [];
    const untap = batcher.tap((lines) => seen.push(lines));
    logger.info('one');
    notExported(() => logger.warn('diagnostic'));
    logger.info('two');
    untap();
    logger.info('three');
    batcher.flushSync();
    expect(seen.map((l) => JSON.parse(l).msg)).toEqual(['one', 'two']);
    const written = fs.readFileSync(file, 'utf8').trim().split('\n');
    expect(written.map((l) => JSON.parse(l).msg)).toEqual(['one', 'diagnostic', 'two', 'three']);
  });
});
