// With the synchronous context manager (`context_propagation: explicit`) the call's
// span is active in the handler until its first await, even when a middleware awaited
// before calling it (validate does, for every request): a span the handler starts on
// its first line is the server span's child, over HTTP and gRPC.
import * as grpc from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createLogger } from '../../src/runtime/log/logger.js';
import { defaultServerObservers } from '../../src/runtime/middleware/index.js';
import { setupTelemetry, type Telemetry } from '../../src/runtime/telemetry/sdk.js';
import type { Middleware } from '../../src/runtime/transport/context.js';
import { GrpcServer } from '../../src/runtime/transport/grpc/index.js';
import { HttpServer } from '../../src/runtime/transport/http/index.js';
import { OtlpReceiver } from '../helpers/otlp.js';
import { whoRoute, whoService, type Who } from '../helpers/who-service.js';

const receiver = new OtlpReceiver();
let telemetry: Telemetry;
let httpServer: HttpServer;
let grpcServer: GrpcServer;

/** A middleware that awaits before it calls the handler, as validate does. */
const awaitsFirst: Middleware = (next) => async (ctx, req) => {
  await new Promise((resolve) => setTimeout(resolve, 1));
  return next(ctx, req);
};

/** Starts a span on the handler's first line, before any await of its own. */
const handler = async (_ctx: unknown, req: Who): Promise<Who> => {
  trace.getTracer('user-code').startSpan(`first-line-${req.who}`).end();
  return req;
};

beforeAll(async () => {
  await receiver.start();
  telemetry = await setupTelemetry({
    serviceName: 'explicit',
    serviceVersion: '1',
    instanceId: 'ex-1',
    otlp: { endpoint: receiver.endpoint },
    samplingRatio: 1,
    contextPropagation: 'explicit',
  });
  const observers = defaultServerObservers({ logger: createLogger({ name: 'ex', level: 'silent' }) });
  httpServer = new HttpServer({ address: '127.0.0.1:0', observers, middleware: [awaitsFirst] });
  httpServer.route(whoRoute, handler);
  await httpServer.start();
  grpcServer = new GrpcServer({ address: '127.0.0.1:0', observers, middleware: [awaitsFirst] });
  grpcServer.register(whoService, { who: handler });
  await grpcServer.start();
});

afterAll(async () => {
  await httpServer?.stop({ timeoutMs: 0 });
  await grpcServer?.stop({ timeoutMs: 0 });
  await telemetry?.shutdown();
  receiver.stop();
});

it("makes a span started on the handler's first line the server span's child, after a middleware awaited", async () => {
  const answer = await fetch(`http://127.0.0.1:${httpServer.listenPort}${whoRoute.path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"who":"http"}',
  });
  expect(answer.status).toBe(200);
  const client = new (grpc.makeGenericClientConstructor(whoService as never, 'Who'))(
    `127.0.0.1:${grpcServer.listenPort}`,
    grpc.credentials.createInsecure(),
  ) as unknown as { who(req: Who, cb: (err: unknown) => void): void; close(): void };
  await new Promise<void>((resolve, reject) => client.who({ who: 'grpc' }, (err) => (err ? reject(err) : resolve())));
  client.close();
  await telemetry.forceFlush();

  for (const transport of ['http', 'grpc']) {
    const child = receiver.spans.find((s) => s.name === `first-line-${transport}`);
    const server = receiver.spans.find((s) => s.kind === 2 && s.traceId === child?.traceId);
    expect(server, transport).toBeDefined();
    expect(child!.parentSpanId, transport).toBe(server!.spanId);
  }
});
