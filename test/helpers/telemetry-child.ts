// A process that sets telemetry up from its environment (and the options in argv[2]),
// runs calls through the default server and client telemetry middleware, and
// reports on stdout: its log lines, then one `{"metrics": ...}` line with /metrics
// (and whether the middleware recorded its spans itself, `fastPath`).
// Telemetry settings are process-wide, so each configuration under test gets a process.
//   CALLS: server calls to make (default 3); HEADERS: JSON request headers for them;
//   HOLD_MS: keep running (and calling every 10 ms) this long before reporting.
import { servedMetrics } from './served-metrics.js';
import { trace } from '@opentelemetry/api';
import { setupTelemetry, type Telemetry, type TelemetryOptions } from '../../src/runtime/telemetry/sdk.js';
import { createLogger } from '../../src/runtime/log/logger.js';
import { defaultClientObservers, defaultServerObservers } from '../../src/runtime/middleware/index.js';
import { newError } from '../../src/runtime/errors/errors.js';
import { backgroundContext, HeaderMap, type Handler } from '../../src/runtime/transport/context.js';
import { runObserved } from '../../src/runtime/transport/observer.js';
import { middlewareSampling } from '../../src/runtime/telemetry/presample.js';

const logger = createLogger({ name: 'child', level: 'info' });
const options = JSON.parse(process.argv[2] ?? '{}') as Partial<TelemetryOptions> & {
  prioritySampler?: boolean;
  userProcessor?: boolean;
  /** OpenTelemetry's runtime-node instrumentation, which measures the event loop and heap too. */
  runtimeInstrumentation?: boolean;
  /** The handler starts a span of its own with startActiveSpan, as application code does. */
  userSpan?: boolean;
};
const extra: Partial<TelemetryOptions> = {};
/** Spans the user processor saw start and end. */
const seen = { started: 0, ended: 0 };
if (options.userProcessor) {
  // Marks every span as it starts (as a redacting processor would change it) and counts the ends.
  extra.spanProcessors = [
    {
      onStart: (span) => {
        seen.started++;
        span.setAttribute('app.processed', true);
      },
      onEnd: () => void seen.ended++,
      forceFlush: async () => {},
      shutdown: async () => {},
    },
  ];
}
if (options.runtimeInstrumentation) {
  const { RuntimeNodeInstrumentation } = await import('@opentelemetry/instrumentation-runtime-node');
  extra.instrumentations = [new RuntimeNodeInstrumentation()];
}
if (options.prioritySampler) {
  const { PrioritySampler } = await import('../../src/runtime/telemetry/priority-sampler.js');
  extra.sampler = new PrioritySampler({ ratio: 0 });
  extra.captureRequestHeaders = ['x-priority'];
}
const telemetry = process.env['PLAIN_SDK']
  ? await plainSdk()
  : await setupTelemetry({
      serviceName: 'child',
      serviceVersion: '1',
      instanceId: 'c-1',
      logger,
      ...options,
      ...extra,
    }).catch((err: Error) => {
      logger.error(`telemetry: ${err.message}`);
      logger.flush();
      process.exit(2);
    });

/**
 * The OpenTelemetry SDK exactly as its docs set it up, with none of tsk's fast paths
 * (the middleware then starts its spans through the SDK's tracer): the reference the
 * differential test compares tsk's export with. OTEL_EXPORTER_OTLP_PROTOCOL picks the exporter.
 */
async function plainSdk(): Promise<Pick<Telemetry, 'forceFlush' | 'shutdown' | 'metricsHandler'>> {
  const { NodeSDK } = await import('@opentelemetry/sdk-node');
  const resources = await import('@opentelemetry/resources');
  const tracing = await import('@opentelemetry/sdk-trace');
  const protocol = process.env['OTEL_EXPORTER_OTLP_PROTOCOL'] ?? 'grpc';
  const exporter =
    protocol === 'grpc'
      ? new (await import('@opentelemetry/exporter-trace-otlp-grpc')).OTLPTraceExporter()
      : protocol === 'http/json'
        ? new (await import('@opentelemetry/exporter-trace-otlp-http')).OTLPTraceExporter()
        : new (await import('@opentelemetry/exporter-trace-otlp-proto')).OTLPTraceExporter();
  const processor = new tracing.BatchSpanProcessor({ exporter });
  const sdk = new NodeSDK({
    resource: resources.resourceFromAttributes({ 'service.name': 'child' }),
    autoDetectResources: false,
    spanProcessors: [processor],
    sampler: new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(1) }),
    logRecordProcessors: [],
  });
  sdk.start();
  return {
    forceFlush: () => processor.forceFlush(),
    shutdown: () => sdk.shutdown(),
    metricsHandler: (_req, res) => res.end(''),
  };
}

const serverObservers = defaultServerObservers({ logger });
const clientObservers = defaultClientObservers({ logger });
const downstream: Handler = async (ctx) =>
  ctx.transport.operation.endsWith('/Fail') ? Promise.reject(newError(503, 'DOWN', 'down')) : {};
const callDownstream: Handler = (ctx, req) => runObserved(clientObservers, ctx, downstream, req);
const handler: Handler = async (ctx) => {
  if (options.userSpan)
    await trace
      .getTracer('app')
      .startActiveSpan('load-user', { attributes: { 'app.user_id': 'u-1' } }, async (span) => {
        await new Promise((r) => setTimeout(r, 2));
        span.end();
      });
  await callDownstream(
    backgroundContext({
      kind: 'grpc',
      endpoint: '127.0.0.1:9',
      operation: '/child.v1.Down/Call',
      requestHeader: new HeaderMap(),
      replyHeader: new HeaderMap(),
    }),
    {},
  );
  if (ctx.transport.operation.endsWith('/Missing')) throw newError(404, 'MISSING', 'missing');
  return {};
};
const headers = Object.entries(JSON.parse(process.env['HEADERS'] ?? '{}') as Record<string, string>);
async function serve(operation: string): Promise<void> {
  const ctx = backgroundContext({
    kind: 'grpc',
    endpoint: 'grpc://127.0.0.1:9000',
    operation,
    requestHeader: new HeaderMap(headers),
    replyHeader: new HeaderMap(),
  });
  await runObserved(serverObservers, ctx, handler, {}).catch(() => undefined);
}

const calls = Number(process.env['CALLS'] ?? 3);
for (let i = 0; i < calls; i++) await serve(i % 3 === 2 ? '/child.v1.Svc/Missing' : '/child.v1.Svc/Ok');
const holdMs = Number(process.env['HOLD_MS'] ?? 0);
const until = Date.now() + holdMs;
while (Date.now() < until) {
  for (let i = 0; i < 20; i++) await serve('/child.v1.Svc/Ok');
  await new Promise((r) => setTimeout(r, 10));
}
const fastPath = middlewareSampling() !== undefined;
await telemetry.forceFlush();
const metrics = await servedMetrics(telemetry);
logger.flush();
await new Promise((r) => setTimeout(r, 50));
process.stdout.write(`${JSON.stringify({ metrics, heapUsed: process.memoryUsage().heapUsed, seen, fastPath })}\n`);
await telemetry.shutdown();
process.exit(0);
