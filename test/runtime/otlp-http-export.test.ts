// OTLP over http/protobuf: spans POSTed to {endpoint}/v1/traces as the protobuf
// ExportTraceServiceRequest, received by a plain HTTP server and decoded by the
// test helper (which shares no code with the encoder).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTelemetry, type Telemetry } from '../../src/runtime/telemetry/sdk.js';
import { decodeExportTraceRequest, type ReceivedSpan } from '../helpers/otlp.js';

const requests: Array<{ url?: string | undefined; contentType?: string | undefined; spans: ReceivedSpan[] }> = [];
const collector = http.createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    requests.push({
      url: req.url,
      contentType: req.headers['content-type'],
      spans: decodeExportTraceRequest(Buffer.concat(chunks)),
    });
    res.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
  });
});
let telemetry: Telemetry;

beforeAll(async () => {
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve));
  const { port } = collector.address() as AddressInfo;
  telemetry = await setupTelemetry({
    serviceName: 'http-export',
    serviceVersion: '1',
    instanceId: 'h-1',
    otlp: { endpoint: `http://127.0.0.1:${port}`, protocol: 'http/protobuf' },
    samplingRatio: 1,
  });
});

afterAll(async () => {
  await telemetry?.shutdown();
  collector.close();
});

describe('OTLP http/protobuf trace export', () => {
  it('posts encoded spans to /v1/traces', async () => {
    const span = trace
      .getTracer('test')
      .startSpan('/shop.v1.Shop/Get', { kind: SpanKind.SERVER, attributes: { 'rpc.system': 'grpc' } });
    span.end();
    await telemetry.forceFlush();
    expect(requests).toHaveLength(1);
    expect(requests[0]).toMatchObject({ url: '/v1/traces', contentType: 'application/x-protobuf' });
    expect(requests[0]!.spans).toEqual([
      expect.objectContaining({
        traceId: span.spanContext().traceId,
        spanId: span.spanContext().spanId,
        name: '/shop.v1.Shop/Get',
        kind: 2,
        serviceName: 'http-export',
        attributes: { 'rpc.system': 'grpc' },
      }),
    ]);
  });
});
