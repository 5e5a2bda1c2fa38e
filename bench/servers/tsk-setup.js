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
  });
  const logger = createLogger({ name: 'bench', level: 'info', destination: '/dev/null' });
  return { telemetry, logger, middleware: defaultServerMiddleware({ logger }) };
}
