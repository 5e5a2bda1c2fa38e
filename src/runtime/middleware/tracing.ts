// Server and client spans named after the operation, following the OpenTelemetry
// semantic conventions for HTTP and RPC; W3C trace context and baggage travel in
// the transport headers, so a call across services stays one trace.
import { context, propagation, SpanKind, SpanStatusCode, type Attributes, type Context as OtelContext, type Span } from '@opentelemetry/api';
import { httpToGrpcCode } from '../errors/codes.js';
import { fromError } from '../errors/errors.js';
import type { Context, HttpTransport, Middleware } from '../transport/context.js';
import { watching } from './observe.js';
import { headerGetter, headerSetter } from './propagation.js';
import { middlewareSampling, startCallSpan } from '../telemetry/presample.js';

/**
 * Where the OpenTelemetry context of a call lives: in the call's own Context
 * values, handed along explicitly (clients take `{ parent: ctx }`), instead of
 * AsyncLocalStorage, which on Node 20 slows every promise in the process once
 * it is in use. Code that wants child spans uses `otelContext(ctx)`.
 */
export const OTEL_CONTEXT = Symbol.for('tsk.otel.context');

/** The OpenTelemetry context of a call (its span), falling back to the active one. */
export function otelContext(ctx: Context): OtelContext {
  return (ctx.values.get(OTEL_CONTEXT) as OtelContext | undefined) ?? context.active();
}

/**
 * Starts the span of a server call from the caller's trace context and puts the
 * call's context in `ctx`. Returns the span when it is recorded: endCallSpan
 * ends it with the call's outcome.
 */
export function startServerSpan(ctx: Context): Span | undefined {
  const header = ctx.transport.requestHeader;
  // Middleware sampling implies the default W3C propagators: without their headers
  // they would find nothing, so they are skipped.
  const parent = middlewareSampling() === undefined || header.get('traceparent') !== undefined || header.get('baggage') !== undefined
    ? propagation.extract(context.active(), header, headerGetter)
    : context.active();
  const call = startCallSpan(parent, ctx.transport.operation, SpanKind.SERVER);
  ctx.values.set(OTEL_CONTEXT, call);
  const span = call.recordedSpan;
  // Attributes only for spans that are recorded: most calls are not sampled.
  if (span) span.setAttributes(startAttributes(ctx, true));
  return span;
}

/** Starts the span of an outgoing call under the caller's, and writes its trace context into the request headers. */
export function startClientSpan(ctx: Context): Span | undefined {
  const call = startCallSpan(otelContext(ctx), ctx.transport.operation, SpanKind.CLIENT);
  ctx.values.set(OTEL_CONTEXT, call);
  const span = call.recordedSpan;
  if (span) span.setAttributes(startAttributes(ctx, false));
  propagation.inject(call, ctx.transport.requestHeader, headerSetter);
  return span;
}

/** Ends a call's recorded span: status code attributes, and on failure the error and its exception event. */
export function endCallSpan(span: Span, ctx: Context, failed: boolean, error: unknown): void {
  if (!failed) {
    span.setAttributes(endAttributes(ctx, 200));
  } else {
    const e = fromError(error);
    span.setAttributes({ ...endAttributes(ctx, e.code), 'error.type': e.reason || String(e.code) });
    span.recordException(error instanceof Error ? error : new Error(String(error)));
    span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
  }
  span.end();
}

export function tracingServer(): Middleware {
  return watching({ start: startServerSpan, end: endRecordedSpan });
}

export function tracingClient(): Middleware {
  return watching({ start: startClientSpan, end: endRecordedSpan });
}

function endRecordedSpan(ctx: Context, span: Span | undefined, _elapsedMs: number, failed: boolean, error: unknown): void {
  if (span) endCallSpan(span, ctx, failed, error);
}

function startAttributes(ctx: Context, server: boolean): Attributes {
  const [service, method] = operationParts(ctx.transport.operation);
  const attrs: Attributes = {};
  if (ctx.transport.kind === 'grpc') {
    attrs['rpc.system'] = 'grpc';
    attrs['rpc.service'] = service;
    attrs['rpc.method'] = method;
  } else if (server) {
    const t = ctx.transport as HttpTransport;
    attrs['http.request.method'] = t.method;
    attrs['http.route'] = t.pathTemplate;
    const q = t.url.indexOf('?');
    attrs['url.path'] = q < 0 ? t.url : t.url.slice(0, q);
  } else {
    attrs['rpc.service'] = service;
    attrs['rpc.method'] = method;
  }
  const address = ctx.transport.endpoint ? endpointAttributes(ctx.transport.endpoint) : undefined;
  if (address) Object.assign(attrs, address);
  return attrs;
}

// Operations and endpoints are few and repeat on every call: parse each once.
const operations = new Map<string, [string, string]>();
const endpoints = new Map<string, Attributes | undefined>();

function operationParts(operation: string): [string, string] {
  let parts = operations.get(operation);
  if (!parts) {
    const [service = '', method = ''] = operation.replace(/^\//, '').split('/');
    operations.set(operation, (parts = [service, method]));
  }
  return parts;
}

function endpointAttributes(endpoint: string): Attributes | undefined {
  if (endpoints.has(endpoint)) return endpoints.get(endpoint);
  let attrs: Attributes | undefined;
  try {
    const url = new URL(endpoint.includes('://') ? endpoint : `x://${endpoint}`);
    // discovery:///name has no host: the instance is chosen per call, below the middleware.
    attrs = url.hostname ? { 'server.address': url.hostname, ...(url.port ? { 'server.port': Number(url.port) } : {}) } : undefined;
  } catch {
    attrs = undefined; // an endpoint we cannot parse is simply not recorded
  }
  // Client targets can be many (discovery picks per call); keep the cache bounded.
  if (endpoints.size >= 1024) endpoints.clear();
  endpoints.set(endpoint, attrs);
  return attrs;
}

function endAttributes(ctx: Context, code: number): Attributes {
  return ctx.transport.kind === 'grpc'
    ? { 'rpc.grpc.status_code': code === 200 ? 0 : httpToGrpcCode(code) }
    : { 'http.response.status_code': code };
}
