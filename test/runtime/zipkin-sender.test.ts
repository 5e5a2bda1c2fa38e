// tsk's Zipkin sender against the SDK's own: the same request for the same spans, and,
// unlike the SDK's, an end to a request Zipkin never answers.
import http from 'node:http';
import net from 'node:net';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import * as tracing from '@opentelemetry/sdk-trace';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { afterEach, describe, expect, it } from 'vitest';
import { ExportHealth } from '../../src/runtime/telemetry/export-health.js';
import { boundSends, countingQueueDrops } from '../../src/runtime/telemetry/zipkin-export.js';

interface Received {
  method?: string | undefined;
  url?: string | undefined;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}

const servers: { close(): void }[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A Zipkin stand-in answering `status`, keeping each request as it came. */
async function receiver(status: number): Promise<{ url: string; requests: Received[] }> {
  const requests: Received[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      requests.push({
        method: req.method,
        url: req.url,
        headers: req.headers,
        body: JSON.parse(Buffer.concat(chunks).toString('utf8')),
      });
      res.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push({
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  });
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/api/v2/spans`, requests };
}

/** Spans with what the Zipkin model carries: parents, kinds, attributes, events, status. */
function someSpans(): tracing.ReadableSpan[] {
  const exporter = new tracing.InMemorySpanExporter();
  const provider = new tracing.TracerProvider({
    resource: resourceFromAttributes({ 'service.name': 'zipkin-test' }),
    spanProcessors: [new tracing.SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer('t');
  tracer.startActiveSpan('GET /things/{id}', { kind: 1, attributes: { 'http.request.method': 'GET' } }, (server) => {
    const child = tracer.startSpan('load', { attributes: { rows: 3, cached: false } });
    child.addEvent('cache miss', { key: 'things:7' });
    child.setStatus({ code: 2, message: 'timeout' });
    child.end();
    server.end();
  });
  return exporter.getFinishedSpans();
}

function exportWith(exporter: tracing.SpanExporter, spans: tracing.ReadableSpan[]): Promise<ExportResult> {
  return new Promise((resolve) => exporter.export(spans, resolve));
}

describe("tsk's Zipkin sender", () => {
  it('sends what the SDK sender sends: method, path, content type, body; a 4xx or 5xx is a failure', async () => {
    const spans = someSpans();
    const sdk = await receiver(202);
    const ours = await receiver(202);
    expect((await exportWith(new ZipkinExporter({ url: sdk.url }), spans)).code).toBe(ExportResultCode.SUCCESS);
    const bounded = new ZipkinExporter({ url: ours.url });
    boundSends(bounded, 5000);
    expect((await exportWith(bounded, spans)).code).toBe(ExportResultCode.SUCCESS);
    const [a, b] = [sdk.requests[0]!, ours.requests[0]!];
    expect([b.method, b.url, b.headers['content-type']]).toEqual([a.method, a.url, a.headers['content-type']]);
    expect(b.body).toEqual(a.body);
    expect((b.body as unknown[]).length).toBe(2);

    const refusing = await receiver(503);
    const failing = new ZipkinExporter({ url: refusing.url });
    boundSends(failing, 5000);
    const result = await exportWith(failing, spans);
    expect(result.code).toBe(ExportResultCode.FAILED);
    expect(result.error?.message).toBe('Got unexpected status code from zipkin: 503');
  });

  it('gives up on a Zipkin that never answers, closing the connection each time', async () => {
    const open = new Set<net.Socket>();
    const silent = net.createServer((socket) => {
      open.add(socket);
      socket.on('data', () => {}); // takes the request, never answers
      socket.on('close', () => open.delete(socket));
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    servers.push(silent);
    const exporter = new ZipkinExporter({
      url: `http://127.0.0.1:${(silent.address() as net.AddressInfo).port}/api/v2/spans`,
    });
    boundSends(exporter, 200);
    const spans = someSpans();
    for (let i = 0; i < 5; i++) {
      const result = await exportWith(exporter, spans);
      expect(result.code).toBe(ExportResultCode.FAILED);
      expect(result.error?.message).toBe('Zipkin did not answer within 200 ms (OTEL_EXPORTER_ZIPKIN_TIMEOUT)');
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(open.size).toBe(0);
    // Nothing is left pending, so a flush (and a shutdown) ends.
    await exporter.forceFlush();
  });

  it("counts the spans the batch processor's full queue drops, and says so once", async () => {
    const warned: unknown[][] = [];
    const logger = { warn: (...args: unknown[]) => warned.push(args), info: () => {} };
    const health = new ExportHealth(logger as never, Date.now, 'zipkin');
    // A Zipkin that takes its time: each export waits until the test lets it finish.
    const pending: ((result: ExportResult) => void)[] = [];
    const exporter: tracing.SpanExporter = {
      export: (_spans, done) => pending.push(done),
      shutdown: async () => {},
    };
    const processor = countingQueueDrops(
      new tracing.BatchSpanProcessor({
        exporter,
        maxQueueSize: 2,
        maxExportBatchSize: 2,
        scheduledDelayMillis: 60_000,
      }),
      health,
    );
    const span = someSpans()[0]!;
    // Two spans go out as a batch, two more fill the queue behind it, the next three are dropped.
    for (let i = 0; i < 7; i++) processor.onEnd(span);
    expect(pending).toHaveLength(1);
    expect(health.dropped.queue_full).toBe(3);
    expect(warned).toHaveLength(1);
    expect(warned[0]![1]).toMatch(/^trace export falling behind: the span queue is full/);
    // Once Zipkin answers, the queue drains and a span is kept again.
    pending.shift()!({ code: ExportResultCode.SUCCESS });
    await new Promise((resolve) => setImmediate(resolve));
    pending.shift()!({ code: ExportResultCode.SUCCESS });
    await new Promise((resolve) => setImmediate(resolve));
    processor.onEnd(span);
    expect(health.dropped.queue_full).toBe(3);
  });
});
