// The request duration histogram tsk aggregates itself must reach OTLP metric exports
// as a proper histogram (bucket counts, sum, count, min, max), not only /metrics.
import * as resources from '@opentelemetry/resources';
import * as metrics from '@opentelemetry/sdk-metrics';
import { JsonMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { describe, expect, it } from 'vitest';
import { requestRecorder } from '../../src/runtime/middleware/metrics.js';
import { requestHistograms, requestMetricsProducer } from '../../src/runtime/telemetry/request-metrics.js';
import { HeaderMap } from '../../src/runtime/transport/context.js';

describe('request duration histograms', () => {
  it('are exported through a metric reader as OTLP histograms', async () => {
    const cell = requestHistograms.server.duration.cell('http\u0000/a.v1.S/M', {
      kind: 'http',
      operation: '/a.v1.S/M',
    });
    for (const seconds of [0.003, 0.004, 0.2, 2, 12]) cell.record(seconds);
    // An operation nothing was recorded for (a stream's, never timed) gets no empty series.
    requestHistograms.server.duration.cell('grpc\u0000/a.v1.S/Watch', { kind: 'grpc', operation: '/a.v1.S/Watch' });
    const exporter = new metrics.InMemoryMetricExporter(metrics.AggregationTemporality.CUMULATIVE);
    const reader = new metrics.PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: 3_600_000,
      metricProducers: [requestMetricsProducer],
    });
    const provider = new metrics.MeterProvider({
      resource: resources.resourceFromAttributes({ 'service.name': 'm' }),
      readers: [reader],
    });
    await reader.forceFlush();
    const request = JSON.parse(
      new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(exporter.getMetrics()[0]!)!),
    );
    const metric = request.resourceMetrics[0].scopeMetrics
      .flatMap((s: any) => s.metrics)
      .find((m: any) => m.name === 'server_requests_seconds');
    const operations = metric.histogram.dataPoints.map(
      (p: any) => p.attributes.find((a: any) => a.key === 'operation').value.stringValue,
    );
    expect(operations).toContain('/a.v1.S/M');
    expect(operations).not.toContain('/a.v1.S/Watch');
    const point = metric.histogram.dataPoints[operations.indexOf('/a.v1.S/M')];
    // Past 10 s: a 12 s call is in a finite bucket, so a p99 above 1 s is computable.
    expect(point.explicitBounds).toEqual([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]);
    expect(point.bucketCounts.map(Number)).toEqual([2, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 1, 0, 0]);
    expect(Number(point.count)).toBe(5);
    expect(point.sum).toBeCloseTo(14.207);
    expect([point.min, point.max]).toEqual([0.003, 12]);
    expect(point.attributes).toEqual(
      expect.arrayContaining([{ key: 'operation', value: { stringValue: '/a.v1.S/M' } }]),
    );
    await provider.shutdown();
  });

  it('export the body sizes as integer byte histograms', async () => {
    const cell = requestHistograms.client.responseSize.cell('grpc\u0000/a.v1.S/N', {
      kind: 'grpc',
      operation: '/a.v1.S/N',
    });
    for (const bytes of [0, 64, 65, 5000, 20_000_000]) cell.record(bytes);
    const exporter = new metrics.InMemoryMetricExporter(metrics.AggregationTemporality.CUMULATIVE);
    const reader = new metrics.PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: 3_600_000,
      metricProducers: [requestMetricsProducer],
    });
    const provider = new metrics.MeterProvider({
      resource: resources.resourceFromAttributes({ 'service.name': 'm' }),
      readers: [reader],
    });
    await reader.forceFlush();
    const request = JSON.parse(
      new TextDecoder().decode(JsonMetricsSerializer.serializeRequest(exporter.getMetrics()[0]!)!),
    );
    const metric = request.resourceMetrics[0].scopeMetrics
      .flatMap((s: any) => s.metrics)
      .find((m: any) => m.name === 'client_requests_response_bytes');
    expect(metric.unit).toBe('By');
    const point = metric.histogram.dataPoints[0];
    expect(point.explicitBounds).toEqual([64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216]);
    expect(point.bucketCounts.map(Number)).toEqual([2, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    expect([Number(point.count), point.sum, point.min, point.max]).toEqual([5, 20_005_129, 0, 20_000_000]);
    await provider.shutdown();
  });
});

describe('the request recorder', () => {
  it('times unary calls but not streams, whose duration is how long they were kept open; both are counted and sized', () => {
    const record = requestRecorder('server');
    const transport = (operation: string, stream: boolean) => ({
      kind: 'grpc' as const,
      endpoint: '',
      operation,
      requestHeader: new HeaderMap(),
      replyHeader: new HeaderMap(),
      stream,
    });
    const call = (operation: string, stream: boolean) => ({
      transport: transport(operation, stream),
      signal: new AbortController().signal,
      values: new Map(),
      requestBytes: 10,
      responseBytes: 20,
    });
    record(call('/r.v1.S/Get', false), { elapsedMs: 3 });
    record(call('/r.v1.S/Watch', true), { elapsedMs: 600_000 });
    const cell = (h: keyof typeof requestHistograms.server, operation: string) =>
      requestHistograms.server[h].cell(`grpc\u0000${operation}`, { kind: 'grpc', operation });
    expect(cell('duration', '/r.v1.S/Get').count).toBe(1);
    expect(cell('duration', '/r.v1.S/Watch').count).toBe(0);
    expect(cell('requestSize', '/r.v1.S/Watch').count).toBe(1);
    expect(cell('responseSize', '/r.v1.S/Watch').count).toBe(1);
  });
});
