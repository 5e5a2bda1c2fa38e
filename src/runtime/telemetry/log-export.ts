// OTLP (or console) log export, as OTEL_LOGS_EXPORTER asks for it: a global
// LoggerProvider for code using the OpenTelemetry Logs API (`logs.getLogger(...).emit`
// from @opentelemetry/api or @opentelemetry/api-logs, instrumentation-pino's log
// sending), fed also with the service's own log lines.
// setupTelemetry imports this module only when log export is on, so a service that
// does not export logs never loads the logs SDK or its exporters. Call it once the
// global MeterProvider is set: it registers its export counters there.
import { createNoopLogger, type LoggerProvider as LoggerProviderApi, logs } from '@opentelemetry/api';
import { getNumberFromEnv } from '@opentelemetry/core';
import type { Resource } from '@opentelemetry/resources';
import {
  BatchLogRecordProcessor,
  ConsoleLogRecordExporter,
  LoggerProvider,
  SimpleLogRecordProcessor,
  type LogRecordExporter,
  type LogRecordProcessor,
} from '@opentelemetry/sdk-logs';
import type { Logger } from 'pino';
import { lineBatcher } from '../log/logger.js';
import { positiveNumberFromEnv } from './env-number.js';
import { ExportHealth, reportedTo } from './export-health.js';
import type { LogExportSettings } from './export-settings.js';
import { forEachRecord } from './log-records.js';

export interface LogExport {
  forceFlush(): Promise<void>;
  /** Exports what is queued (the service's pending lines included) and stops. */
  shutdown(): Promise<void>;
}

/** The instrumentation scope of the records made from the service's own lines. */
const SCOPE = 'tsk';

/**
 * Registers the global LoggerProvider with the exporters `settings` name and, when
 * `logger` is one of createLogger's, sends its lines too (stdout stays as it is).
 * `resourceFields`: attributes of `resource` a line repeats in its fields (service.name).
 */
export async function startLogExport(
  settings: LogExportSettings,
  resource: Resource,
  resourceFields: Readonly<Record<string, unknown>>,
  logger: Logger | undefined,
): Promise<LogExport> {
  const processors: LogRecordProcessor[] = [];
  if (settings.otlp) {
    // Failures are reported once as they start and once as they end, and counted (as
    // trace export's are); the processor would log each failed batch, one a second.
    const health = new ExportHealth(logger, Date.now, 'otlp', 'log');
    health.observe();
    const exporter = reportedTo(health, await otlpExporter(settings.otlp), (records) => records.length);
    processors.push(new BatchLogRecordProcessor({ exporter, ...batchFromEnv() }));
  }
  if (settings.console) processors.push(new SimpleLogRecordProcessor({ exporter: new ConsoleLogRecordExporter() }));
  const provider = new LoggerProvider({ resource, processors, logRecordLimits: limitsFromEnv() });
  logs.setGlobalLoggerProvider(provider);
  registerForLogsApiPackage(provider);

  const batcher = logger ? lineBatcher(logger) : undefined;
  const scope = provider.getLogger(SCOPE);
  const untap = batcher?.tap((lines) => forEachRecord(lines, resourceFields, (record) => scope.emit(record)));
  let stopped: Promise<void> | undefined;
  return {
    forceFlush: async () => {
      // Access lines still queued for formatting become records first.
      batcher?.formatDeferred();
      await provider.forceFlush();
    },
    shutdown: () => {
      stopped ??= (async () => {
        batcher?.formatDeferred();
        untap?.();
        await provider.shutdown();
        logs.disable();
      })();
      return stopped;
    },
  };
}

/**
 * Code written against `@opentelemetry/api-logs`, the Logs API's package before it
 * joined `@opentelemetry/api` (1.10), looks its provider up under a global of its own,
 * which SDK 3 no longer sets: its records would go nowhere. The provider is put there
 * too, in the form that package reads (a getter taking its compatibility version, 1),
 * unless something registered one first.
 */
function registerForLogsApiPackage(provider: LoggerProviderApi): void {
  const global = globalThis as Record<symbol, unknown>;
  const key = Symbol.for('io.opentelemetry.js.api.logs');
  if (global[key] !== undefined) return;
  const noop: LoggerProviderApi = { getLogger: () => createNoopLogger() };
  global[key] = (version: number): LoggerProviderApi => (version === 1 ? provider : noop);
}

/** The SDK's OTLP log exporter for the protocol; only that protocol's transport is loaded. */
async function otlpExporter(otlp: NonNullable<LogExportSettings['otlp']>): Promise<LogRecordExporter> {
  const config = { url: otlp.url };
  if (otlp.protocol === 'grpc')
    return new (await import('@opentelemetry/exporter-logs-otlp-grpc')).OTLPLogExporter(config);
  if (otlp.protocol === 'http/json')
    return new (await import('@opentelemetry/exporter-logs-otlp-http')).OTLPLogExporter(config);
  return new (await import('@opentelemetry/exporter-logs-otlp-proto')).OTLPLogExporter(config);
}

/** OTEL_BLRP_* over the SDK processor's defaults, read as OTEL_BSP_* is (a bad value is logged and the default kept). */
function batchFromEnv() {
  const read = (name: string, fallback: number) => positiveNumberFromEnv(process.env, name, fallback);
  return {
    maxQueueSize: read('OTEL_BLRP_MAX_QUEUE_SIZE', 2048),
    maxExportBatchSize: read('OTEL_BLRP_MAX_EXPORT_BATCH_SIZE', 512),
    scheduledDelayMillis: read('OTEL_BLRP_SCHEDULE_DELAY', 1000),
    exportTimeoutMillis: read('OTEL_BLRP_EXPORT_TIMEOUT', 30_000),
  };
}

/** OTEL_LOGRECORD_ATTRIBUTE_* limits, else the general OTEL_ATTRIBUTE_* ones, as sdk-node reads them; unset, the SDK's defaults. */
function limitsFromEnv() {
  return {
    attributeCountLimit:
      nonNegative('OTEL_LOGRECORD_ATTRIBUTE_COUNT_LIMIT') ?? nonNegative('OTEL_ATTRIBUTE_COUNT_LIMIT') ?? 128,
    attributeValueLengthLimit:
      nonNegative('OTEL_LOGRECORD_ATTRIBUTE_VALUE_LENGTH_LIMIT') ??
      nonNegative('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT') ??
      Infinity,
  };
}

function nonNegative(name: string): number | undefined {
  const value = getNumberFromEnv(name);
  return value !== undefined && value >= 0 ? value : undefined;
}
