// The HTTP server: fastify as the engine, our own google.api.http router on top.
// One catch-all fastify route hands every call to the router, because path
// templates (`{name=shelves/*}`, `**`, `:verb`) are not fastify's syntax; raw
// routes (/metrics, /healthz) are plain fastify routes and skip the middleware.
//
// Calls without a body to one of our routes (GET, HEAD, DELETE) take a fast path
// that answers on Node's request and response without fastify's request, reply and
// routing layers: for a small JSON call those were about as much CPU as all of
// tsk's routing and binding (measured by tsk's benchmarks). Their answers are written once per
// event-loop turn, together (response-batch.ts). fastify still receives every
// other request, and all of them once code asks for the engine (to add hooks or
// plugins, which must see every call).

import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { isUtf8 } from 'node:buffer';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import { fromError, isServiceError, ServiceError } from '../../errors/errors.js';
import {
  ErrCancelled,
  ErrCodec,
  ErrBadRequest,
  ErrNotFound,
  ErrMethodNotAllowed,
  ErrRequestTimeout,
  ErrPayloadTooLarge,
  ErrUnsupportedMediaType,
  ErrHeadersTooLarge,
  ErrUnknownRequest,
  Reason,
} from '../../errors/catalogue.js';
import { HeaderMap, type Handler, type Header, type HttpTransport, type Middleware } from '../context.js';
import { CallRunner } from '../call-runner.js';
import type { CallObserver } from '../observer.js';
import { ServerCallContext } from '../call-context.js';
import { advertisedHost, formatHostPort, parseAddress } from '../endpoint.js';
import type { Server } from '../server.js';
import { bindRequest, compileRoute, encodeResponse, FormBody, parseQuery, type CompiledRoute } from './binding.js';
import { jsonShapeProblem } from './json-shape.js';
import { parseJsonBody } from './proto-json.js';
import { lazyCompilers, treatAsDefaultCompilers } from './lazy-compilers.js';
import { JSON_TYPE, sendJsonSoon } from './response-batch.js';
import { matchSegments, splitPath, templateShape, type PathTemplate } from './template.js';
import type { HttpRoute } from './route.js';
import { eventStreamHandler, serveEventStream, type EventStreamMethod } from './sse.js';
import { bodilessStatus } from './status.js';

export interface HttpServerOptions {
  /** Listen address, `host:port`; default `0.0.0.0:8000`. Port 0 picks a free port. */
  address?: string | undefined;
  /** Watch every call, routed or refused, outermost and in this order (tracing, access log, metrics). */
  observers?: CallObserver[] | undefined;
  /** Wrap every route's handler inside the observers, first one outermost. */
  middleware?: Middleware[] | undefined;
  /** Per-request deadline; 0 disables it. Default 1000 ms, as in Kratos. */
  timeoutMs?: number | undefined;
  /** Largest accepted request body in bytes; default 1 MiB. */
  bodyLimit?: number | undefined;
  /** Deepest nesting of arrays and objects accepted in a JSON body; default 100 (protobuf's recursion limit). */
  maxJsonDepth?: number | undefined;
  /**
   * Longest time to receive a whole request, headers and body; default 60 s. A slower one
   * is answered 408 and its connection closed, so trickled requests cannot hold connections.
   */
  requestTimeoutMs?: number | undefined;
  /**
   * How long an idle kept-alive connection stays open; default 72 s (fastify's). Behind a
   * load balancer it must outlast the balancer's own idle timeout, or the balancer reuses
   * a connection the server is closing and answers 502.
   */
  keepAliveTimeoutMs?: number | undefined;
  logger?: Logger | undefined;
}

interface BoundRoute {
  compiled: CompiledRoute;
  /** Middleware already applied. */
  handler: Handler;
  /** A server-streaming method, answered as Server-Sent Events (sse.ts). */
  events?: boolean;
}

/**
 * Methods the catch-all routes take: every one Node's parser accepts (CONNECT names no
 * path), so a `custom { kind }` rule can use any, and a call no route takes gets our
 * 404 or 405 JSON whatever its method.
 */
const ROUTED_METHODS = new Set(http.METHODS.filter((method) => method !== 'CONNECT'));

/** The config that marks the server's own fastify routes, apart from those a service adds on the engine. */
const OWN_ROUTE = Object.freeze({ tsk: true });

/** A fastify route URL (`/files/:id`, `/static/*`) as a regular expression over paths. */
function fastifyPattern(url: string): RegExp {
  const source = url
    .split('/')
    .map((segment) =>
      segment === '*'
        ? '.*'
        : segment
            .split(/(:[A-Za-z0-9_]+(?:\([^)]*\))?)/)
            .map((part, i) => (i % 2 === 1 ? '[^/]+' : part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
            .join(''),
    )
    .join('/');
  return new RegExp(`^${source}$`);
}

/** A path a fastify route URL matches: each parameter and wildcard taken by one segment. */
function samplePath(url: string): string {
  return url.replace(/:[A-Za-z0-9_]+(?:\([^)]*\))?/g, 'x').replace(/\*/g, 'x');
}

/** A path a proto route's template matches: each variable one segment. */
function sampleOf(template: PathTemplate): string {
  return templateShape(template).replace(/\*\*|\*/g, 'x');
}

/** The operation label of calls answered before they reached a route (404, 405, malformed requests). */
export const UNMATCHED_OPERATION = '<unmatched>';

/** What names a call in its Context: its route's operation and path template. */
type RouteName = Pick<HttpRoute<unknown, unknown>, 'operation' | 'path'>;
const UNMATCHED: RouteName = { operation: UNMATCHED_OPERATION, path: '' };

/** What every call brings, routed or refused. */
interface CallFacts {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** The request body's size as declared or read; 0 without a body. */
  bodyBytes: number;
  answer: Answer;
  /** performance.now() as the headers arrived, when the body was read after that. */
  receivedAt?: number | undefined;
}

/** A call that matched a route. */
interface RoutedCall extends CallFacts {
  found: BoundRoute;
  /** The path's values for the route template's variables. */
  values: string[];
  /** Where `?` is in the url; -1 without a query. */
  query: number;
  /** The parsed JSON body, if any. */
  body: unknown;
}

type Routed = { route: BoundRoute; values: string[] };
type Match = Routed | { allowed?: Set<string> | undefined; near?: BoundRoute | undefined };
/** Where routeEarly leaves a call's match for dispatch. */
const MATCHED = Symbol('tsk.matched');
type RoutedRequest = IncomingMessage & { [MATCHED]?: Match; [RECEIVED_AT]?: number };
/** When routeEarly saw a request's headers, before fastify read its body. */
const RECEIVED_AT = Symbol('tsk.receivedAt');

export class HttpServer implements Server {
  private readonly app: FastifyInstance;
  private readonly routes: BoundRoute[] = [];
  /** The route registered for each method and template shape (templateShape): a second one would never be reached. */
  private readonly shapes = new Map<string, HttpRoute<unknown, unknown>>();
  private readonly runner: CallRunner<HttpCallContext, string>;
  private readonly host: string;
  private readonly port: number;
  private boundPort?: number;
  private advertised = '';
  private stopping?: Promise<void>;
  /** Answers close their connection: the server is draining or stopping. */
  private draining = false;
  /** Whether bodiless calls to our routes skip fastify (see the top of this file). */
  private fastPath = true;
  /** Paths of raw routes and their methods: they win over our templates, as fastify's static routes do. */
  private readonly rawPaths = new Map<string, Set<string>>();
  /** Routes added on the engine by the service or its plugins, not by this server. */
  private readonly engineRoutes: { methods: string[]; url: string }[] = [];
  /** Connections cut while a request's body was arriving (too slow, malformed), with the answer they got. */
  private readonly cutRequests = new WeakMap<object, ServiceError>();
  private get bodyLimit(): number {
    return this.options.bodyLimit ?? DEFAULT_BODY_LIMIT;
  }

  constructor(private readonly options: HttpServerOptions = {}) {
    const { host, port } = parseAddress(options.address ?? '0.0.0.0:8000');
    this.host = host;
    this.port = port;
    this.runner = new CallRunner<HttpCallContext, string>({
      observers: options.observers,
      middleware: options.middleware,
      timeoutMs: options.timeoutMs ?? 1000,
      logger: options.logger,
      encode: (ctx, response) =>
        withBody(
          ctx,
          ctx.responseStatus !== undefined && bodilessStatus(ctx.responseStatus)
            ? ''
            : JSON.stringify(encodeResponse(ctx.route!, response)),
        ),
      encodeError: (ctx, error) => withBody(ctx, errorJson(error)),
      answer: (ctx, json, error) => this.answer(ctx, json, error),
    });
    this.app = Fastify({
      logger: false,
      bodyLimit: this.bodyLimit,
      ...(options.keepAliveTimeoutMs !== undefined ? { keepAliveTimeout: options.keepAliveTimeoutMs } : {}),
      serverFactory: (handler, opts) => {
        // Node would answer an HTTP/1.1 request without Host with an empty 400 on its own;
        // it gets our error JSON instead (and is counted) in missingHost.
        const requestTimeout = options.requestTimeoutMs ?? 60_000;
        const server = http.createServer(
          {
            requireHostHeader: false,
            // The headers' timeout follows (Node takes the sooner of this and 60 s); both are
            // checked every interval, so a request is cut between 1 and 1.25 times the timeout.
            requestTimeout,
            connectionsCheckingInterval: Math.min(30_000, Math.max(50, Math.floor(requestTimeout / 4))),
          },
          (req, res) => {
            // While the server drains and stops, a kept-alive connection closes after its answer
            // (raw routes' too): callers do not reuse it as the listener closes, and the stop
            // waits for no idle one.
            if (this.draining) res.setHeader('connection', 'close');
            if (this.missingHost(req, res)) return;
            if (!this.serveFast(req, res)) handler(req, res);
          },
        );
        // What fastify sets on a server it creates itself (its defaults are filled in by now).
        const o = opts as unknown as {
          keepAliveTimeout: number;
          connectionTimeout: number;
          maxRequestsPerSocket: number;
        };
        server.keepAliveTimeout = o.keepAliveTimeout;
        server.setTimeout(o.connectionTimeout);
        // A socket keeps its peer's address in a property of its own from the first read
        // on, and only some calls read it (sampled spans). Read as each connection opens,
        // every socket has the same shape: sockets of two shapes kept V8 deoptimizing and
        // recompiling Node's HTTP code.
        server.on('connection', (socket: Socket) => void socket.remoteAddress);
        if (o.maxRequestsPerSocket > 0) server.maxRequestsPerSocket = o.maxRequestsPerSocket;
        return server;
      },
      // Requests fastify rejects before routing (malformed URLs) still get our error JSON.
      frameworkErrors: (err, request, reply) =>
        this.reject(request.raw, engineError(err, this.bodyLimit), new FastifyAnswer(reply)),
      // And so do requests Node's parser rejects before there is a request at all.
      clientErrorHandler: (err, socket) => this.answerClientError(err, socket),
      // A call that arrives on an open connection while the server stops is still
      // answered, and its connection closed after it (see run()), rather than refused
      // with fastify's own 503 body.
      return503OnClosing: false,
      // fastify's schema compilers load with the first route that has a schema (none of ours do).
      schemaController: { compilersFactory: lazyCompilers() },
    });
    treatAsDefaultCompilers(this.app);
    // Our own JSON parser: an empty body is "no body" rather than an error, and
    // parse failures surface as our 400 CODEC error. text/plain bodies are read as
    // JSON too: a fetch() given a string body sends it as text/plain (Kratos refuses
    // content types it has no codec for; tsk takes this one).
    const maxDepth = options.maxJsonDepth ?? 100;
    const parseJson = (
      req: FastifyRequest,
      bytes: string | Buffer,
      done: (err: Error | null, body?: unknown) => void,
    ) => {
      noteBodySize(req, bytes);
      const unreadable = unreadableBody(req);
      if (unreadable) return done(unreadable, undefined);
      if (bytes.length === 0) return done(null, undefined);
      // Decoding would replace bad bytes with U+FFFD and hand the handler text nobody sent (protojson refuses them).
      if (typeof bytes !== 'string' && !isUtf8(bytes))
        return done(ErrCodec('malformed JSON body: not valid UTF-8'), undefined);
      const text = bytes.toString();
      const problem = jsonShapeProblem(text, maxDepth);
      if (problem) return done(ErrCodec(`malformed JSON body: ${problem}`), undefined);
      try {
        done(null, parseJsonBody(text));
      } catch (err) {
        done(ErrCodec(`malformed JSON body: ${withoutExcerpt((err as Error).message)}`), undefined);
      }
    };
    this.app.removeContentTypeParser(['application/json', 'text/plain']);
    this.app.addContentTypeParser(['application/json', 'text/plain'], { parseAs: 'buffer' }, parseJson);
    // Form bodies (curl -d, HTML forms) bind as Kratos binds them: keys name fields.
    this.app.addContentTypeParser(
      'application/x-www-form-urlencoded',
      { parseAs: 'string' },
      (req: FastifyRequest, text: string | Buffer, done: (err: Error | null, body?: unknown) => void) => {
        noteBodySize(req, text);
        const unreadable = unreadableBody(req);
        if (unreadable) return done(unreadable, undefined);
        // `curl -d '{"name":"x"}'` sends JSON labelled as a form: as a form it is one
        // unknown key, ignored, and the call would run on an empty request.
        if (/^\s*[{[]/.test(text as string))
          return done(
            ErrCodec(
              'the body is JSON sent as a form (application/x-www-form-urlencoded): send it as application/json',
            ),
            undefined,
          );
        let form: FormBody | undefined;
        try {
          form = text === '' ? undefined : new FormBody(parseQuery(text as string, 'form body'));
        } catch (err) {
          return done(err as Error, undefined);
        }
        done(null, form);
      },
    );
    this.app.setErrorHandler((err, request, reply) =>
      this.reject(
        request.raw,
        engineError(err, this.bodyLimit, this.cutRequests.get(request.raw.socket)),
        new FastifyAnswer(reply),
      ),
    );
    for (const method of ROUTED_METHODS)
      if (!this.app.supportedMethods.includes(method)) this.app.addHttpMethod(method, { hasBody: true });
    // OPTIONS is left to the not-found handler: a CORS plugin declares `OPTIONS *`
    // itself, which fastify refuses next to a catch-all that has it.
    for (const url of ['/*', '/'])
      this.app.route({
        method: [...ROUTED_METHODS].filter((method) => method !== 'OPTIONS'),
        url,
        config: OWN_ROUTE,
        onRequest: (request, reply, done) => this.routeEarly(request, reply, done),
        handler: (request, reply) => this.dispatch(request, reply),
      });
    // Routes a service adds on the engine (its own plugins' too) are matched before the
    // catch-all: one that takes a proto route's paths is refused at start (engineShadow).
    this.app.addHook('onRoute', (route) => {
      if (route.config !== OWN_ROUTE) this.engineRoutes.push({ methods: [route.method].flat(), url: route.url });
    });
    this.app.setNotFoundHandler((request, reply) => {
      const match = this.match(request.method, pathOf(request.raw.url ?? '/'));
      if (!('route' in match)) return this.answerUnrouted(request, reply, match);
      (request.raw as RoutedRequest)[MATCHED] = match;
      this.dispatch(request, reply);
    });
  }

  /** Registers one google.api.http binding with its handler; generated `register*HTTPServer` calls this. */
  route<Req, Res>(route: HttpRoute<Req, Res>, handler: Handler<Req, Res>): void {
    const compiled = this.compileNew(route);
    this.bind({ compiled, handler: this.runner.wrap(handler as Handler) });
  }

  /** Registers a server-streaming method's binding, answered as Server-Sent Events (sse.ts). */
  streamRoute<Req, Res>(route: HttpRoute<Req, Res>, handler: EventStreamMethod<Req, Res>): void {
    const compiled = this.compileNew(route);
    this.bind({
      compiled,
      handler: eventStreamHandler((h) => this.runner.wrap(h), handler as EventStreamMethod<unknown, unknown>),
      events: true,
    });
  }

  /**
   * Adds a route to those match() tries in order. A route with a verb goes before every
   * route without one: `/v1/{name=books/*}` also matches `/v1/books/1:title`, which
   * `/v1/{name=books/*}:title` is for, whichever the proto declares first.
   */
  private bind(bound: BoundRoute): void {
    const verbless =
      bound.compiled.template.verb === undefined
        ? -1
        : this.routes.findIndex((r) => r.compiled.template.verb === undefined);
    if (verbless < 0) this.routes.push(bound);
    else this.routes.splice(verbless, 0, bound);
  }

  /** Compiles a route, refusing one whose method no server receives, or whose method and paths an earlier route already takes. */
  private compileNew(route: HttpRoute<unknown, unknown>): CompiledRoute {
    // CONNECT, or a method Node's parser does not accept, never reaches a route.
    if (!ROUTED_METHODS.has(route.method))
      throw new Error(`http route: ${route.method} is not an HTTP method this server can receive`);
    const compiled = compileRoute(route) as CompiledRoute;
    const key = `${route.method} ${templateShape(compiled.template)}`;
    const earlier = this.shapes.get(key);
    if (earlier)
      throw new Error(
        `http route: ${route.method} ${route.path} (${route.operation}) matches the same paths as ${earlier.path} (${earlier.operation}), registered before it, so it would never be called`,
      );
    this.shapes.set(key, route);
    return compiled;
  }

  /** A plain fastify route outside the middleware chain (metrics, health probes). */
  handleRaw(
    method: 'GET' | 'POST',
    url: string,
    handler: (request: FastifyRequest, reply: FastifyReply) => unknown,
  ): void {
    // A GET answers HEAD too, as our own GET routes do (curl -I, load balancers' HEAD checks).
    const methods = method === 'GET' ? ['GET', 'HEAD'] : [method];
    this.app.route({
      method: methods,
      url,
      config: OWN_ROUTE,
      handler: async (request, reply) => handler(request, reply),
    });
    // A parametric raw route could match any path: then every call goes through fastify's router.
    if (/[:*]/.test(url)) this.fastPath = false;
    const known = this.rawPaths.get(url) ?? new Set<string>();
    this.rawPaths.set(url, known.add(method));
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
    // Plugins register their routes as fastify loads them, before it listens.
    await this.app.ready();
    const shadow = this.engineShadow();
    if (shadow) throw new Error(shadow);
    await this.app.listen({ host: this.host, port: this.port });
    const address = this.app.server.address();
    this.boundPort = typeof address === 'object' && address ? address.port : this.port;
    this.advertised = `http://${formatHostPort(advertisedHost(this.host), this.boundPort)}`;
    this.options.logger?.info({ endpoint: this.endpoint() }, 'http server listening');
  }

  /**
   * Answers close their connection from now on, and kept-alive connections idle now are
   * closed, so callers open new ones (to other instances, once this one is out of their
   * rotation) rather than reuse one as the listener closes, which they would see reset.
   */
  drain(): void {
    this.draining = true;
    this.app.server.closeIdleConnections();
  }

  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.draining = true;
    this.stopping ??= (async () => {
      if (this.boundPort === undefined) return;
      const timeoutMs = options.timeoutMs ?? 10_000;
      let timer: NodeJS.Timeout | undefined;
      const forced = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          // In-flight requests outlived the drain window: each is answered 503 (another instance
          // may take it), then the connections are cut once those answers are written.
          this.runner.cutRunning('http');
          setImmediate(() => {
            this.app.server.closeAllConnections();
            resolve();
          });
        }, timeoutMs);
      });
      await Promise.race([this.app.close(), forced]);
      clearTimeout(timer);
      this.runner.stop();
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
    const path = pathOf(url, q);
    if (this.rawPaths.has(path)) return false;
    const match = this.match(method, path);
    if (!('route' in match)) return false; // fastify answers 404, 405 and OPTIONS
    this.run({
      found: match.route,
      values: match.values,
      url,
      query: q,
      method,
      headers,
      body: undefined,
      bodyBytes: 0,
      answer: new NodeAnswer(res),
    });
    return true;
  }

  /**
   * Routes a call fastify will read a body for before it reads it (an onRequest hook on
   * the catch-all routes): one no route takes gets its 404 or 405, not a 400 for a body
   * no handler would read. The match is kept for dispatch.
   */
  private routeEarly(request: FastifyRequest, reply: FastifyReply, done: () => void): void {
    const match = this.match(request.method, pathOf(request.raw.url ?? '/'));
    (request.raw as RoutedRequest)[MATCHED] = match;
    (request.raw as RoutedRequest)[RECEIVED_AT] = performance.now();
    if ('route' in match) return done();
    this.answerUnrouted(request, reply, match);
  }

  private dispatch(request: FastifyRequest, reply: FastifyReply): void {
    const url = request.raw.url ?? '/';
    const q = url.indexOf('?');
    // Every call dispatch serves has been matched to a route already, by routeEarly (which
    // answered the call if no route takes it) or, for OPTIONS, by the not-found handler.
    const match = (request.raw as RoutedRequest)[MATCHED] as Routed;
    this.run({
      found: match.route,
      values: match.values,
      url,
      query: q,
      method: request.method,
      headers: request.headers,
      body: request.body,
      bodyBytes: requestBytes(request.raw),
      receivedAt: (request.raw as RoutedRequest)[RECEIVED_AT],
      answer: new FastifyAnswer(reply),
    });
  }

  /** A call no route takes: 405 with Allow when the path has routes for other methods (204 to OPTIONS), else 404. */
  private answerUnrouted(request: FastifyRequest, reply: FastifyReply, match: Match): void {
    const path = pathOf(request.raw.url ?? '/');
    const method = request.method;
    // Another method on a raw route's (static) path is a 405 too.
    const allowed = ('allowed' in match ? match.allowed : undefined) ?? this.rawPaths.get(path);
    if (allowed) {
      const allow = [...allowed, ...(allowed.has('GET') ? ['HEAD'] : []), 'OPTIONS'].join(', ');
      reply.header('allow', allow);
      if (method === 'OPTIONS') return void reply.code(204).send();
      return this.reject(
        request.raw,
        ErrMethodNotAllowed(`method ${method} is not allowed on ${path}`),
        new FastifyAnswer(reply),
      );
    }
    this.reject(request.raw, ErrNotFound(`no route for ${method} ${path}`), new FastifyAnswer(reply));
  }

  /**
   * The first route added on the engine that takes paths of a proto route, which would then
   * never be called (fastify matches them before the catch-all that leads to the router),
   * as a sentence naming both; undefined when none does. Each side's pattern is tried on a
   * path the other one matches.
   */
  private engineShadow(): string | undefined {
    for (const added of this.engineRoutes) {
      const pattern = fastifyPattern(added.url);
      for (const method of added.methods) {
        const found = this.match(method, samplePath(added.url));
        const taken =
          ('route' in found ? found.route : undefined) ??
          this.routes.find(
            (r) =>
              (r.compiled.route.method === method || (method === 'HEAD' && r.compiled.route.method === 'GET')) &&
              pattern.test(sampleOf(r.compiled.template)),
          );
        if (taken) {
          const route = taken.compiled.route;
          return `http route: ${method} ${added.url}, added on the engine, takes the paths of ${route.method} ${route.path} (${route.operation}), which would never be called; serve it on another path, or drop the rpc's http rule`;
        }
      }
    }
    return undefined;
  }

  /**
   * The route for a method and path; when none, the methods the path allows and the
   * first route it matched under another method (a 405 is counted under its operation).
   */
  private match(method: string, path: string): Match {
    let allowed: Set<string> | undefined;
    let near: BoundRoute | undefined;
    const segments = splitPath(path);
    if (!segments) return {};
    for (const candidate of this.routes) {
      const values = matchSegments(candidate.compiled.template, segments);
      if (!values) continue;
      const routeMethod = candidate.compiled.route.method;
      if (routeMethod === method || (method === 'HEAD' && routeMethod === 'GET')) return { route: candidate, values };
      (allowed ??= new Set()).add(routeMethod);
      near ??= candidate;
    }
    return { allowed, near };
  }

  /** Binds the request and runs the route's handler (CallRunner answers it). */
  private run(call: RoutedCall): void {
    const compiled = call.found.compiled;
    const route = compiled.route;
    const ctx = this.callContext(call, route, call.found.events === true);
    ctx.route = compiled;
    let message: unknown;
    try {
      message = bindRequest(
        compiled,
        call.values,
        call.query < 0 ? undefined : parseQuery(call.url.slice(call.query + 1)),
        call.body,
      );
    } catch (err) {
      return this.runner.reject(ctx, fromError(err));
    }
    if (call.found.events) {
      return serveEventStream(this.runner, {
        ctx,
        compiled,
        handler: call.found.handler,
        request: message,
        takeOver: () => call.answer.takeOver(),
        errorBody: (err) => withBody(ctx, errorJson(err)),
        answerError: (err, body) => this.answer(ctx, body, err),
      });
    }
    this.runner.run(ctx, call.found.handler, message);
  }

  /** The Context of one call, routed or not. */
  private callContext(call: CallFacts, route: RouteName, stream = false): HttpCallContext {
    const transport: HttpTransport = {
      kind: 'http',
      endpoint: this.advertised,
      operation: route.operation,
      requestHeader: new IncomingHeader(call.headers),
      replyHeader: new HeaderMap(),
      method: call.method,
      pathTemplate: route.path,
      url: call.url,
      remote: call.answer.raw?.socket ?? undefined,
      stream,
    };
    const ctx = new HttpCallContext(transport, call.answer);
    ctx.requestBytes = call.bodyBytes;
    ctx.receivedAt = call.receivedAt;
    return ctx;
  }

  /** Writes a call's answer, with the headers the call set. */
  private answer(ctx: HttpCallContext, json: string, error: ServiceError | undefined): void {
    const answer = ctx.answer;
    const replyHeader = ctx.transport.replyHeader;
    const keys = replyHeader.keys();
    if (keys.length > 0) {
      // A header Node would refuse (a newline in a value) would throw inside the write,
      // after the call's promise: caught here, it is the handler's 500 instead.
      const headerError = invalidHeader(replyHeader, keys);
      if (headerError) return answer.error(this.runner.unknown(ctx, headerError));
      for (const key of keys) answer.header(key, replyHeader.values(key));
    }
    // A call that arrived before the server began draining closes its connection too.
    if (this.draining) answer.header('connection', ['close']);
    answer.send(error ? errorStatus(error) : (ctx.responseStatus ?? 200), json, ctx.bodyBytes);
  }

  /**
   * Answers a call refused before it reached its handler, after the observers have
   * seen it: under its route's operation when the path matches one, else UNMATCHED_OPERATION.
   */
  private reject(req: IncomingMessage, err: ServiceError, answer: Answer): void {
    const method = req.method ?? '';
    const url = req.url ?? '/';
    // routeEarly's match when the call got that far (a body fastify refused, no route); else matched here.
    const match = (req as RoutedRequest)[MATCHED] ?? this.match(method, pathOf(url));
    const route = 'route' in match ? match.route.compiled.route : (match.near?.compiled.route ?? UNMATCHED);
    const receivedAt = (req as RoutedRequest)[RECEIVED_AT];
    this.refuse({ method, url, headers: req.headers, bodyBytes: requestBytes(req), answer, receivedAt }, route, err);
  }

  /** Answers a call with `err` without running it, after the observers have seen it. */
  private refuse(call: CallFacts, route: RouteName, err: ServiceError): void {
    this.runner.reject(this.callContext(call, route), err);
  }

  /** An HTTP/1.1 request without Host (RFC 9112 section 3.2): 400 with our error JSON. */
  private missingHost(req: IncomingMessage, res: ServerResponse): boolean {
    if (req.headers.host !== undefined || req.httpVersionMajor !== 1 || req.httpVersionMinor !== 1) return false;
    res.setHeader('connection', 'close');
    const call = {
      method: req.method ?? '',
      url: req.url ?? '/',
      headers: req.headers,
      bodyBytes: requestBytes(req),
      answer: new NodeAnswer(res),
    };
    this.refuse(call, UNMATCHED, ErrBadRequest('an HTTP/1.1 request needs a Host header'));
    return true;
  }

  /**
   * Node's parser rejected the bytes on a connection (malformed request line or
   * headers, headers too large, too slow): count it, answer in our error shape, then close it.
   */
  private answerClientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    if (err.code === 'ECONNRESET' || socket.destroyed) return;
    const error =
      err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? ErrRequestTimeout('the request was not received in time')
        : err.code === 'HPE_HEADER_OVERFLOW'
          ? ErrHeadersTooLarge('the request headers are too large')
          : ErrBadRequest('malformed HTTP request');
    // A request whose body was arriving: it is answered here (unless its caller has left,
    // which is what an early end of the body means), and counted, with its route, as its
    // body read fails (engineError). Node ties a socket to its request's response as
    // `_httpMessage`; no public API says a request is in flight on a socket.
    if ((socket as { _httpMessage?: unknown })._httpMessage) {
      if (err.code === 'HPE_INVALID_EOF_STATE') return void socket.destroy();
      this.cutRequests.set(socket, error);
      return new SocketAnswer(socket).error(error);
    }
    const call = { method: '', url: '', headers: {}, bodyBytes: 0, answer: new SocketAnswer(socket) };
    this.refuse(call, UNMATCHED, error);
  }
}

/**
 * Where a call's answer goes: fastify's reply (so its hooks run), on the fast path
 * Node's response, or for a request Node could not parse, its socket.
 */
abstract class Answer {
  abstract readonly raw: ServerResponse | undefined;
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
/**
 * V8's JSON.parse message without the excerpt of the body it quotes (`Unexpected token 'u',
 * ..."er2!","a":undefined}" is not valid JSON`): the answer and the access log would repeat
 * what the caller sent, a password as well as a typo.
 */
function withoutExcerpt(message: string): string {
  return message.replace(/, (?:\.\.\.)?"[\s\S]*" is not valid JSON$/, '');
}

/** A request target's path: the part before its query (`q` is where the `?` is, when known). */
function pathOf(url: string, q = url.indexOf('?')): string {
  return q < 0 ? url : url.slice(0, q);
}

function errorStatus(err: ServiceError): number {
  return err.code >= 400 && err.code <= 599 ? err.code : 500;
}

function errorJson(err: ServiceError): string {
  return JSON.stringify(err.toJSON());
}

/** Where the body parsers leave the size of a body that came without Content-Length. */
const BODY_BYTES = Symbol('tsk.bodyBytes');
type SizedRequest = IncomingMessage & { [BODY_BYTES]?: number };

/** Records the size of a parsed body when a chunked request has no Content-Length to read it from. */
function noteBodySize(req: FastifyRequest, text: string | Buffer): void {
  if (req.headers['content-length'] === undefined) (req.raw as SizedRequest)[BODY_BYTES] = Buffer.byteLength(text);
}

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
    // fastify frames a bodiless status itself, as bodilessHeaders does.
    if (bodilessStatus(status)) this.reply.code(status).send();
    else this.reply.code(status).header('content-type', JSON_TYPE).send(json);
  }
  override takeOver(): void {
    // Headers set on the reply (a CORS plugin's, a hook's) would stay there once the call writes the response itself.
    for (const [key, value] of Object.entries(this.reply.getHeaders()))
      if (value !== undefined) this.reply.raw.setHeader(key, value);
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

/** Answers on the socket itself, then closes it: the request never became one Node could answer. */
class SocketAnswer extends Answer {
  readonly raw = undefined;
  constructor(private readonly socket: Duplex) {
    super();
  }
  header(): void {}
  send(status: number, json: string, bytes: number): void {
    if (this.socket.writable) {
      this.socket.write(
        `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: ${JSON_TYPE}\r\nContent-Length: ${bytes}\r\nConnection: close\r\n\r\n${json}`,
      );
    }
    this.socket.destroy();
  }
}

/** Sets the size of an answer's body on its call, for observers, and returns the body. */
function withBody(ctx: HttpCallContext, json: string): string {
  const bytes = Buffer.byteLength(json);
  ctx.bodyBytes = bytes;
  ctx.responseBytes = ctx.transport.method === 'HEAD' ? 0 : bytes;
  return json;
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

/**
 * Why a body cannot be read as sent, or undefined: it is compressed (a content coding this
 * server does not undo) or its charset is not UTF-8, which both JSON and forms are read as.
 */
function unreadableBody(req: FastifyRequest): ServiceError | undefined {
  const coding = req.headers['content-encoding']?.trim().toLowerCase();
  if (coding && coding !== 'identity')
    return ErrUnsupportedMediaType(
      `request bodies in content-encoding ${coding} are not accepted: send it uncompressed`,
    );
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(req.headers['content-type'] ?? '')?.[1]?.toLowerCase();
  if (charset && charset !== 'utf-8' && charset !== 'utf8')
    return ErrUnsupportedMediaType(`request bodies in charset ${charset} are not accepted: send UTF-8`);
  return undefined;
}

/** Largest request body a server accepts when its options name none (1 MiB). */
const DEFAULT_BODY_LIMIT = 1024 * 1024;

/**
 * Fastify's own errors (body too large, bad media type, a body that stopped arriving) in
 * our error shape. `cut`: what the server answered as it closed the request's connection.
 */
function engineError(err: unknown, bodyLimit: number, cut?: ServiceError): ServiceError {
  if (isServiceError(err)) return fromError(err);
  const e = err as { statusCode?: number; code?: string; message?: string };
  switch (e.code) {
    case 'ECONNRESET':
      return cut ?? ErrCancelled('the caller went away before the request body was received');
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      // The limit in the answer, so a caller knows what size to send.
      return ErrPayloadTooLarge(`request body is larger than the server's limit of ${bodyLimit} bytes`, {
        limit_bytes: String(bodyLimit),
      });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return ErrUnsupportedMediaType(
        'request body must be JSON (application/json, or text/plain) or a form (application/x-www-form-urlencoded)',
      );
    default:
      if (e.statusCode && e.statusCode >= 400 && e.statusCode < 500)
        return new ServiceError(e.statusCode, Reason.CODEC, e.message ?? 'bad request');
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

/**
 * An HTTP call's Context, with what the server needs to answer it. The caller is gone
 * when the connection closes before the reply is written.
 */
export class HttpCallContext extends ServerCallContext<HttpTransport> {
  /** The route it matched, once bound. */
  route?: CompiledRoute = undefined;
  /** The size of the answer's body (ctx.responseBytes is 0 for HEAD). */
  bodyBytes = 0;

  constructor(
    transport: HttpTransport,
    readonly answer: Answer,
  ) {
    super(transport, undefined);
  }

  callerGone(): boolean {
    const response = this.answer.raw;
    return response?.destroyed === true && !response.writableFinished;
  }

  protected watchCaller(listener: () => void): void {
    this.answer.raw?.once('close', listener);
  }

  protected unwatchCaller(listener: () => void): void {
    this.answer.raw?.removeListener('close', listener);
  }
}
