import http from 'node:http';
import { setupTelemetry } from '../../dist/runtime/telemetry/sdk.js';
import { createLogger } from '../../dist/runtime/log/logger.js';
import * as mw from '../../dist/runtime/middleware/index.js';
import { chain, HeaderMap } from '../../dist/runtime/transport/context.js';
import { bindRequest, compileRoute, encodeResponse, matchRouteSegments } from '../../dist/runtime/transport/http/binding.js';
import { splitPath } from '../../dist/runtime/transport/http/template.js';
import { announce, GREETING_PREFIX, HelloReply, HelloReplySchema, HelloRequest, HelloRequestSchema } from './common.js';
const E = process.env;
await setupTelemetry({ serviceName: 'bench', serviceVersion: '0', instanceId: 'x',
  otlp: { endpoint: E.NO_OTLP ? '' : E.BENCH_OTLP_ENDPOINT, protocol: 'grpc' }, samplingRatio: Number(E.BENCH_SAMPLING_RATIO) });
const logger = createLogger({ name: 'bench', level: 'info', destination: '/dev/null' });
const all = { recovery: mw.recovery({ logger }), tracing: mw.tracingServer(), logging: mw.loggingServer(logger), metrics: mw.metricsServer() };
const middleware = (E.MW ?? 'recovery,tracing,logging,metrics').split(',').filter(Boolean).map((n) => all[n]);
const compiled = compileRoute({ method: 'GET', path: '/helloworld/{name}', operation: '/bench.v1.Greeter/SayHello',
  request: HelloRequest, requestSchema: HelloRequestSchema, response: HelloReply, responseSchema: HelloReplySchema });
const handler = chain(...middleware)(async (_ctx, req) => ({ message: GREETING_PREFIX + req.name }));
class IncomingHeader { constructor(h) { this.h = h; } get(k) { const v = this.h[k.toLowerCase()]; return Array.isArray(v) ? v[0] : v; } values(k) { const v = this.h[k]; return v === undefined ? [] : [v]; } set(k, v) { this.h[k] = v; } add() {} keys() { return Object.keys(this.h); } }
const server = http.createServer((req, res) => {
  const url = req.url; const q = url.indexOf('?'); const path = q < 0 ? url : url.slice(0, q);
  const segs = splitPath(path) ?? [];
  const values = matchRouteSegments(compiled, segs);
  if (!values || req.method !== 'GET') { res.statusCode = 404; res.end(); return; }
  const message = bindRequest(compiled, values, undefined, undefined);
  const transport = { kind: 'http', endpoint: 'http://127.0.0.1', operation: compiled.route.operation, requestHeader: new IncomingHeader(req.headers), replyHeader: new HeaderMap(), method: 'GET', pathTemplate: compiled.route.path, url };
  const ctx = { transport, values: new Map(), deadline: undefined, signal: undefined };
  handler(ctx, message).then((r) => { const body = JSON.stringify(encodeResponse(compiled, r)); res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }); res.end(body); },
    () => { res.statusCode = 500; res.end(); });
});
server.listen(0, '127.0.0.1', () => announce(server.address().port));
