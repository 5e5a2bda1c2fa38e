// The HTTP server: fastify as the engine, our own google.api.http router on top.
// One catch-all fastify route hands every call to the router, because path
// templates (`{name=shelves/*}`, `**`, `:verb`) are not fastify's syntax; raw
// routes (/metrics, /healthz) are plain fastify routes and skip the middleware.
//
// Calls without a body to one of our routes (GET, HEAD, DELETE) take a fast path
// that answers on Node's request and response without fastify's request, reply and
// routing layers: for a small JSON call those were about as much CPU as all of
// tsk's routing and binding (measured in bench/). Their answers are written once per
// event-loop turn, together (response-batch.ts). fastify still receives every
// other request, and all of them once code asks for the engine (to add hooks or
// plugins, which must see every call).

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { fromError, isServiceError, ServiceError } from '../../errors/errors.js';
import { ErrCodec, ErrBadRequest, ErrNotFound, ErrMethodNotAllowed, ErrRequestTimeout, ErrPayloadTooLarge, ErrUnsupportedMediaType, ErrHeadersTooLarge, ErrTimeout, ErrUnknownRequest, Reason } from '../../errors/catalogue.js';
import { HeaderMap, type Handler, type Header, type HttpTransport, type Middleware } from '../context.js';
import { ServerChain } from '../server-chain.js';
import { ServerCallContext } from '../call-context.js';
import { advertisedHost, formatHostPort, parseAddress } from '../endpoint.js';
import type { Server } from '../server.js';
import { DeadlineQueue } from '../deadlines.js';
import { bindRequest, compileRoute, encodeResponse, type CompiledRoute } from './binding.js';
import { JSON_TYPE, sendJsonSoon } from './response-batch.js';
import { matchSegments, splitPath } from './template.js';
import type { HttpRoute } from './route.js';
import { eventStreamHandler, serveEventStream, type EventStreamMethod } from './sse.js';

export interface HttpServerOptions {
  /** Listen address, `host:port`; default `0.0.0.0:8000`. Port 0 picks a free port. */
  address?: string;
  /** Applied to every route, outermost first. */
  middleware?: Middleware[];
  /** Per-request deadline; 0 disables it. Default 1000 ms, as in Kratos. */
  timeoutMs?: number;
  /** Largest accepted request body in bytes; default 1 MiB. */
  bodyLimit?: number;
  /** Deepest nesting of arrays and objects accepted in a JSON body; default 100 (protobuf's recursion limit). */
  maxJsonDepth?: number;
  logger?: Logger;
}

interface BoundRoute {
  compiled: CompiledRoute;
  /** Middleware already applied. */
  handler: Handler;
  /** A server-streaming method, answered as Server-Sent Events (sse.ts). */
  events?: boolean;
}

const ROUTED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

/** The operation label of calls answered before they reached a route (404, 405, malformed requests). */
export const UNMATCHED_OPERATION = '<unmatched>';

export class HttpServer implements Server {
  private readonly app: FastifyInstance;
  private readonly routes: BoundRoute[] = [];
  private readonly routedMethods = new Set<string>(ROUTED_METHODS);
  private readonly chain: ServerChain;
  private readonly timeoutMs: number;
  private readonly deadlines?: DeadlineQueue;
  private readonly host: string;
  private readonly port: number;
  private boundPort?: number;
  private advertised = '';
  private stopping?: Promise<void>;
  /** Whether bodiless calls to our routes skip fastify (see the top of this file). */
  private fastPath = true;
  /** Paths of raw routes: they win over our templates, as fastify's static routes do. */
  private readonly rawPaths = new Set<string>();

  constructor(private readonly options: HttpServerOptions = {}) {
    const { host, port } = parseAddress(options.address ?? '0.0.0.0:8000');
    this.host = host;
    this.port = port;
    this.timeoutMs = options.timeoutMs ?? 1000;
    if (this.timeoutMs > 0) this.deadlines = new DeadlineQueue(this.timeoutMs);
    this.chain = new ServerChain(options.middleware ?? []);
    this.app = Fastify({
      logger: false,
      bodyLimit: options.bodyLimit ?? 1024 * 1024,
      exposeHeadRoutes: false,
      serverFactory: (handler, opts) => {
        // Node would answer an HTTP/1.1 request without Host with an empty 400 on its own;
        // it gets our error JSON instead (and is counted) in missingHost.
        const server = http.createServer({ requireHostHeader: false }, (req, res) => {
          if (this.missingHost(req, res)) return;
          if (!this.serveFast(req, res)) handler(req, res);
        });
        // What fastify sets on a server it creates itself (its defaults are filled in by now).
        const o = opts as unknown as { keepAliveTimeout: number; requestTimeout: number; connectionTimeout: number; maxRequestsPerSocket: number };
        server.keepAliveTimeout = o.keepAliveTimeout;
        server.requestTimeout = o.requestTimeout;
        server.setTimeout(o.connectionTimeout);
        if (o.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = o.maxRequestsPerSocket;
        return server;
      },
      // Requests fastify rejects before routing (malformed URLs) still get our error JSON.
      frameworkErrors: (err, request, reply) => this.reject(request.raw, engineError(err), new FastifyAnswer(reply)),
      // And so do requests Node's parser rejects before there is a request at all.
      clientErrorHandler: (err, socket) => this.answerClientError(err, socket),
      // A call that arrives on an open connection while the server stops is still
      // answered, and its connection closed after it (see run()), rather than refused
      // with fastify's own 503 body.
      return503OnClosing: false,
    });
    // Our own JSON parser: an empty body is "no body" rather than an error, and
    // parse failures surface as our 400 CODEC error. text/plain bodies are read as
    // JSON too, as Kratos does (clients that cannot set a content type send JSON that way).
    const maxDepth = options.maxJsonDepth ?? 100;
    const parseJson = (req: FastifyRequest, text: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
      // A chunked body has no Content-Length to read its size from.
      if (req.headers['content-length'] === undefined) (req.raw as SizedRequest)[BODY_BYTES] = Buffer.byteLength(text);
      if (text === '') return done(null, undefined);
      if (jsonDepthOver(text as string, maxDepth)) return done(ErrCodec(`malformed JSON body: nested deeper than ${maxDepth} levels`), undefined);
      try {
        done(null, JSON.parse(text as string));
      } catch (err) {
        done(ErrCodec(`malformed JSON body: ${(err as Error).message}`), undefined);
      }
    };
    this.app.removeContentTypeParser(['application/json', 'text/plain']);
    this.app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'string' }, parseJson);
    this.app.setErrorHandler((err, request, reply) => this.reject(request.raw, engineError(err), new FastifyAnswer(reply)));
    this.app.route({ method: [...ROUTED_METHODS], url: '/*', handler: (request, reply) => this.dispatch(request, reply) });
    this.app.route({ method: [...ROUTED_METHODS], url: '/', handler: (request, reply) => this.dispatch(request, reply) });
  }

  /** Registers one google.api.http binding with its handler; generated `register*HTTPServer` calls this. */
  route<Req, Res>(route: HttpRoute<Req, Res>, handler: Handler<Req, Res>): void {
    const compiled = compileRoute(route) as CompiledRoute;
    this.routes.push({ compiled, handler: this.chain.wrap(handler as Handler) });
    if (!this.routedMethods.has(route.method)) this.routeCustomMethod(route.method);
  }

  /** Registers a server-streaming method's binding, answered as Server-Sent Events (sse.ts). */
  streamRoute<Req, Res>(route: HttpRoute<Req, Res>, handler: EventStreamMethod<Req, Res>): void {
    const compiled = compileRoute(route) as CompiledRoute;
    this.routes.push({ compiled, handler: eventStreamHandler(this.chain, handler as EventStreamMethod<unknown, unknown>), events: true });
    if (!this.routedMethods.has(route.method)) this.routeCustomMethod(route.method);
  }

  /** A `custom { kind }` rule's method (SEARCH, PROPFIND...) joins the catch-all routes. */
  private routeCustomMethod(method: string): void {
    if (!http.METHODS.includes(method) || method === 'CONNECT') {
      throw new Error(`http route: ${method} is not an HTTP method this server can receive`);
    }
    if (!this.app.supportedMethods.includes(method)) this.app.addHttpMethod(method, { hasBody: true });
    for (const url of ['/*', '/']) this.app.route({ method, url, handler: (request, reply) => this.dispatch(request, reply) });
    this.routedMethods.add(method);
  }

  /** A plain fastify route outside the middleware chain (metrics, health probes). */
  handleRaw(method: 'GET' | 'POST', url: string, handler: (request: FastifyRequest, reply: FastifyReply) => unknown): void {
    this.app.route({ method, url, handler: async (request, reply) => handler(request, reply) });
    // A parametric raw route could match any path: then every call goes through fastify's router.
    if (/[:*]/.test(url)) this.fastPath = false;
    this.rawPaths.add(url);
  }

  /**
   * The underlying fastify instance, for plugins a service wants to add (CORS, static
   * files). From then on every call goes through fastify, so its hooks see them all.
   */
  get engine(): FastifyInstance {
    this.fastPath = false;
    return this.app;
  }

  async start(): Promise<void> {
    await this.app.listen({ host: this.host, port: this.port });
    const address = this.app.server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.port;
    this.advertised = `http://${formatHostPort(advertisedHost(this.host), this.boundPort)}`;
    this.options.logger?.info({ endpoint: this.endpoint() }, 'http server listening');
  }

  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.stopping ??= (async () => {
      if (this.boundPort === undefined) return;
      const timeoutMs = options.timeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const forced = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          // In-flight requests outlived the drain window: cut their connections.
          this.app.server.closeAllConnections();
          resolve();
        }, timeoutMs);
      });
      await Promise.race([this.app.close(), forced]);
      clearTimeout(timer);
      this.deadlines?.clear();
    })();
    return this.stopping;
  }

  endpoint(): string {
    if (this.boundPort === undefined) throw new Error('http server is not listening yet');
    return this.advertised;
  }

  /** The port actually bound (useful with port 0). */
  get listenPort(): number | undefined {
    return this.boundPort;
  }

  /**
   * The fast path: answers a bodiless call to one of our routes on Node's request and
   * response. Returns false, having touched nothing, for anything else.
   */
  private serveFast(req: IncomingMessage, res: ServerResponse): boolean {
    if (!this.fastPath) return false;
    const method = req.method;
    if (method !== 'GET' && method !== 'HEAD' && method !== 'DELETE') return false;
    const headers = req.headers;
    const length = headers['content-length'];
    if (headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0')) return false;
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    if (this.rawPaths.has(path)) return false;
    const match = this.match(method, path);
    if (!('route' in match)) return false; // fastify answers 404, 405 and OPTIONS
    this.run(match.route, match.values, url, q, method, headers, undefined, 0, new NodeAnswer(res));
    return true;
  }

  /**
   * Routes and runs one call that came through fastify. Returns nothing: fastify waits
   * for reply.send, where a returned reply would make it also watch the response
   * stream for its end.
   */
  private dispatch(request: FastifyRequest, reply: FastifyReply): void {
    const url = request.raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = request.method;
    const match = this.match(method, path);
    if (!('route' in match)) {
      const allowed = match.allowed;
      if (allowed) {
        const allow = [...allowed, ...(allowed.has('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
        reply.header('allow', allow);
        if (method === 'OPTIONS') return void reply.code(204).send();
        return this.reject(request.raw, ErrMethodNotAllowed(`method ${method} is not allowed on ${path}`), new FastifyAnswer(reply));
      }
      return this.reject(request.raw, ErrNotFound(`no route for ${method} ${path}`), new FastifyAnswer(reply));
    }
    this.run(match.route, match.values, url, q, method, request.headers, request.body, requestBytes(request.raw), new FastifyAnswer(reply));
  }

  /** The route for a method and path, or the methods the path allows when none is. */
  private match(method: string, path: string): { route: BoundRoute; values: string[] } | { allowed?: Set<string> } {
    let allowed: Set<string> | undefined;
    const segments = splitPath(path);
    if (!segments) return {};
    for (const candidate of this.routes) {
      const values = matchSegments(candidate.compiled.template, segments);
      if (!values) continue;
      const routeMethod = candidate.compiled.route.method;
      if (routeMethod === method || (method === 'HEAD' && routeMethod === 'GET')) return { route: candidate, values };
      (allowed ??= new Set()).add(routeMethod);
    }
    return { allowed };
  }

  /** Binds the request, runs the route's chain under the call's deadline and answers. */
  private run(found: BoundRoute, values: string[], url: string, q: number, method: string, headers: IncomingHttpHeaders, body: unknown, bodyBytes: number, answer: Answer): void {
    const compiled = found.compiled;
    const route = compiled.route;
    let message: unknown;
    try {
      message = bindRequest(compiled, values, q < 0 ? undefined : new URLSearchParams(url.slice(q + 1)), body);
    } catch (err) {
      return this.answerRejection(method, url, headers, route.operation, route.path, fromError(err), bodyBytes, answer);
    }
    if (found.events) {
      return serveEventStream({
        chain: this.chain, compiled, handler: found.handler, request: message, endpoint: this.advertised, method, url,
        requestHeader: new IncomingHeader(headers), requestBytes: bodyBytes, response: answer.raw, logger: this.options.logger,
        takeOver: () => answer.takeOver(), answerError: (err) => answer.error(err),
      });
    }

    // The call's deadline comes from the server's queue; on expiry the call is aborted and answered 504.
    const timer = this.deadlines?.add(() => {
      const err = ErrTimeout(`request exceeded the ${this.timeoutMs} ms deadline`);
      ctx.abort(err);
      settle(true, err);
    });
    const transport: HttpTransport = {
      kind: 'http',
      endpoint: this.advertised,
      operation: route.operation,
      requestHeader: new IncomingHeader(headers),
      replyHeader: new HeaderMap(),
      method,
      pathTemplate: route.path,
      url,
      remote: answer.raw.socket ?? undefined,
    };
    const ctx = new HttpCallContext(transport, timer?.at, answer.raw);
    ctx.requestBytes = bodyBytes;
    // The outermost middleware's hooks start here and end in settle, before the answer.
    const outer = this.chain.begin(ctx);

    // The handler and the deadline race through one settle function rather than
    // Promise.race, which costs an extra promise and closure per request.
    let settled = false;
    const settle = (failed: boolean, error: unknown, response?: unknown) => {
      if (settled) return;
      settled = true;
      if (timer) this.deadlines!.cancel(timer);
      ctx.release();
      // The answer's body is made before the outer hooks end, so they see its size (and
      // a response that does not encode fails the call for them too).
      let payload: string | undefined;
      if (!failed) {
        try {
          payload = JSON.stringify(encodeResponse(compiled, response));
        } catch (encodeErr) {
          failed = true;
          error = encodeErr;
        }
      }
      // The error answered when no hook replaces it.
      const expected = failed ? (isServiceError(error) ? fromError(error) : ErrUnknownRequest(error)) : undefined;
      const body = payload ?? errorJson(expected!);
      const bytes = Buffer.byteLength(body);
      ctx.responseBytes = method === 'HEAD' ? 0 : bytes;
      const err = outer.end(failed, error);
      const replyHeader = transport.replyHeader;
      const keys = replyHeader.keys();
      if (keys.length > 0) {
        // A header Node would refuse (a newline in a value) would throw inside the write,
        // after the call's promise: caught here, it is the handler's 500 instead.
        const headerError = invalidHeader(replyHeader, keys);
        if (headerError) return answer.error(unknownError(headerError, this.options.logger));
        for (const key of keys) answer.header(key, replyHeader.values(key));
      }
      // While the server stops, a kept-alive connection closes after its answer, so the
      // stop does not wait out the drain window for clients that keep connections open.
      if (this.stopping) answer.header('connection', ['close']);
      if (err !== undefined) {
        const answered = isServiceError(err) ? fromError(err) : unknownError(err, this.options.logger);
        return answered === expected ? answer.send(errorStatus(answered), body, bytes) : answer.error(answered);
      }
      answer.send(200, body, bytes);
    };
    if (outer.failedToStart) return settle(true, outer.startError);
    try {
      found.handler(ctx, message).then((res) => settle(false, undefined, res), (err) => settle(true, err));
    } catch (err) {
      settle(true, err); // a handler that throws synchronously
    }
  }

  /**
   * Answers a call refused before it reached its handler, after the chain's outer
   * hooks (tracing, access log, metrics) have seen it: under its route's operation
   * when the path matches one, else UNMATCHED_OPERATION.
   */
  private reject(req: IncomingMessage, err: ServiceError, answer: Answer): void {
    const method = req.method ?? '';
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const match = this.match(method, q < 0 ? url : url.slice(0, q));
    const route = 'route' in match ? match.route.compiled.route : undefined;
    this.answerRejection(method, url, req.headers, route?.operation ?? UNMATCHED_OPERATION, route?.path ?? '', err, requestBytes(req), answer);
  }

  /** Answers a call refused before it ran, after the chain's outer hooks have seen it. */
  private answerRejection(method: string, url: string, headers: IncomingHttpHeaders, operation: string, pathTemplate: string, err: ServiceError, bodyBytes: number | undefined, answer: Answer): void {
    const json = errorJson(err);
    const bytes = Buffer.byteLength(json);
    const answered = this.observeRejection(method, url, headers, operation, pathTemplate, err, bodyBytes, method === 'HEAD' ? 0 : bytes);
    if (answered === err) answer.send(errorStatus(err), json, bytes);
    else answer.error(answered);
  }

  /**
   * Runs the chain's outer hooks for a call that ends with `err` without running;
   * returns what to answer. The sizes are those of the request as declared and of
   * the answer `err` gives.
   */
  private observeRejection(method: string, url: string, headers: IncomingHttpHeaders, operation: string, pathTemplate: string, err: ServiceError, requestBytes?: number, responseBytes?: number): ServiceError {
    const transport: HttpTransport = {
      kind: 'http',
      endpoint: this.advertised,
      operation,
      requestHeader: new IncomingHeader(headers),
      replyHeader: new HeaderMap(),
      method,
      pathTemplate,
      url,
    };
    const ctx = new RejectedCallContext(transport);
    ctx.requestBytes = requestBytes;
    ctx.responseBytes = responseBytes;
    const call = this.chain.begin(ctx);
    const out = call.failedToStart ? err : call.end(true, err);
    ctx.release();
    return isServiceError(out) ? fromError(out) : err;
  }

  /** An HTTP/1.1 request without Host (RFC 9112 section 3.2): 400 with our error JSON. */
  private missingHost(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.headers.host !== undefined || req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return false;
    res.setHeader('connection', 'close');
    this.answerRejection(req.method ?? '', req.url ?? '/', req.headers, UNMATCHED_OPERATION, '', ErrBadRequest('an HTTP/1.1 request needs a Host header'), requestBytes(req), new NodeAnswer(res));
    return true;
  }

  /**
   * Node's parser rejected the bytes on a connection (malformed request line or
   * headers, headers too large, too slow): count it, answer in our error shape, then close it.
   */
  private answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const e = this.observeRejection('', '', {}, UNMATCHED_OPERATION, '', err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? ErrRequestTimeout('the request was not received in time')
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? ErrHeadersTooLarge('the request headers are too large')
        : ErrBadRequest('malformed HTTP request'));
    const body = JSON.stringify(e.toJSON());
    if (socket.writable) {
      socket.write(`HTTP/1.1 ${e.code} ${http.STATUS_CODES[e.code]}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
    }
    socket.destroy();
  }
}

/**
 * Whether a JSON text nests arrays and objects deeper than `limit`: checked before
 * parsing, so a hostile body meets a clear 400 rather than a stack overflow later.
 */
export function jsonDepthOver(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > limit) return true;
    } else if (c === 0x7d || c === 0x5d) depth--;
  }
  return false;
}

/** Where a call's answer goes: fastify's reply (so its hooks run) or, on the fast path, Node's response. */
abstract class Answer {
  abstract readonly raw: ServerResponse;
  abstract header(key: string, values: string[]): void;
  /** Sends a JSON body of `bytes` bytes with this status. */
  abstract send(status: number, json: string, bytes: number): void;
  /** The call writes the raw response itself from now on (an event stream). */
  takeOver(): void {}

  /** Sends the error JSON with the error's status. */
  error(err: ServiceError): void {
    const json = errorJson(err);
    this.send(errorStatus(err), json, Buffer.byteLength(json));
  }
}

/** The HTTP status an error is answered with (500 for codes outside 4xx/5xx). */
function errorStatus(err: ServiceError): number {
  return err.code >= 400 && err.code <= 599 ? err.code : 500;
}

function errorJson(err: ServiceError): string {
  return JSON.stringify(err.toJSON());
}

/** Where the JSON parser leaves the size of a body that came without Content-Length. */
const BODY_BYTES = Symbol('tsk.bodyBytes');
type SizedRequest = IncomingMessage & { [BODY_BYTES]?: number };

/** The request body's size: its Content-Length, else what the parser read, else 0 (no body). */
function requestBytes(req: IncomingMessage): number {
  const length = req.headers['content-length'];
  if (length !== undefined) {
    const n = Number(length);
    if (Number.isSafeInteger(n) && n >= 0) return n;
  }
  return (req as SizedRequest)[BODY_BYTES] ?? 0;
}

class FastifyAnswer extends Answer {
  constructor(private readonly reply: FastifyReply) {
    super();
  }
  get raw(): ServerResponse {
    return this.reply.raw;
  }
  header(key: string, values: string[]): void {
    this.reply.header(key, values);
  }
  send(status: number, json: string): void {
    this.reply.code(status).header('content-type', JSON_TYPE).send(json);
  }
  override takeOver(): void {
    this.reply.hijack();
  }
}

class NodeAnswer extends Answer {
  constructor(readonly raw: ServerResponse) {
    super();
  }
  header(key: string, values: string[]): void {
    this.raw.setHeader(key, values);
  }
  send(status: number, json: string, bytes: number): void {
    // A caller that went away gets nothing; writing would only fail.
    if (this.raw.destroyed) return;
    sendJsonSoon(this.raw, status, json, bytes);
  }
}

/** Something that is not a ServiceError escaped the chain: log it, never send its details. */
function unknownError(err: unknown, logger?: Logger): ServiceError {
  logger?.error({ err }, 'unhandled error in handler');
  return ErrUnknownRequest(err);
}

/** Why Node would refuse to send these headers, or undefined when it would send them. */
function invalidHeader(header: Header, keys: string[]): Error | undefined {
  for (const key of keys) {
    try {
      http.validateHeaderName(key);
      for (const value of header.values(key)) http.validateHeaderValue(key, value);
    } catch (err) {
      return err as Error;
    }
  }
  return undefined;
}

/** Fastify's own errors (body too large, bad media type) in our error shape. */
function engineError(err: unknown): ServiceError {
  if (isServiceError(err)) return fromError(err);
  const e = err as { statusCode?: number; code?: string; message?: string };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return ErrPayloadTooLarge('request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return ErrUnsupportedMediaType('request body must be application/json (or JSON sent as text/plain)');
    default:
      if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return new ServiceError(e.statusCode, Reason.CODEC, e.message ?? 'bad request');
      return ErrUnknownRequest(err);
  }
}

/** A Header view over Node's incoming headers object (keys already lower-case), without copying. */
class IncomingHeader implements Header {
  constructor(private readonly headers: IncomingHttpHeaders) {}
  get(key: string): string | undefined {
    const v = this.headers[key.toLowerCase()];
    return Array.isArray(v) ? v[0] : v;
  }
  values(key: string): string[] {
    const v = this.headers[key.toLowerCase()];
    return v === undefined ? [] : Array.isArray(v) ? [...v] : [v];
  }
  set(key: string, value: string): void {
    this.headers[key.toLowerCase()] = value;
  }
  add(key: string, value: string): void {
    const k = key.toLowerCase();
    const v = this.headers[k];
    this.headers[k] = v === undefined ? value : [...(Array.isArray(v) ? v : [v]), value];
  }
  keys(): string[] {
    return Object.keys(this.headers);
  }
}

/** The Context of a call answered before it ran: there is nothing left to cancel. */
class RejectedCallContext extends ServerCallContext<HttpTransport> {
  constructor(transport: HttpTransport) {
    super(transport, undefined);
  }
  protected callerGone(): boolean {
    return false;
  }
  protected watchCaller(): void {}
  protected unwatchCaller(): void {}
}

/** An HTTP call's Context: the caller is gone when the connection closes before the reply is written. */
export class HttpCallContext extends ServerCallContext<HttpTransport> {
  constructor(transport: HttpTransport, deadline: number | undefined, private readonly response: ServerResponse) {
    super(transport, deadline);
  }

  protected callerGone(): boolean {
    return this.response.destroyed && !this.response.writableFinished;
  }

  protected watchCaller(listener: () => void): void {
    this.response.once('close', listener);
  }

  protected unwatchCaller(listener: () => void): void {
    this.response.removeListener('close', listener);
  }
}
