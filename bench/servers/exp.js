import { HttpServer } from '../../dist/runtime/transport/http/index.js';
import { setupTelemetry } from '../../dist/runtime/telemetry/sdk.js';
import { createLogger } from '../../dist/runtime/log/logger.js';
import * as mw from '../../dist/runtime/middleware/index.js';
import { announce, GREETING_PREFIX, HelloReply, HelloReplySchema, HelloRequest, HelloRequestSchema } from './common.js';
const E = process.env;
await setupTelemetry({ serviceName: 'bench', serviceVersion: '0', instanceId: 'x',
  otlp: { endpoint: E.NO_OTLP ? '' : E.BENCH_OTLP_ENDPOINT, protocol: 'grpc' }, samplingRatio: Number(E.BENCH_SAMPLING_RATIO) });
const logger = createLogger({ name: 'bench', level: 'info', destination: '/dev/null' });
const all = { recovery: mw.recovery({ logger }), tracing: mw.tracingServer(), logging: mw.loggingServer(logger), metrics: mw.metricsServer() };
const middleware = (E.MW ?? 'recovery,tracing,logging,metrics').split(',').filter(Boolean).map((n) => all[n]);
const server = new HttpServer({ address: '127.0.0.1:0', middleware, logger, timeoutMs: Number(E.TIMEOUT ?? 1000) });
server.route({ method: 'GET', path: '/helloworld/{name}', operation: '/bench.v1.Greeter/SayHello',
  request: HelloRequest, requestSchema: HelloRequestSchema, response: HelloReply, responseSchema: HelloReplySchema },
  async (_ctx, req) => { if (E.SPIN) { const end = performance.now() + Number(E.SPIN) / 1000; while (performance.now() < end); } return { message: GREETING_PREFIX + req.name }; });
await server.start();
announce(new URL(server.endpoint()).port);
