// A process that sets telemetry up from its environment with the service's logger,
// serves calls through the default server middleware (each handler writes a log line
// and emits a record through the OpenTelemetry Logs API), and reports on stdout: its
// log lines, then one `{"report": ...}` line with the span contexts its handlers ran in
// and what /metrics served before shutdown.
// Telemetry is process-wide, so each configuration under test gets a process.
//   CALLS: calls to serve (default 1); IDLE_MS: wait this long after them, serving nothing.
import { servedMetrics } from './served-metrics.js';
import { context, logs, SeverityNumber, trace } from '@opentelemetry/api';
import * as apiLogs from '@opentelemetry/api-logs';
import { createLogger } from '../../src/runtime/log/logger.js';
import { defaultServerObservers } from '../../src/runtime/middleware/index.js';
import { setupTelemetry } from '../../src/runtime/telemetry/sdk.js';
import { backgroundContext, HeaderMap, type Handler } from '../../src/runtime/transport/context.js';
import { runObserved } from '../../src/runtime/transport/observer.js';

const logger = createLogger({ name: 'logs-child', level: 'info', base: { 'service.version': '1' } });
const telemetry = await setupTelemetry({
  serviceName: 'logs-child',
  serviceVersion: '1',
  instanceId: 'l-1',
  logger,
  samplingRatio: 1,
}).catch((err: Error) => {
  logger.error(`telemetry: ${err.message}`);
  logger.flush();
  process.exit(2);
});

const spans: { traceId: string; spanId: string }[] = [];
let served = 0;
const handler: Handler = async () => {
  const span = trace.getSpan(context.active())?.spanContext();
  if (span) spans.push({ traceId: span.traceId, spanId: span.spanId });
  logger.warn({ order: 7, customer: 'ada' }, 'placing order');
  logs.getLogger('app').emit({
    body: 'from the logs api',
    severityNumber: SeverityNumber.INFO,
    severityText: 'INFO',
    attributes: { 'app.step': 'checkout' },
  });
  // The Logs API's own package, as code written before it joined @opentelemetry/api uses it.
  apiLogs.logs.getLogger('legacy').emit({ body: 'from api-logs', severityNumber: apiLogs.SeverityNumber.ERROR });
  served++;
  return {};
};
const observers = defaultServerObservers({ logger });
const calls = Number(process.env['CALLS'] ?? 1);
for (let i = 0; i < calls; i++) {
  const ctx = backgroundContext({
    kind: 'grpc',
    endpoint: 'grpc://127.0.0.1:9000',
    operation: '/logs.v1.Svc/Order',
    requestHeader: new HeaderMap(),
    replyHeader: new HeaderMap(),
  });
  await runObserved(observers, ctx, handler, {});
  await new Promise((r) => setTimeout(r, Number(process.env['CALL_GAP_MS'] ?? 0)));
}
const lastCall = Date.now();
await new Promise((r) => setTimeout(r, Number(process.env['IDLE_MS'] ?? 0)));
const metrics = await servedMetrics(telemetry);
// Shutdown alone must deliver what is still queued (no forceFlush first).
await telemetry.shutdown();
logger.flush();
await new Promise((r) => setTimeout(r, 50));
process.stdout.write(`${JSON.stringify({ report: { spans, served, lastCall, metrics } })}\n`);
process.exit(0);
