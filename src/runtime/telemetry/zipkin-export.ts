// Trace export to Zipkin (OTEL_TRACES_EXPORTER=zipkin), as sdk-node sets it up: the
// SDK's Zipkin exporter behind its batch span processor. The exporter reads
// OTEL_EXPORTER_ZIPKIN_ENDPOINT itself; its package is imported only by services
// that ask for Zipkin. Failed exports reach diag through the SDK's global error
// handler, and so the service's log.
import * as tracing from '@opentelemetry/sdk-trace';
import type { SpanBatcherOptions } from './span-batcher.js';

/** A batch span processor sending to Zipkin, with the same queue and batch settings as OTLP export. */
export async function zipkinSpanProcessor(batching: SpanBatcherOptions): Promise<tracing.SpanProcessor> {
  const { ZipkinExporter } = await import('@opentelemetry/exporter-zipkin');
  return new tracing.BatchSpanProcessor({ exporter: new ZipkinExporter(), ...batching });
}
