// OpenTelemetry setup for a service: resource, OTLP trace (and optional metric)
// export, a parent-based ratio sampler, and a Prometheus reader served on /metrics.
// The standard OTEL_* variables win over config, so platform settings (the
// collector address in Kubernetes) need no config change.

import { NodeSDK, metrics, resources, tracing } from '@opentelemetry/sdk-node';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } from '@opentelemetry/otlp-grpc-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import type { IExporterMetricsHelper, ISerializer } from '@opentelemetry/otlp-transformer';
import { OTLPMetricExporter as OTLPMetricExporterGrpc } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as OTLPMetricExporterProto } from '@opentelemetry/exporter-metrics-otlp-proto';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import { SynchronousContextManager } from './context-manager.js';
import { setMiddlewareSampling, TRACER } from './presample.js';
import { spanLimitsFromEnv } from './recorded-span.js';
import { requestMetricsProducer } from './request-metrics.js';
import { batcherOptionsFromEnv, SpanBatcher, type BatchSender, type EncodedBatch } from './span-batcher.js';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion: string;
  instanceId: string;
  /** deployment.environment.name, e.g. "production". */
  environment?: string;
  otlp?: {
    /** Collector address; `OTEL_EXPORTER_OTLP_ENDPOINT` overrides it. Empty: no trace export. */
    endpoint?: string;
    /** Default grpc (port 4317); `http/protobuf` uses 4318. `OTEL_EXPORTER_OTLP_PROTOCOL` overrides it. */
    protocol?: 'grpc' | 'http/protobuf';
    /** Also push metrics over OTLP (besides the /metrics scrape endpoint). */
    metrics?: boolean;
    /** Metric push interval; default 60 s. */
    metricIntervalMs?: number;
  };
  /** Share of new traces sampled (parent decision wins); default 1. `OTEL_TRACES_SAMPLER(_ARG)` overrides it. */
  samplingRatio?: number;
  /** Upper bound on spans waiting for export; the rest are dropped, so memory stays bounded. Default 2048; `OTEL_BSP_MAX_QUEUE_SIZE` overrides it. */
  maxQueueSize?: number;
  /**
   * How the active OpenTelemetry context is tracked. `explicit` (default): only through
   * the call Context tsk's middleware and clients pass along, at no cost to the rest of
   * the process. `async-local-storage`: also across awaits, which third-party
   * auto-instrumentations (database drivers and the like) need; it slows every promise.
   */
  contextPropagation?: 'explicit' | 'async-local-storage';
}

export interface Telemetry {
  /** Serves the Prometheus text exposition; mount it on GET /metrics. */
  metricsHandler(request: IncomingMessage, response: ServerResponse): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

export async function setupTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  // Export failures (collector down) are reported once per kind by the SDK; keep them off stdout noise.
  diag.setLogger({ error: () => {}, warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {} }, DiagLogLevel.NONE);

  const env = process.env;
  const endpoint = env['OTEL_EXPORTER_OTLP_TRACES_ENDPOINT'] ?? env['OTEL_EXPORTER_OTLP_ENDPOINT'] ?? options.otlp?.endpoint;
  const protocol = (env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? options.otlp?.protocol ?? 'grpc') as string;

  const resource = resources.resourceFromAttributes({
    'service.name': env['OTEL_SERVICE_NAME'] ?? options.serviceName,
    'service.version': options.serviceVersion,
    'service.instance.id': options.instanceId,
    'host.name': hostname(),
    'process.pid': process.pid,
    'process.runtime.name': 'nodejs',
    'process.runtime.version': process.versions.node,
    ...(options.environment ? { 'deployment.environment.name': options.environment } : {}),
  }).merge(resources.detectResources({ detectors: [resources.envDetector] }));

  const batcher = endpoint
    ? new SpanBatcher(traceSender(protocol, endpoint), batcherOptionsFromEnv({
      maxQueueSize: options.maxQueueSize ?? 2048,
      maxExportBatchSize: 512,
      scheduledDelayMillis: 1000,
      exportTimeoutMillis: 10_000,
    }))
    : undefined;
  const spanProcessors: tracing.SpanProcessor[] = batcher ? [batcher] : [];

  const prometheus = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true, metricProducers: [requestMetricsProducer] } as ConstructorParameters<typeof PrometheusExporter>[0]);
  const metricReaders: metrics.IMetricReader[] = [prometheus];
  if (endpoint && options.otlp?.metrics) {
    const exporter = protocol === 'grpc'
      ? new OTLPMetricExporterGrpc({ url: endpoint })
      : new OTLPMetricExporterProto({ url: joinPath(endpoint, '/v1/metrics') });
    metricReaders.push(new metrics.PeriodicExportingMetricReader({ exporter, exportIntervalMillis: options.otlp.metricIntervalMs ?? 60_000, metricProducers: [requestMetricsProducer] }));
  }

  const ratio = options.samplingRatio ?? 1;
  const sampler = env['OTEL_TRACES_SAMPLER']
    ? undefined // the SDK reads OTEL_TRACES_SAMPLER / _ARG itself
    : new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(ratio) });
  // The middleware may decide sampling itself only when it would decide as this
  // sampler does (parent-based, `ratio` for new traces) and spans are exported at all;
  // custom propagators read headers it does not know, so they keep every call on the SDK path.
  const defaultPropagators = ['', 'tracecontext,baggage'].includes((env['OTEL_PROPAGATORS'] ?? '').replace(/\s/g, ''));
  // Limits set explicitly so the SDK's spans and the middleware's recorded ones share them.
  const spanLimits = spanLimitsFromEnv();
  setMiddlewareSampling(sampler && batcher && defaultPropagators
    ? { ratio, recorder: { resource, scope: { name: TRACER }, limits: spanLimits, processor: batcher } }
    : undefined);

  const sdk = new NodeSDK({
    resource,
    autoDetectResources: false,
    spanProcessors,
    spanLimits,
    metricReaders,
    ...(sampler ? { sampler } : {}),
    // undefined lets the SDK install its AsyncLocalStorage manager.
    contextManager: options.contextPropagation === 'async-local-storage' ? undefined : new SynchronousContextManager(),
    instrumentations: [],
  });
  sdk.start();

  let stopped: Promise<void> | undefined;
  return {
    metricsHandler: (request, response) => prometheus.getMetricsRequestHandler(request, response),
    forceFlush: async () => {
      await Promise.all(spanProcessors.map((p) => p.forceFlush().catch(() => {})));
    },
    shutdown: () => (stopped ??= (setMiddlewareSampling(undefined), sdk.shutdown().catch(() => {}))),
  };
}

// Spans arrive already encoded (span-batcher.ts); the SDK's OTLP transports only send them.
const encodedSpans: ISerializer<EncodedBatch, unknown> = {
  serializeRequest: (batch) => batch.toRequest(),
  // The response only matters for partial-success warnings, which diag would log and tsk silences.
  deserializeResponse: () => ({}),
};
const spanCounter: IExporterMetricsHelper<EncodedBatch> = { name: 'span', countItems: (batch) => batch.spanCount };

/**
 * The SDK's OTLP trace transport for the protocol, built with the calls its own trace
 * exporters make (the `convertLegacy*` option readers are what apply the
 * OTEL_EXPORTER_OTLP_* variables), so settings behave exactly as with those exporters.
 */
function traceSender(protocol: string, endpoint: string): BatchSender {
  if (protocol === 'grpc') {
    return createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions({ url: endpoint }, 'TRACES'), encodedSpans, 'otlp_grpc_span_exporter', spanCounter, undefined,
      'TraceExportService', '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    );
  }
  return createOtlpHttpExportDelegate(
    convertLegacyHttpOptions({ url: joinPath(endpoint, '/v1/traces') }, 'TRACES', 'v1/traces', { 'Content-Type': 'application/x-protobuf' }),
    encodedSpans, 'otlp_http_span_exporter', spanCounter, undefined,
  );
}

function joinPath(endpoint: string, path: string): string {
  return endpoint.endsWith(path) ? endpoint : endpoint.replace(/\/$/, '') + path;
}
