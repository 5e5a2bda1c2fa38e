#!/usr/bin/env node
// What the default server observers (tracing, access log, metrics) cost per call in
// a tight loop, on a call context shaped as the gRPC or the HTTP server builds it: CPU
// time a call with and without them, in alternating rounds in one process, so the
// transports' observer paths compare without a server's noise. Inside a server the
// same code costs several times more (its caches are cold between calls); what this
// measures is code and allocation, not a server's figure. Asserts nothing.
//
//   node bench/observers.js [grpc|http]       CPU per call
//   BENCH_ALLOC=1 node --expose-gc bench/observers.js grpc   bytes allocated per call
//
// BENCH_SAMPLING_RATIO (default 0.1), BENCH_CONTEXT_PROPAGATION (default AsyncLocalStorage),
// BENCH_DIST (another build of the runtime, for an A/B), BENCH_CALLS and BENCH_ROUNDS tune it.
import v8 from 'node:v8';
import { Metadata } from '@grpc/grpc-js';
import { distModule } from './servers/common.js';

const { setupTelemetry } = await import(distModule('runtime/telemetry/sdk.js'));
const { createLogger } = await import(distModule('runtime/log/logger.js'));
const { defaultServerObservers } = await import(distModule('runtime/middleware/index.js'));
const { ObservedCall } = await import(distModule('runtime/transport/observer.js'));
const { runInCallContext } = await import(distModule('runtime/telemetry/active-context.js'));
const { MetadataHeader, GrpcPeer } = await import(distModule('runtime/transport/grpc/index.js'));
const { HeaderMap } = await import(distModule('runtime/transport/context.js'));

const kind = process.argv[2] ?? 'grpc';
if (kind !== 'grpc' && kind !== 'http') throw new Error('usage: observers.js [grpc|http]');
const calls = Number(process.env.BENCH_CALLS ?? 200_000);
const rounds = Number(process.env.BENCH_ROUNDS ?? 5);

await setupTelemetry({
  serviceName: 'bench',
  serviceVersion: '0.0.0',
  instanceId: `bench-${process.pid}`,
  // Nothing listens there: sampled spans are encoded and their export fails quietly in the background.
  otlp: { endpoint: 'http://127.0.0.1:9', protocol: 'grpc' },
  samplingRatio: Number(process.env.BENCH_SAMPLING_RATIO ?? 0.1),
  ...(process.env.BENCH_CONTEXT_PROPAGATION ? { contextPropagation: process.env.BENCH_CONTEXT_PROPAGATION } : {}),
});
const logger = createLogger({ name: 'bench', level: 'info', destination: '/dev/null' });
const observers = defaultServerObservers({ logger });

/** Node's incoming headers as the HTTP server's Header view reads them. */
class IncomingHeader {
  constructor(headers) {
    this.headers = headers;
  }
  get(key) {
    const v = this.headers[key.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }
  values(key) {
    const v = this.headers[key.toLowerCase()];
    return v === undefined ? [] : Array.isArray(v) ? [...v] : [v];
  }
  set() {}
  add() {}
  keys() {
    return Object.keys(this.headers);
  }
}

const operation = '/bench.v1.Greeter/SayHello';
const peer = { getPeer: () => 'ipv4:127.0.0.1:45678' };
/** A call's Context as the server builds it (h2load's and autocannon's headers). */
function callContext() {
  const transport =
    kind === 'grpc'
      ? {
          kind,
          endpoint: 'grpc://127.0.0.1:9000',
          operation,
          requestHeader: new MetadataHeader(
            Metadata.fromHttp2Headers({ 'user-agent': 'h2load nghttp2/1.64.0', 'content-type': 'application/grpc' }),
          ),
          replyHeader: new HeaderMap(),
          remote: new GrpcPeer(peer),
        }
      : {
          kind,
          endpoint: 'http://127.0.0.1:8000',
          operation,
          requestHeader: new IncomingHeader({ host: '127.0.0.1:8000' }),
          replyHeader: new HeaderMap(),
          method: 'GET',
          pathTemplate: '/helloworld/{name}',
          url: '/helloworld/world',
          remote: { remoteAddress: '127.0.0.1', remotePort: 45678 },
        };
  return { transport, values: new Map(), deadline: undefined, requestBytes: 7, responseBytes: 13 };
}

const handler = async (_ctx, req) => ({ message: `Hello ${req.name}` });
const request = { name: 'world' };
async function call(watching) {
  const ctx = callContext();
  const observed = new ObservedCall(watching, ctx);
  await runInCallContext(ctx, handler, request);
  observed.succeeded();
}
const variants = [
  ['none', []],
  ['observers', observers],
];

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
if (process.env.BENCH_ALLOC) {
  if (typeof globalThis.gc !== 'function') throw new Error('BENCH_ALLOC needs node --expose-gc');
  // Without a collection between the two readings the heap's growth is what the calls allocated.
  const bytes = { none: [], observers: [] };
  for (let round = 0; round < rounds; round++) {
    for (const [label, watching] of variants) {
      for (let i = 0; i < 2000; i++) await call(watching);
      globalThis.gc();
      const before = v8.getHeapStatistics().used_heap_size;
      for (let i = 0; i < 3000; i++) await call(watching);
      bytes[label].push((v8.getHeapStatistics().used_heap_size - before) / 3000);
    }
  }
  console.log(
    `${kind}: ${median(bytes.none).toFixed(0)} bytes a call without observers, ${median(bytes.observers).toFixed(0)} with (medians of ${rounds} rounds; a collection during a round spoils it: run with --max-semi-space-size=64)`,
  );
} else {
  const us = { none: [], observers: [] };
  for (let round = 0; round <= rounds; round++) {
    for (const [label, watching] of variants) {
      const before = process.cpuUsage();
      for (let i = 0; i < calls; i++) await call(watching);
      const used = process.cpuUsage(before);
      if (round > 0) us[label].push((used.user + used.system) / calls); // round 0 warms up
    }
  }
  const none = median(us.none);
  const withObservers = median(us.observers);
  console.log(
    `${kind}: ${none.toFixed(2)} us a call without observers, ${withObservers.toFixed(2)} with: ${withObservers >= none ? '+' : ''}${(withObservers - none).toFixed(2)} us (medians of ${rounds} rounds of ${calls} calls, node ${process.version})`,
  );
}
process.exit(0);
