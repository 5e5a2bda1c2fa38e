// Server and client spans named after the operation, with the attributes and
// status the OpenTelemetry semantic conventions give HTTP and RPC spans; W3C trace
// context and baggage travel in the transport headers, so a call across services
// stays one trace.
import {
  context,
  propagation,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context as OtelContext,
  type Exception,
  type Span,
} from '@opentelemetry/api';
import { getRPCMetadata, RPCType } from '@opentelemetry/core';
import { GrpcCode, httpToGrpcCode } from '../errors/codes.js';
import { fromError, isServiceError } from '../errors/errors.js';
import type { Context, GrpcClientTransport, HttpClientTransport, HttpTransport } from '../transport/context.js';
import type { CallObserver, CallOutcome } from '../transport/observer.js';
import { headerGetter, headerSetter } from './propagation.js';
import { middlewareSampling, startCallSpan } from '../telemetry/presample.js';
import { OTEL_CONTEXT, servedBy } from '../telemetry/active-context.js';

export { OTEL_CONTEXT };

/** The OpenTelemetry context of a call (its span), falling back to the active one. */
export function otelContext(ctx: Context): OtelContext {
  return (ctx.values.get(OTEL_CONTEXT) as OtelContext | undefined) ?? context.active();
}

/** Request headers recorded on server spans at their start (lower-case names). */
let capturedHeaders: readonly string[] = [];

/**
 * Records these request headers on every server span as it starts, where samplers
 * see them: `http.request.header.<name>` (HTTP), `rpc.grpc.request.metadata.<name>` (gRPC).
 */
export function captureRequestHeaders(names: readonly string[]): void {
  capturedHeaders = names.map((n) => n.toLowerCase());
}

/**
 * Starts the span of a server call from the caller's trace context and puts the
 * call's context in `ctx`. Returns the span when it is recorded: endCallSpan
 * ends it with the call's outcome.
 */
export function startServerSpan(ctx: Context): Span | undefined {
  const header = ctx.transport.requestHeader;
  const ratio = middlewareSampling();
  const active = context.active();
  // Middleware sampling implies the default W3C propagators: without their headers
  // they would find nothing, so they are skipped.
  const parent =
    tracedByInstrumentation(ctx, active) ||
    (ratio !== undefined && header.get('traceparent') === undefined && header.get('baggage') === undefined)
      ? active
      : propagation.extract(active, header, headerGetter);
  // A sampler sees the start attributes; with the middleware sampling, no sampler runs,
  // and they are only worked out for the spans that are recorded.
  const early = ratio === undefined ? serverAttributes(ctx) : undefined;
  const receivedAt = (ctx as { receivedAt?: number }).receivedAt;
  const call = startCallSpan(parent, serverSpanName(ctx), SpanKind.SERVER, early, servedBy(ctx), receivedAt);
  ctx.values.set(OTEL_CONTEXT, call);
  const span = call.recordedSpan;
  if (span && !early) span.setAttributes(serverAttributes(ctx));
  return span;
}

/**
 * A server span is named after its operation; an HTTP call no route took has none,
 * and the HTTP conventions then name it after the method alone.
 */
function serverSpanName(ctx: Context): string {
  const transport = ctx.transport;
  return transport.kind === 'http' && !(transport as HttpTransport).pathTemplate
    ? (transport as HttpTransport).method
    : transport.operation;
}

/**
 * Whether an instrumentation of the server's transport (instrumentation-http,
 * instrumentation-grpc) traces this call already: its server span is the active one.
 * It has continued the caller's trace, so it is the parent of tsk's span rather than
 * a sibling. instrumentation-http is also told the route, which it names its span
 * after and records as http.route, as web framework instrumentations tell it.
 */
function tracedByInstrumentation(ctx: Context, active: OtelContext): boolean {
  const rpc = getRPCMetadata(active);
  if (rpc?.type === RPCType.HTTP) {
    const route = ctx.transport.kind === 'http' ? (ctx.transport as HttpTransport).pathTemplate : '';
    if (route) rpc.route = route;
    return true;
  }
  const span = trace.getSpan(active);
  return span?.isRecording() === true && (span as { kind?: SpanKind }).kind === SpanKind.SERVER;
}

/** Starts the span of an outgoing call under the caller's, and writes its trace context into the request headers. */
export function startClientSpan(ctx: Context): Span | undefined {
  const early = middlewareSampling() === undefined ? clientAttributes(ctx) : undefined;
  const call = startCallSpan(otelContext(ctx), ctx.transport.operation, SpanKind.CLIENT, early);
  ctx.values.set(OTEL_CONTEXT, call);
  const span = call.recordedSpan;
  if (span && !early) span.setAttributes(clientAttributes(ctx));
  propagation.inject(call, ctx.transport.requestHeader, headerSetter);
  return span;
}

/**
 * What a failed call's exception event records. The SDK takes an error's `code` for its
 * type, meant for Node's (`ECONNREFUSED`); a service error's is its HTTP status, so its
 * class names it instead, as a Go service records `*errors.Error`.
 */
function exceptionOf(error: unknown): Exception {
  if (isServiceError(error))
    return { name: error.name, message: error.message, ...(error.stack !== undefined ? { stack: error.stack } : {}) };
  return error instanceof Error ? error : new Error(String(error));
}

/** gRPC codes that make a server span an error (the RPC conventions); the rest leave it Unset. */
const GRPC_SERVER_ERRORS = new Set<number>([
  GrpcCode.UNKNOWN,
  GrpcCode.DEADLINE_EXCEEDED,
  GrpcCode.UNIMPLEMENTED,
  GrpcCode.INTERNAL,
  GrpcCode.UNAVAILABLE,
  GrpcCode.DATA_LOSS,
]);

/**
 * Ends a call's recorded span with the error it failed with (undefined: it
 * succeeded). A failed call gets `error.type`; its
 * span status is ERROR on the client side for every failure, on the server side only
 * for what the server got wrong (HTTP 5xx, gRPC Unknown/Internal/Unavailable...), not
 * for the caller's mistakes (4xx). An exception event is recorded for 5xx and for
 * errors that are not service errors (thrown by a bug).
 */
export function endCallSpan(span: Span, ctx: Context, error: unknown): void {
  const grpc = ctx.transport.kind === 'grpc';
  if (!grpc) httpSentAttributes(span, ctx);
  else grpcPeerAttributes(span, ctx);
  if (error === undefined) {
    span.setAttributes(
      grpc ? GRPC_OK : ctx.responseStatus === undefined ? HTTP_OK : { 'http.response.status_code': ctx.responseStatus },
    );
    span.end();
    return;
  }
  const e = fromError(error);
  const unexpected = !isServiceError(error);
  const grpcCode = httpToGrpcCode(e.code);
  const server = (span as { kind?: SpanKind }).kind === SpanKind.SERVER;
  // An HTTP client call that got no answer (refused, timed out, failed in middleware) has
  // no response status: the conventions leave http.response.status_code off; error.type says why.
  const answered = server || ctx.responseBytes !== undefined;
  span.setAttributes({
    ...(grpc ? { 'rpc.grpc.status_code': grpcCode } : answered ? { 'http.response.status_code': e.code } : {}),
    'error.type': unexpected && error instanceof Error ? error.name : e.reason || String(e.code),
  });
  const isError = !server || unexpected || (grpc ? GRPC_SERVER_ERRORS.has(grpcCode) : e.code >= 500);
  if (unexpected || e.code >= 500) span.recordException(exceptionOf(error));
  if (isError) span.setStatus({ code: SpanStatusCode.ERROR, message: e.message });
  span.end();
}

const HTTP_OK: Attributes = { 'http.response.status_code': 200 };
const GRPC_OK: Attributes = { 'rpc.grpc.status_code': GrpcCode.OK };

/**
 * What the transport measured: the response body's size on every HTTP span; on client
 * spans the request body's size and the URL called, known once the request was built
 * (server spans take the size from Content-Length as they start, where a sampler sees it),
 * and when the request went to another instance than the one picked first, that one.
 */
function httpSentAttributes(span: Span, ctx: Context): void {
  if (ctx.responseBytes !== undefined) span.setAttribute('http.response.body.size', ctx.responseBytes);
  if ((span as { kind?: SpanKind }).kind !== SpanKind.CLIENT) return;
  // A request without a body has none to size, as on the server span (Content-Length only).
  if (ctx.requestBytes) span.setAttribute('http.request.body.size', ctx.requestBytes);
  const transport = ctx.transport as Partial<HttpClientTransport>;
  if (transport.fullUrl !== undefined) span.setAttribute('url.full', transport.fullUrl);
  // Sent again to another instance: the span names the one that answered.
  if (transport.resendCount) {
    span.setAttribute('http.request.resend_count', transport.resendCount);
    const address = endpointAttributes(ctx.transport.endpoint);
    if (address) span.setAttributes(address);
  }
}

/**
 * A gRPC client span whose target names no server (`discovery:///name`): the instance
 * that answered, which grpc-js picked per call, as an HTTP client span names the one it picked.
 */
function grpcPeerAttributes(span: Span, ctx: Context): void {
  const peer = (ctx.transport as Partial<GrpcClientTransport>).peer;
  if (peer === undefined || endpointAttributes(ctx.transport.endpoint)) return;
  const address = endpointAttributes(peer);
  if (address) span.setAttributes(address);
}

/** A span per server call. */
export function tracingServer(): CallObserver<Span | undefined> {
  return { onStart: startServerSpan, onEnd: endRecordedSpan };
}

/** A span per outgoing call, its trace context written into the request headers. */
export function tracingClient(): CallObserver<Span | undefined> {
  return { onStart: startClientSpan, onEnd: endRecordedSpan };
}

function endRecordedSpan(ctx: Context, span: Span | undefined, outcome: CallOutcome): void {
  if (span) endCallSpan(span, ctx, outcome.error);
}

/** The start attributes of a server span (HTTP or RPC conventions). */
function serverAttributes(ctx: Context): Attributes {
  const transport = ctx.transport;
  const header = transport.requestHeader;
  const attrs: Attributes = {};
  if (transport.kind === 'grpc') {
    const [service, method] = operationParts(transport.operation);
    attrs['rpc.system'] = 'grpc';
    attrs['rpc.service'] = service;
    attrs['rpc.method'] = method;
  } else {
    const t = transport as HttpTransport;
    attrs['http.request.method'] = t.method;
    if (t.pathTemplate) attrs['http.route'] = t.pathTemplate;
    attrs['url.scheme'] = 'http';
    const q = t.url.indexOf('?');
    attrs['url.path'] = q < 0 ? t.url : t.url.slice(0, q);
    if (q >= 0) attrs['url.query'] = redactedQuery(t.url.slice(q + 1));
    const length = Number(header.get('content-length'));
    if (length > 0) attrs['http.request.body.size'] = length;
  }
  const agent = header.get('user-agent');
  if (agent !== undefined) attrs['user_agent.original'] = agent;
  const peer = transport.remote;
  if (peer?.remoteAddress) {
    attrs['network.peer.address'] = peer.remoteAddress;
    if (peer.remotePort !== undefined) attrs['network.peer.port'] = peer.remotePort;
  }
  const client = clientAddress(header.get('x-forwarded-for'), header.get('x-real-ip')) ?? peer?.remoteAddress;
  if (client) attrs['client.address'] = client;
  const host =
    transport.kind === 'grpc' ? peer?.authority : (forwarded(header.get('x-forwarded-host')) ?? header.get('host'));
  const address = host
    ? endpointAttributes(host)
    : transport.endpoint
      ? endpointAttributes(transport.endpoint)
      : undefined;
  if (address) Object.assign(attrs, address);
  if (capturedHeaders.length > 0) {
    const prefix = transport.kind === 'grpc' ? 'rpc.grpc.request.metadata.' : 'http.request.header.';
    for (const name of capturedHeaders) {
      const values = header.values(name);
      if (values.length > 0) attrs[prefix + name] = values;
    }
  }
  return attrs;
}

// The query keys whose values the HTTP semantic conventions say to redact by default:
// signatures and access key ids of signed URLs.
const REDACTED_QUERY_KEYS = /(^|&)(AWSAccessKeyId|Signature|sig|X-Goog-Signature)=[^&]*/g;

/** `url.query` with the values of signed URLs' credentials replaced by `REDACTED`. */
function redactedQuery(query: string): string {
  return query.replace(REDACTED_QUERY_KEYS, '$1$2=REDACTED');
}

/** The start attributes of a client span: the RPC it makes and the server it talks to. */
function clientAttributes(ctx: Context): Attributes {
  const [service, method] = operationParts(ctx.transport.operation);
  const attrs: Attributes = { 'rpc.service': service, 'rpc.method': method };
  if (ctx.transport.kind === 'grpc') attrs['rpc.system'] = 'grpc';
  else {
    // Required on HTTP client spans by the conventions; tsk's HTTP client sets it.
    const method = (ctx.transport as { method?: string }).method;
    if (method) attrs['http.request.method'] = method;
  }
  const address = ctx.transport.endpoint ? endpointAttributes(ctx.transport.endpoint) : undefined;
  if (address) Object.assign(attrs, address);
  return attrs;
}

/** The original client: the first X-Forwarded-For entry, else X-Real-IP (proxies in front of the service). */
function clientAddress(forwardedFor: string | undefined, realIp: string | undefined): string | undefined {
  return forwarded(forwardedFor) ?? (realIp?.trim() || undefined);
}

/** The first entry of an X-Forwarded-* list: what the first proxy saw. */
function forwarded(list: string | undefined): string | undefined {
  if (!list) return undefined;
  const comma = list.indexOf(',');
  return (comma < 0 ? list : list.slice(0, comma)).trim() || undefined;
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
    // An IPv6 address without its URL brackets, as the conventions write addresses.
    const hostname = url.hostname.replace(/^\[(.*)\]$/, '$1');
    attrs = hostname
      ? { 'server.address': hostname, ...(url.port ? { 'server.port': Number(url.port) } : {}) }
      : undefined;
  } catch {
    attrs = undefined; // an endpoint we cannot parse is simply not recorded
  }
  // Client targets can be many (discovery picks per call); keep the cache bounded.
  if (endpoints.size >= 1024) endpoints.clear();
  endpoints.set(endpoint, attrs);
  return attrs;
}
