// The HTTP server: fastify as the engine, our own google.api.http router on top.
// One catch-all fastify route hands every call to the router, because path
// templates (`{name=shelves/*}`, `**`, `:verb`) are not fastify's syntax; raw
// routes (/metrics, /healthz) are plain fastify routes and skip the middleware.

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import http, { type IncomingHttpHeaders } from 'node:http';
import type { Logger } from 'pino';
import { fromError, gatewayTimeout, isServiceError, newError, type ServiceError } from '../../errors/errors.js';
import { chain, HeaderMap, type Handler, type Header, type HttpTransport, type Middleware } from '../context.js';
import { ServerCallContext } from '../call-context.js';
import { advertisedHost, formatHostPort, parseAddress } from '../endpoint.js';
import type { Server } from '../server.js';
import { DeadlineQueue } from '../deadlines.js';
import { bindRequest, compileRoute, encodeResponse, type CompiledRoute } from './binding.js';
import { matchSegments, splitPath } from './template.js';
import type { HttpRoute } from './route.js';

export interface HttpServerOptions {
  /** Listen address, `host:port`; default `0.0.0.0:8000`. Port 0 picks a free port. */
  address?: string;
  /** Applied to every route, outermost first. */
  middleware?: Middleware[];
  /** Per-request deadline; 0 disables it. Default 1000 ms, as in Kratos. */
  timeoutMs?: number;
  /** Largest accepted request body in bytes; default 1 MiB. */
  bodyLimit?: number;
  logger?: Logger;
}

interface BoundRoute {
  compiled: CompiledRoute;
  /** Middleware already applied. */
  handler: Handler;
}

const ROUTED_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;

export class HttpServer implements Server {
  private readonly app: FastifyInstance;
  private readonly routes: BoundRoute[] = [];
  private readonly routedMethods = new Set<string>(ROUTED_METHODS);
  private readonly middleware: Middleware;
  private readonly timeoutMs: number;
  private readonly deadlines?: DeadlineQueue;
  private readonly host: string;
  private readonly port: number;
  private boundPort?: number;
  private advertised = '';
  private stopping?: Promise<void>;

  constructor(private readonly options: HttpServerOptions = {}) {
    const { host, port } = parseAddress(options.address ?? '0.0.0.0:8000');
    this.host = host;
    this.port = port;
    this.timeoutMs = options.timeoutMs ?? 1000;
    if (this.timeoutMs > 0) this.deadlines = new DeadlineQueue(this.timeoutMs);
    this.middleware = chain(...(options.middleware ?? []));
    this.app = Fastify({
      logger: false,
      bodyLimit: options.bodyLimit ?? 1024 * 1024,
      exposeHeadRoutes: false,
      // Requests fastify rejects before routing (malformed URLs) still get our error JSON.
      frameworkErrors: (err, _request, reply) => this.sendError(reply, engineError(err)),
    });
    // Our own JSON parser: an empty body is "no body" rather than an error, and
    // parse failures surface as our 400 CODEC error.
    this.app.removeContentTypeParser('application/json');
    this.app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, text, done) => {
      if (text === '') return done(null, undefined);
      try {
        done(null, JSON.parse(text as string));
      } catch (err) {
        done(newError(400, 'CODEC', `malformed JSON body: ${(err as Error).message}`), undefined);
      }
    });
    this.app.setErrorHandler((err, _request, reply) => this.sendError(reply, engineError(err)));
    this.app.route({ method: [...ROUTED_METHODS], url: '/*', handler: (request, reply) => this.dispatch(request, reply) });
    this.app.route({ method: [...ROUTED_METHODS], url: '/', handler: (request, reply) => this.dispatch(request, reply) });
  }

  /** Registers one google.api.http binding with its handler; generated `register*HTTPServer` calls this. */
  route<Req, Res>(route: HttpRoute<Req, Res>, handler: Handler<Req, Res>): void {
    const compiled = compileRoute(route) as CompiledRoute;
    this.routes.push({ compiled, handler: this.middleware(handler as Handler) });
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
  }

  /** The underlying fastify instance, for plugins a service wants to add (CORS, static files). */
  get engine(): FastifyInstance {
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
   * Routes and runs one call. Returns nothing: fastify waits for reply.send, where a
   * returned reply would make it also watch the response stream for its end.
   */
  private dispatch(request: FastifyRequest, reply: FastifyReply): void {
    const url = request.raw.url ?? '/';
    const q = url.indexOf('?');
    const path = q < 0 ? url : url.slice(0, q);
    const method = request.method;
    let found: BoundRoute | undefined;
    let values: string[] | undefined;
    let allowed: Set<string> | undefined;
    const segments = splitPath(path);
    for (const candidate of this.routes) {
      const match = segments && matchSegments(candidate.compiled.template, segments);
      if (!match) continue;
      const routeMethod = candidate.compiled.route.method;
      if (routeMethod === method || (method === 'HEAD' && routeMethod === 'GET')) {
        found = candidate;
        values = match;
        break;
      }
      (allowed ??= new Set()).add(routeMethod);
    }
    if (!found) {
      if (allowed) {
        const allow = [...allowed, ...(allowed.has('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
        reply.header('allow', allow);
        if (method === 'OPTIONS') return void reply.code(204).send();
        return this.sendError(reply, newError(405, 'METHOD_NOT_ALLOWED', `method ${method} is not allowed on ${path}`));
      }
      return this.sendError(reply, newError(404, 'NOT_FOUND', `no route for ${method} ${path}`));
    }

    const compiled = found.compiled;
    const route = compiled.route;
    let message: unknown;
    try {
      message = bindRequest(compiled, values!, q < 0 ? undefined : new URLSearchParams(url.slice(q + 1)), request.body);
    } catch (err) {
      return this.sendError(reply, fromError(err));
    }

    // The call's deadline comes from the server's queue; on expiry the call is aborted and answered 504.
    const timer = this.deadlines?.add(() => {
      const err = gatewayTimeout('TIMEOUT', `request exceeded the ${this.timeoutMs} ms deadline`);
      ctx.abort(err);
      settle(err);
    });
    const transport: HttpTransport = {
      kind: 'http',
      endpoint: this.advertised,
      operation: route.operation,
      requestHeader: new IncomingHeader(request.headers),
      replyHeader: new HeaderMap(),
      method,
      pathTemplate: route.path,
      url,
    };
    const ctx = new HttpCallContext(transport, timer?.at, reply);

    // The handler and the deadline race through one settle function rather than
    // Promise.race, which costs an extra promise and closure per request.
    let settled = false;
    const settle = (err: unknown, response?: unknown) => {
      if (settled) return;
      settled = true;
      if (timer) this.deadlines!.cancel(timer);
      ctx.release();
      copyHeaders(transport.replyHeader, reply);
      if (err !== undefined) return this.sendError(reply, isServiceError(err) ? fromError(err) : unknownError(err, this.options.logger));
      let payload: string;
      try {
        payload = JSON.stringify(encodeResponse(compiled, response));
      } catch (encodeErr) {
        return this.sendError(reply, unknownError(encodeErr, this.options.logger));
      }
      reply.code(200).header('content-type', 'application/json; charset=utf-8').send(payload);
    };
    try {
      found.handler(ctx, message).then((res) => settle(undefined, res), (err) => settle(err ?? new Error('rejected')));
    } catch (err) {
      settle(err); // a handler that throws synchronously
    }
  }

  private sendError(reply: FastifyReply, err: ServiceError): void {
    const status = err.code >= 400 && err.code <= 599 ? err.code : 500;
    reply.code(status).header('content-type', 'application/json; charset=utf-8');
    reply.send(JSON.stringify(err.toJSON()));
  }
}

/** Something that is not a ServiceError escaped the chain: log it, never send its details. */
function unknownError(err: unknown, logger?: Logger): ServiceError {
  logger?.error({ err }, 'unhandled error in handler');
  return newError(500, 'UNKNOWN', 'internal server error');
}

/** Fastify's own errors (body too large, bad media type) in our error shape. */
function engineError(err: unknown): ServiceError {
  if (isServiceError(err)) return fromError(err);
  const e = err as { statusCode?: number; code?: string; message?: string };
  switch (e.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return newError(413, 'PAYLOAD_TOO_LARGE', 'request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return newError(415, 'UNSUPPORTED_MEDIA_TYPE', 'request body must be application/json');
    default:
      if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500) return newError(e.statusCode, 'CODEC', e.message ?? 'bad request');
      return newError(500, 'UNKNOWN', 'internal server error');
  }
}

function copyHeaders(header: Header, reply: FastifyReply): void {
  for (const key of header.keys()) reply.header(key, header.values(key));
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

/** An HTTP call's Context: the caller is gone when the connection closes before the reply is written. */
class HttpCallContext extends ServerCallContext<HttpTransport> {
  constructor(transport: HttpTransport, deadline: number | undefined, private readonly reply: FastifyReply) {
    super(transport, deadline);
  }

  protected callerGone(): boolean {
    return this.reply.raw.destroyed && !this.reply.raw.writableFinished;
  }

  protected watchCaller(listener: () => void): void {
    this.reply.raw.once('close', listener);
  }

  protected unwatchCaller(listener: () => void): void {
    this.reply.raw.removeListener('close', listener);
  }
}
