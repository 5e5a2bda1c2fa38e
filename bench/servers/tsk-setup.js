// The tsk side of the comparison: telemetry as a generated service sets it up
// (OTLP export to the parent's sink over gRPC, or BENCH_OTLP_PROTOCOL; default sampling) and the default middleware
// observers (tracing, logging, metrics) with logs going to /dev/null.
import { distModule } from './common.js';

const { setupTelemetry } = await import(distModule('runtime/telemetry/sdk.js'));
const { createLogger } = await import(distModule('runtime/log/logger.js'));
const { defaultServerObservers, loggingServer, metricsServer, tracingServer } = await import(
  distModule('runtime/middleware/index.js')
);

export async function serviceChain() {
  const telemetry = await setupTelemetry({
    serviceName: 'bench',
    serviceVersion: '0.0.0',
    instanceId: `bench-${process.pid}`,
    otlp: { endpoint: process.env.BENCH_OTLP_ENDPOINT, protocol: process.env.BENCH_OTLP_PROTOCOL ?? 'grpc' },
    // Unset: the runtime's default sampling, as a generated service ships it.
    ...(process.env.BENCH_SAMPLING_RATIO ? { samplingRatio: Number(process.env.BENCH_SAMPLING_RATIO) } : {}),
    // Unset: the default (AsyncLocalStorage); BENCH_CONTEXT_PROPAGATION=explicit to compare.
    ...(process.env.BENCH_CONTEXT_PROPAGATION ? { contextPropagation: process.env.BENCH_CONTEXT_PROPAGATION } : {}),
  });
  const logger = createLogger({ name: 'bench', level: 'info', destination: '/dev/null' });
  return { telemetry, logger, observers: selectObservers(logger) };
}

/** The default observers' steps one by one, by name, for BENCH_MIDDLEWARE. */
const STEPS = {
  tracing: () => tracingServer(),
  logging: (logger) => loggingServer(logger),
  metrics: () => metricsServer(),
};

/**
 * The default observers, or for diagnosis BENCH_MIDDLEWARE's steps alone, in the order
 * given (`tracing,logging`; empty: none, the router alone).
 */
function selectObservers(logger) {
  const names = process.env.BENCH_MIDDLEWARE;
  if (names === undefined) return defaultServerObservers({ logger });
  return names
    .split(',')
    .filter(Boolean)
    .map((name) => {
      if (!(name in STEPS))
        throw new Error(`BENCH_MIDDLEWARE: unknown observer "${name}"; known: ${Object.keys(STEPS).join(', ')}`);
      return STEPS[name](logger);
    });
}
