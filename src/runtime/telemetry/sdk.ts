// OpenTelemetry setup for a service: resource, trace export (OTLP over grpc,
// http/protobuf or http/json; Zipkin; console), the sampler, the user's span processors,
// a Prometheus reader served on /metrics (optionally OTLP metric push), log export
// when OTEL_LOGS_EXPORTER asks for it, the propagators and the context manager. The
// standard OTEL_* variables win over config, so platform settings (the collector
// address in Kubernetes) need no config change. The tracer and meter providers are
// built from the SDK packages directly, and each exporter's transport is imported
// only for the protocol in use, so a service loads only the OpenTelemetry code it runs.

import { context, diag, metrics as metricsApi, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import {
  ExportResultCode,
  getBooleanFromEnv,
  getStringFromEnv,
  getStringListFromEnv,
  globalErrorHandler,
} from '@opentelemetry/core';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import type { Instrumentation } from '@opentelemetry/instrumentation';
import type { IExporterMetricsHelper, ISerializer } from '@opentelemetry/otlp-transformer';
import * as resources from '@opentelemetry/resources';
import * as metrics from '@opentelemetry/sdk-metrics';
import * as tracing from '@opentelemetry/sdk-trace';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import { captureRequestHeaders } from '../middleware/tracing.js';
import { SynchronousContextManager } from './context-manager.js';
import { routeDiagnostics } from './diag-logger.js';
import { positiveNumberFromEnv } from './env-number.js';
import { ExportHealth, reportedTo } from './export-health.js';
import { propagatorFromEnv } from './propagators.js';
import {
  headerProblems,
  joinPath,
  logExportSettings,
  otlpEndpoint,
  protocolOf,
  TelemetrySettingsError,
  traceExportSettings,
  type OtlpProtocol,
} from './export-settings.js';
import { setMiddlewareSampling, TRACER } from './presample.js';
import { spanLimitsFromEnv } from './recorded-span.js';
import { requestMetricsProducer } from './request-metrics.js';
import { resourceDetectorsFromEnv } from './resource-detectors.js';
import { samplerFromEnv } from './sampler-from-env.js';
import { spanFanOut } from './span-fan-out.js';
import { zipkinSpanProcessor } from './zipkin-export.js';
import { observeRuntime, RUNTIME_NODE_INSTRUMENTATION } from './runtime-metrics.js';
import {
  batcherOptionsFromEnv,
  EncodedBatch,
  JsonBatch,
  SpanBatcher,
  type BatchOutcomes,
  type BatchSender,
  type SpanBatch,
} from './span-batcher.js';

export { TelemetrySettingsError, otlpEndpointProblem } from './export-settings.js';

export interface TelemetryOptions {
  serviceName: string;
  serviceVersion: string;
  instanceId: string;
  /** deployment.environment.name, e.g. "production". */
  environment?: string | undefined;
  /** Where OpenTelemetry's diagnostics, export failures and recoveries are logged. */
  logger?: Logger | undefined;
  otlp?:
    | {
        /** Collector address; `OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT` overrides it. Empty: no trace export. `host:port` means plaintext gRPC. */
        endpoint?: string | undefined;
        /** grpc (default, port 4317), http/protobuf or http/json (port 4318). `OTEL_EXPORTER_OTLP_(TRACES_)PROTOCOL` overrides it. */
        protocol?: string | undefined;
        /** Also push metrics over OTLP (besides the /metrics scrape endpoint). */
        metrics?: boolean | undefined;
        /** Metric push interval; default `OTEL_METRIC_EXPORT_INTERVAL`, else 60 s. */
        metricIntervalMs?: number | undefined;
      }
    | undefined;
  /** Share of new traces sampled (parent decision wins); default 1. `OTEL_TRACES_SAMPLER(_ARG)` overrides it. */
  samplingRatio?: number | undefined;
  /** Decides sampling instead of the ratio (and of OTEL_TRACES_SAMPLER), e.g. prioritySampler(). */
  sampler?: tracing.Sampler | undefined;
  /** Processors that see every sampled span as it starts and ends, before it is exported (redaction, a second exporter). */
  spanProcessors?: tracing.SpanProcessor[] | undefined;
  /**
   * Request headers recorded on server spans as they start, so a sampler can read them:
   * `http.request.header.<name>` (HTTP) and `rpc.grpc.request.metadata.<name>` (gRPC).
   */
  captureRequestHeaders?: string[] | undefined;
  /** Auto-instrumentations to enable, e.g. `new UndiciInstrumentation()` for outgoing fetch calls. */
  instrumentations?: (Instrumentation | Instrumentation[])[] | undefined;
  /** Upper bound on spans waiting for export; the rest are dropped, so memory stays bounded. Default 2048; `OTEL_BSP_MAX_QUEUE_SIZE` overrides it. */
  maxQueueSize?: number | undefined;
  /**
   * How the active OpenTelemetry context is tracked. `async-local-storage` (default): across
   * awaits, so code in a handler, auto-instrumentations and outgoing clients join the call's
   * trace. `explicit`: only through the call Context (clients take `{ parent: ctx }`) and the
   * synchronous part of a handler; saves AsyncLocalStorage's cost where nothing needs it.
   */
  contextPropagation?: 'explicit' | 'async-local-storage' | undefined;
}

export interface Telemetry {
  /** Serves the Prometheus text exposition; mount it on GET /metrics. */
  metricsHandler(request: IncomingMessage, response: ServerResponse): void;
  forceFlush(): Promise<void>;
  shutdown(): Promise<void>;
}

/**
 * What setupTelemetry would stop on with these OTLP settings and the OTEL_* variables,
 * as its one-line message; undefined when it would start. For `--check`, which starts nothing.
 */
export function telemetrySettingsProblem(otlp: TelemetryOptions['otlp'] = {}): string | undefined {
  if (getBooleanFromEnv('OTEL_SDK_DISABLED')) return undefined;
  try {
    exportPlan(otlp, process.env);
    return undefined;
  } catch (err) {
    if (err instanceof TelemetrySettingsError) return err.message;
    throw err;
  }
}

/**
 * What setupTelemetry warns of as a service starts with these settings and the OTEL_*
 * variables (an unknown sampler or propagator, a number that is not one, a header entry
 * the exporters skip), one line each. For `--check`: telemetry is set up with its lines
 * collected, for a process about to exit; nothing is exported before it does.
 */
export async function telemetrySettingsWarnings(otlp: TelemetryOptions['otlp'] = {}): Promise<string[]> {
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(JSON.parse(line).msg) });
  await setupTelemetry({ serviceName: 'check', serviceVersion: '0', instanceId: 'check', otlp, logger });
  return lines;
}

/**
 * Where telemetry is pushed: the trace export settings and, when metrics go over OTLP
 * too, their exporter's protocol and endpoint (undefined: the exporter's own default).
 * Throws TelemetrySettingsError for a setting that cannot work.
 */
function exportPlan(otlp: TelemetryOptions['otlp'] = {}, env: NodeJS.ProcessEnv) {
  const warn = (line: string) => diag.warn(line);
  const settings = traceExportSettings({ endpoint: otlp.endpoint, protocol: otlp.protocol }, env, warn);
  const logs = logExportSettings({ endpoint: otlp.endpoint, protocol: otlp.protocol }, env, warn);
  const exporters = metricExporterNames();
  const metricsConsole = exporters?.includes('console') ?? false;
  // Metrics go where a collector is named, whether or not traces are exported
  // (OTEL_TRACES_EXPORTER=none or console leaves metrics alone); OTEL_METRICS_EXPORTER=otlp
  // pushes to the exporter's default address when none is.
  const collector = [
    env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT'],
    env['OTEL_EXPORTER_OTLP_ENDPOINT'],
    otlp.endpoint,
  ].some((e) => e !== undefined && e.trim() !== '');
  const push = exporters ? exporters.includes('otlp') : otlp.metrics && (settings.otlp || collector);
  if (!push) return { settings, logs, metricsPush: undefined, metricsConsole };
  // Metrics take their own protocol variable, as traces do (OTEL_EXPORTER_OTLP_METRICS_PROTOCOL).
  const protocol = protocolOf(env, otlp.protocol, 'METRICS');
  return {
    settings,
    logs,
    metricsPush: { protocol, endpoint: metricEndpoint(protocol, otlp.endpoint, env) },
    metricsConsole,
  };
}

/**
 * The push exporters OTEL_METRICS_EXPORTER names (`otlp`, `console`; `none` for none);
 * undefined when it is unset, and the config's `otlp_metrics` decides. `prometheus` is
 * the /metrics endpoint, which a service always serves on its HTTP port.
 */
function metricExporterNames(): string[] | undefined {
  const listed = getStringListFromEnv('OTEL_METRICS_EXPORTER') ?? [];
  if (listed.length === 0) return undefined;
  if (listed.includes('none')) return [];
  for (const name of listed)
    if (!['otlp', 'console', 'prometheus'].includes(name))
      diag.warn(
        `Unsupported OTEL_METRICS_EXPORTER value: "${name}". Supported values are: otlp, console, prometheus, none.`,
      );
  return listed;
}

/**
 * Starts telemetry. Throws TelemetrySettingsError, whose message is one line, for a
 * setting that cannot work (an unknown protocol, an endpoint the exporter cannot use).
 */
export async function setupTelemetry(options: TelemetryOptions): Promise<Telemetry> {
  const env = process.env;
  routeDiagnostics(options.logger, env);
  if (getBooleanFromEnv('OTEL_SDK_DISABLED')) {
    options.logger?.info('telemetry is off (OTEL_SDK_DISABLED): no spans, no OpenTelemetry metrics');
    // Calls still carry their context (clients take the served call's deadline from it).
    installContextManager(options.contextPropagation);
    return disabledTelemetry();
  }
  const { settings, logs, metricsPush, metricsConsole } = exportPlan(options.otlp, env);
  for (const problem of headerProblems(env)) diag.warn(problem);
  const instrumentations = (options.instrumentations ?? []).flat();

  const detectors = resourceDetectorsFromEnv();
  const serviceAttributes = {
    // Set but empty is as unset, as the variable spec says.
    'service.name': getStringFromEnv('OTEL_SERVICE_NAME') ?? options.serviceName,
    'service.version': options.serviceVersion,
    'service.instance.id': options.instanceId,
  };
  // The SDK's default resource first: telemetry.sdk.* (name, language, version), which the
  // resource conventions require; the service's own attributes and the environment's over it.
  const resource = resources
    .defaultResource()
    .merge(
      resources.resourceFromAttributes({
        ...serviceAttributes,
        ...(detectors
          ? {}
          : {
              'host.name': hostname(),
              'process.pid': process.pid,
              'process.runtime.name': 'nodejs',
              'process.runtime.version': process.versions.node,
            }),
        ...(options.environment ? { 'deployment.environment.name': options.environment } : {}),
      }),
    )
    .merge(resources.detectResources({ detectors: [...(detectors ?? []), resources.envDetector] }));

  const health = new ExportHealth(options.logger);
  const zipkinHealth = settings.zipkin ? new ExportHealth(options.logger, Date.now, 'zipkin') : undefined;
  const otlp = settings.otlp;
  // One set of queue and batch settings for every batching exporter.
  const batching = batcherOptionsFromEnv({
    maxQueueSize: options.maxQueueSize ?? 2048,
    maxExportBatchSize: 512,
    scheduledDelayMillis: 1000,
    exportTimeoutMillis: 10_000,
  });
  const batcher = otlp
    ? new SpanBatcher(
        loadedOnFirstExport(() => traceSender(otlp)),
        batching,
        health as BatchOutcomes,
        await batchOf(otlp.protocol),
      )
    : undefined;
  const userProcessors = options.spanProcessors ?? [];
  // The exporters OTEL_TRACES_EXPORTER (or the config) names; none of them looks at a span before it ends.
  const exportProcessors: tracing.SpanProcessor[] = [
    ...(batcher ? [batcher] : []),
    ...(zipkinHealth ? [await zipkinSpanProcessor(batching, zipkinHealth)] : []),
    ...(settings.console ? [new tracing.SimpleSpanProcessor({ exporter: new tracing.ConsoleSpanExporter() })] : []),
  ];
  const spanProcessors: tracing.SpanProcessor[] = [...userProcessors, ...exportProcessors];

  const prometheus = new PrometheusExporter({
    preventServerStart: true,
    withoutScopeInfo: true,
    metricProducers: [requestMetricsProducer],
  } as ConstructorParameters<typeof PrometheusExporter>[0]);
  const metricReaders: metrics.IMetricReader[] = [prometheus];
  const pushed: metrics.PushMetricExporter[] = [
    // A failed push is reported as failed trace export is, not once per interval.
    ...(metricsPush
      ? [
          reportedTo(
            new ExportHealth(options.logger, Date.now, 'otlp', 'metric'),
            await metricExporter(metricsPush.protocol, metricsPush.endpoint),
            () => 1,
          ),
        ]
      : []),
    ...(metricsConsole ? [new metrics.ConsoleMetricExporter()] : []),
  ];
  // The reader does not read the variables itself (NodeSDK does); a timeout longer than the interval it refuses.
  const interval = options.otlp?.metricIntervalMs ?? positiveNumberFromEnv(env, 'OTEL_METRIC_EXPORT_INTERVAL', 60_000);
  for (const exporter of pushed)
    metricReaders.push(
      new metrics.PeriodicExportingMetricReader({
        exporter,
        exportIntervalMillis: interval,
        exportTimeoutMillis: Math.min(positiveNumberFromEnv(env, 'OTEL_METRIC_EXPORT_TIMEOUT', 30_000), interval),
        metricProducers: [requestMetricsProducer],
      }),
    );

  const ratio = options.samplingRatio ?? 1;
  // A sampler in code wins, then one OTEL_TRACES_SAMPLER names, then the ratio.
  const envSampler = options.sampler ? undefined : samplerFromEnv();
  const sampler =
    options.sampler ??
    envSampler ??
    new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(ratio) });
  // The middleware records its own spans straight into the exporters' processors only where
  // that is indistinguishable from the SDK path: tsk's own ratio sampler, no user processor
  // (it would not see those spans start), and the default W3C propagators (custom ones read
  // headers it does not know). Anything else runs every span through the SDK.
  const defaultPropagators = ['', 'tracecontext,baggage'].includes((env['OTEL_PROPAGATORS'] ?? '').replace(/\s/g, ''));
  // The SDK's own metrics of its spans (opt-in, as sdk-node reads it) count only spans it made.
  const sdkMetricsEnabled = getBooleanFromEnv('OTEL_NODE_EXPERIMENTAL_SDK_METRICS');
  const middlewareRecords =
    !options.sampler &&
    !envSampler &&
    exportProcessors.length > 0 &&
    userProcessors.length === 0 &&
    defaultPropagators &&
    !sdkMetricsEnabled;
  // Limits set explicitly so the SDK's spans and the middleware's recorded ones share them.
  const spanLimits = spanLimitsFromEnv();
  setMiddlewareSampling(
    middlewareRecords
      ? {
          ratio,
          recorder: { resource, scope: { name: TRACER }, limits: spanLimits, processor: spanFanOut(exportProcessors) },
        }
      : undefined,
  );
  captureRequestHeaders(options.captureRequestHeaders ?? []);

  // Registered in the order the OpenTelemetry SDK registers them: context, propagation, meters, tracers.
  installContextManager(options.contextPropagation);
  const propagator = await propagatorFromEnv();
  if (propagator) propagation.setGlobalPropagator(propagator);
  const meterProvider = new metrics.MeterProvider({ resource, readers: metricReaders, sdkMetricsEnabled });
  metricsApi.setGlobalMeterProvider(meterProvider);
  // With no processor nothing would see a span, so none is installed and spans stay non-recording.
  const tracerProvider =
    spanProcessors.length > 0
      ? new tracing.TracerProvider({
          resource,
          spanProcessors,
          spanLimits,
          sampler,
          ...(sdkMetricsEnabled ? { meterProvider } : {}),
        })
      : undefined;
  if (tracerProvider) trace.setGlobalTracerProvider(tracerProvider);
  // The logs SDK loads only when OTEL_LOGS_EXPORTER asks for it.
  const logExport = logs
    ? await (await import('./log-export.js')).startLogExport(logs, resource, serviceAttributes, options.logger)
    : undefined;
  if (instrumentations.length > 0) {
    await hookModuleImports(instrumentations);
    const { registerInstrumentations } = await import('@opentelemetry/instrumentation');
    registerInstrumentations({ instrumentations, tracerProvider: trace.getTracerProvider(), meterProvider });
  }
  health.observe();
  zipkinHealth?.observe();
  const stopObservingRuntime = observeRuntime({
    nodeRuntime: !instrumentations.some(
      (i) => i.instrumentationName === RUNTIME_NODE_INSTRUMENTATION && i.getConfig().enabled !== false,
    ),
  });

  // Once flushed, the globals are given back, so a later setupTelemetry in the same process
  // (a test starting the app again) registers its own instead of failing to.
  const shutdownProviders = () =>
    Promise.all([tracerProvider?.shutdown(), meterProvider.shutdown(), logExport?.shutdown()]).then(() => {
      trace.disable();
      metricsApi.disable();
      propagation.disable();
      context.disable();
    });
  let stopped: Promise<void> | undefined;
  return {
    metricsHandler: (request, response) => prometheus.getMetricsRequestHandler(request, response),
    forceFlush: async () => {
      // A processor whose export fails rejects (the SDK's batch processor does): reported as
      // the SDK reports a failed scheduled export, through diag to the log.
      await Promise.all([
        ...spanProcessors.map((p) => p.forceFlush().catch(globalErrorHandler)),
        logExport?.forceFlush().catch(globalErrorHandler),
      ]);
    },
    shutdown: () => {
      if (!stopped) {
        stopObservingRuntime();
        setMiddlewareSampling(undefined);
        captureRequestHeaders([]);
        stopped = shutdownProviders().catch((err) => options.logger?.warn({ err }, 'telemetry shutdown failed'));
      }
      return stopped;
    },
  };
}

/**
 * Lets the instrumentations patch the packages they name when an ES module imports them.
 * Their `require` hooks see only `require()` calls, while a service's code (and its
 * bundle) imports packages and Node built-ins with `import`: without the loader hook
 * OpenTelemetry's docs prescribe for ES modules, a database driver or `node:http`
 * instrumentation would patch nothing. Only the modules the instrumentations name are
 * wrapped; modules imported before this (everything `cmd/<name>/main.ts` imports
 * statically) are not, which is why main.ts imports the app after setting telemetry up.
 */
async function hookModuleImports(instrumentations: Instrumentation[]): Promise<void> {
  const { isBuiltin, register } = await import('node:module');
  // InstrumentationBase names its modules; an Instrumentation of another kind names none.
  type Named = { getModuleDefinitions?(): { name: string }[] };
  // A built-in by both its names; a package by its name and any file in it (`pg`, `mysql2/promise`).
  const include = instrumentations.flatMap((i) =>
    ((i as Named).getModuleDefinitions?.() ?? []).flatMap(({ name }): (string | RegExp)[] =>
      isBuiltin(name)
        ? [name, name.startsWith('node:') ? name : `node:${name}`]
        : [name, new RegExp(`/node_modules/${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}/`)],
    ),
  );
  if (include.length === 0) return;
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url, { data: { include } });
}

function disabledTelemetry(): Telemetry {
  return {
    metricsHandler: (_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
      response.end('# telemetry is off (OTEL_SDK_DISABLED)\n');
    },
    forceFlush: async () => {},
    shutdown: async () => {},
  };
}

/** Makes the context manager `contextPropagation` names the global one. */
function installContextManager(contextPropagation: TelemetryOptions['contextPropagation']): void {
  const manager =
    contextPropagation === 'explicit' ? new SynchronousContextManager() : new AsyncLocalStorageContextManager();
  context.setGlobalContextManager(manager.enable());
}

async function batchOf(protocol: OtlpProtocol): Promise<() => SpanBatch> {
  if (protocol !== 'http/json') return () => new EncodedBatch();
  const { JsonTraceSerializer } = await import('@opentelemetry/otlp-transformer');
  return () => new JsonBatch(JsonTraceSerializer);
}

/**
 * The OTLP transport (and the SDK code it pulls in) loads when the first batch goes out,
 * not at start: a service that has exported nothing yet has not paid for it. The
 * batch's context (tracing suppressed) is kept across the wait.
 */
function loadedOnFirstExport(load: () => Promise<BatchSender>): BatchSender {
  let sender: Promise<BatchSender> | undefined;
  return {
    export: (batch, done) => {
      const active = context.active();
      (sender ??= load()).then(
        (s) => context.with(active, () => s.export(batch, done)),
        (error: Error) => done({ code: ExportResultCode.FAILED, error }),
      );
    },
    forceFlush: () =>
      sender
        ? sender.then(
            (s) => s.forceFlush(),
            () => {},
          )
        : Promise.resolve(),
    shutdown: () =>
      sender
        ? sender.then(
            (s) => s.shutdown(),
            () => {},
          )
        : Promise.resolve(),
  };
}

// Spans arrive already encoded (span-batcher.ts); the SDK's OTLP transports only send them.
// Responses are read with the SDK's own serializers, so partial-success warnings reach diag.
async function encoded(protocol: OtlpProtocol): Promise<ISerializer<SpanBatch, unknown>> {
  const { JsonTraceSerializer, ProtobufTraceSerializer } = await import('@opentelemetry/otlp-transformer');
  const responses = protocol === 'http/json' ? JsonTraceSerializer : ProtobufTraceSerializer;
  return {
    serializeRequest: (batch) => batch.toRequest(),
    deserializeResponse: (data) => responses.deserializeResponse(data),
  };
}
const spanCounter: IExporterMetricsHelper<SpanBatch> = { name: 'span', countItems: (batch) => batch.spanCount };

/**
 * The SDK's OTLP trace transport for the protocol, built with the calls its own trace
 * exporters make (the `convertLegacy*` option readers are what apply the
 * OTEL_EXPORTER_OTLP_* headers, timeout, compression and TLS variables), so those
 * settings behave exactly as with the SDK's exporters.
 */
async function traceSender(otlp: { protocol: OtlpProtocol; endpoint: string; exact: boolean }): Promise<BatchSender> {
  if (otlp.protocol === 'grpc') {
    const { convertLegacyOtlpGrpcOptions, createOtlpGrpcExportDelegate } = await import(
      '@opentelemetry/otlp-grpc-exporter-base'
    );
    return createOtlpGrpcExportDelegate(
      convertLegacyOtlpGrpcOptions({ url: otlp.endpoint }, 'TRACES'),
      await encoded('grpc'),
      'otlp_grpc_span_exporter',
      spanCounter,
      undefined,
      'TraceExportService',
      '/opentelemetry.proto.collector.trace.v1.TraceService/Export',
    );
  }
  const { convertLegacyHttpOptions, createOtlpHttpExportDelegate } = await import(
    '@opentelemetry/otlp-exporter-base/node-http'
  );
  const json = otlp.protocol === 'http/json';
  return createOtlpHttpExportDelegate(
    convertLegacyHttpOptions(
      { url: otlp.exact ? otlp.endpoint : joinPath(otlp.endpoint, '/v1/traces') },
      'TRACES',
      'v1/traces',
      { 'Content-Type': json ? 'application/json' : 'application/x-protobuf' },
    ),
    await encoded(otlp.protocol),
    json ? 'otlp_http_json_span_exporter' : 'otlp_http_span_exporter',
    spanCounter,
    undefined,
  );
}

/** The metric exporter for the protocol; OTEL_EXPORTER_OTLP_METRICS_ENDPOINT, when set, is read by the exporter itself. */
async function metricExporter(
  protocol: OtlpProtocol,
  endpoint: string | undefined,
): Promise<metrics.PushMetricExporter> {
  if (protocol === 'grpc') {
    const { OTLPMetricExporter } = await import('@opentelemetry/exporter-metrics-otlp-grpc');
    return new OTLPMetricExporter(endpoint ? { url: endpoint } : {});
  }
  const url = endpoint ? { url: joinPath(endpoint, '/v1/metrics') } : {};
  const { OTLPMetricExporter } =
    protocol === 'http/json'
      ? await import('@opentelemetry/exporter-metrics-otlp-http')
      : await import('@opentelemetry/exporter-metrics-otlp-proto');
  return new OTLPMetricExporter(url);
}

/** The metrics exporter's base endpoint; undefined leaves it to OTEL_EXPORTER_OTLP_METRICS_ENDPOINT or the default. */
function metricEndpoint(protocol: OtlpProtocol, configured: string | undefined, env: NodeJS.ProcessEnv) {
  const base = env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT']
    ? undefined
    : env['OTEL_EXPORTER_OTLP_ENDPOINT'] || configured;
  return base ? otlpEndpoint(base, protocol) : undefined;
}
