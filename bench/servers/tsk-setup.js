// The tsk side of the comparison: telemetry as a generated service sets it up
// (OTLP export to the parent's sink, default sampling) and the default middleware
// chain (recovery, tracing, logging, metrics) with logs going to /dev/null.
import { setupTelemetry } from '../../dist/runtime/telemetry/sdk.js';
import { createLogger } from '../../dist/runtime/log/logger.js';
import { defaultServerMiddleware } from '../../dist/runtime/middleware/index.js';

export async function serviceChain() {
  const telemetry = await setupTelemetry({
    serviceName: 'bench',
    serviceVersion: '0.0.0',
    instanceId: `bench-${process.pid}`,
    otlp: { endpoint: process.env.BENCH_OTLP_ENDPOINT, protocol: 'grpc' },
    // Unset: the runtime's default sampling, as a generated service ships it.
    ...(process.env.BENCH_SAMPLING_RATIO ? { samplingRatio: Number(process.env.BENCH_SAMPLING_RATIO) } : {}),
  });
  const logger = createLogger({ name: 'bench', level: 'info', destination: '/dev/null' });
  const middleware = defaultServerMiddleware({ logger });
  const only = process.env.BENCH_MIDDLEWARE_COUNT; // diagnosis: keep only the first N middleware
  return { telemetry, logger, middleware: only ? middleware.slice(0, Number(only)) : middleware };
}
