// The tsk side of the comparison: telemetry as a generated service sets it up
// (OTLP export to the parent's sink, default sampling) and the default middleware
// chain (recovery, tracing, logging, metrics) with logs going to /dev/null.
import { setupTelemetry } from '../../dist/runtime/telemetry/sdk.js';
import { createLogger } from '../../dist/runtime/log/logger.js';
import { defaultServerMiddleware } from '../../dist/runtime/middleware/index.js';

/** The default server chain's middleware by name, in chain order. */
const DEFAULT_CHAIN = ['recovery', 'tracing', 'logging', 'metrics'];

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
  return { telemetry, logger, middleware: selectMiddleware(defaultServerMiddleware({ logger })) };
}

/**
 * For diagnosis: BENCH_MIDDLEWARE_COUNT keeps the first N of the chain (0: the router
 * alone); BENCH_MIDDLEWARE keeps the named ones (`tracing,logging`; empty: none).
 */
function selectMiddleware(chain) {
  const count = process.env.BENCH_MIDDLEWARE_COUNT;
  if (count !== undefined) return chain.slice(0, Number(count));
  const names = process.env.BENCH_MIDDLEWARE;
  if (names === undefined) return chain;
  return names.split(',').filter(Boolean).map((name) => {
    const index = DEFAULT_CHAIN.indexOf(name);
    if (index < 0) throw new Error(`BENCH_MIDDLEWARE: unknown middleware "${name}"; known: ${DEFAULT_CHAIN.join(', ')}`);
    return chain[index];
  });
}
