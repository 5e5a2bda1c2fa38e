// The HTTP client generated `*HTTPClient` classes call: encodes a request by its
// route, runs the client observers and middleware, and turns error bodies back into
// ServiceErrors, so a caller sees the same {code, reason, message, metadata}. A service
// with no reachable instance is 503 SERVICE_UNAVAILABLE naming it. Server-streaming
// methods are read as the server sends them, Server-Sent Events (one call per stream).

import { fromError, isServiceError, newError, ServiceError } from '../../errors/errors.js';
import { ErrCancelled, ErrServiceUnavailable, ErrTimeout, Reason, type Callee } from '../../errors/catalogue.js';
import { DiscoveryTarget, discoveryServiceName } from '../../registry/target.js';
import {
  callDeadline,
  chain,
  HeaderMap,
  type Context,
  type Handler,
  type Middleware,
  type Transport,
} from '../context.js';
import type { CallOptions, ClientOptions } from '../client-options.js';
import { runClientCall, type CallObserver } from '../observer.js';
import { untraced } from '../../telemetry/active-context.js';
import { Inbox } from '../inbox.js';
import { compileRoute, decodeResponse, encodeRequest, type CompiledRoute } from './binding.js';
import type { HttpRoute } from './route.js';
import { EventReader } from './sse-reader.js';

export type { CallOptions };

export interface HttpClientOptions extends ClientOptions {
  /** `http://host:port` (optionally with a path prefix) or `discovery:///service-name`. */
  target: string;
}

export class HttpClient {
  /** Per route: compiled once, with the middleware chain composed around it. */
  private readonly routes = new WeakMap<HttpRoute<unknown, unknown>, Handler>();
  private readonly streamRoutes = new WeakMap<HttpRoute<unknown, unknown>, CompiledRoute>();
  private readonly middleware: Middleware;
  private readonly observers: readonly CallObserver[];
  private readonly timeoutMs: number;
  private target?: Promise<DiscoveryTarget>;
  private readonly callee: Callee;

  constructor(private readonly options: HttpClientOptions) {
    const name = discoveryServiceName(options.target);
    if (name !== undefined && !options.discovery)
      throw new Error(`target ${options.target} needs a discovery (registry) option`);
    if (name === undefined && !/^https?:\/\//.test(options.target))
      throw new Error(`invalid HTTP target "${options.target}": expected http(s)://host:port or discovery:///name`);
    this.middleware = chain(...(options.middleware ?? []));
    this.observers = options.observers ?? [];
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.callee = { target: options.target, service: options.service ?? name };
  }

  async invoke<Req, Res>(route: HttpRoute<Req, Res>, request: Req, options: CallOptions = {}): Promise<Res> {
    const handler = this.handlerFor(route);
    const ctx = this.callContext(route, await this.baseUrl(), options);
    return (await runClientCall(this.observers, ctx, handler, request)) as Res;
  }

  /**
   * A server-streaming method: its responses as the server sends them. The timeout
   * covers the whole stream; a caller that stops reading (break) cancels the request.
   */
  stream<Req, Res>(route: HttpRoute<Req, Res>, request: Req, options: CallOptions = {}): AsyncIterable<Res> {
    let compiled = this.streamRoutes.get(route);
    if (!compiled) this.streamRoutes.set(route, (compiled = compileRoute(route) as CompiledRoute));
    const inbox = new Inbox<Res>();
    const abandoned = new AbortController();
    inbox.onAbandoned = () => abandoned.abort(ErrCancelled('the stream was abandoned by its reader'));
    const terminal: Handler = (ctx, req) =>
      this.receive(ctx, compiled, req, inbox as Inbox<unknown>, AbortSignal.any([ctx.signal, abandoned.signal]));
    const handler = this.middleware(terminal);
    this.baseUrl()
      .then((base) => runClientCall(this.observers, this.callContext(route, base, options), handler, request))
      .then(
        () => inbox.close(),
        (err: unknown) => inbox.fail(err),
      );
    return inbox;
  }

  private callContext(route: HttpRoute<unknown, unknown>, base: string, options: CallOptions): Context {
    const deadline = callDeadline(options.timeoutMs ?? this.timeoutMs, options.parent);
    const timeout = deadline === undefined ? undefined : AbortSignal.timeout(Math.max(1, deadline - Date.now()));
    const signals = [options.signal, options.parent?.signal, timeout].filter((s): s is AbortSignal => !!s);
    const signal = signals.length === 1 ? signals[0]! : AbortSignal.any(signals);
    // The route's method rides along for the client span's http.request.method.
    const transport: Transport & { readonly method: string } = {
      kind: 'http',
      method: route.method,
      endpoint: base,
      operation: route.operation,
      requestHeader: new HeaderMap(Object.entries(options.headers ?? {})),
      replyHeader: new HeaderMap(),
    };
    return {
      transport,
      signal,
      deadline,
      values: new Map(options.parent?.values),
      requestBytes: undefined,
      responseBytes: undefined,
    };
  }

  private handlerFor(route: HttpRoute<unknown, unknown>): Handler {
    let handler = this.routes.get(route);
    if (!handler) {
      const compiled = compileRoute(route) as CompiledRoute;
      // The instance picked for this call is the transport's endpoint.
      handler = this.middleware((ctx, req) => this.send(ctx, compiled, req));
      this.routes.set(route, handler);
    }
    return handler;
  }

  private async send(ctx: Context, compiled: CompiledRoute, request: unknown): Promise<unknown> {
    const response = await this.request(ctx, compiled, request, 'application/json', ctx.signal);
    const text = await response.text();
    ctx.responseBytes = Buffer.byteLength(text);
    if (!response.ok) throw decodeErrorBody(response.status, text);
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw new ServiceError(500, Reason.CODEC, `response from ${compiled.route.operation} is not JSON`);
    }
    return decodeResponse(compiled, json);
  }

  /**
   * Reads a stream's events into `inbox`, pausing while the caller is behind; resolves
   * when the server ends the stream, rejects with an `event: error`'s ServiceError.
   */
  private async receive(
    ctx: Context,
    compiled: CompiledRoute,
    request: unknown,
    inbox: Inbox<unknown>,
    signal: AbortSignal,
  ): Promise<void> {
    const response = await this.request(ctx, compiled, request, 'text/event-stream', signal);
    if (!response.ok || !response.body) {
      const text = await response.text();
      ctx.responseBytes = Buffer.byteLength(text);
      throw decodeErrorBody(response.status, text);
    }
    const reader = new EventReader();
    let bytes = 0;
    let drained: (() => void) | undefined;
    inbox.onDrained = () => drained?.();
    // Until the caller catches up (or the call is cancelled or times out meanwhile).
    const caughtUp = () =>
      new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener('abort', wake);
          drained = undefined;
          resolve();
        };
        drained = wake;
        signal.addEventListener('abort', wake, { once: true });
      });
    try {
      for await (const chunk of response.body) {
        bytes += chunk.byteLength;
        for (const event of reader.push(chunk)) {
          if (event.type === 'error') throw decodeErrorBody(500, event.data);
          const message = decodeResponse(compiled, parseEventData(compiled, event.data));
          if (inbox.push(message)) await caughtUp();
          if (signal.aborted) throw signal.reason;
        }
      }
    } catch (err) {
      if (signal.aborted && !isServiceError(err))
        throw transportError(err, signal, this.callee, ctx.transport.endpoint);
      throw err;
    } finally {
      ctx.responseBytes = bytes;
    }
  }

  /** Sends the call's request; a failure to reach the server is the caller's ServiceError. */
  private async request(
    ctx: Context,
    compiled: CompiledRoute,
    request: unknown,
    accept: string,
    signal: AbortSignal,
  ): Promise<Response> {
    const base = ctx.transport.endpoint;
    const { path, body } = encodeRequest(compiled, request);
    const headers: Record<string, string> = { accept };
    for (const key of ctx.transport.requestHeader.keys())
      headers[key] = ctx.transport.requestHeader.values(key).join(', ');
    if (body !== undefined) headers['content-type'] = 'application/json';
    ctx.requestBytes = body === undefined ? 0 : Buffer.byteLength(body);
    let response: Response;
    try {
      response = await untraced(() => fetch(base + path, { method: compiled.route.method, headers, body, signal }));
    } catch (err) {
      throw transportError(err, signal, this.callee, base);
    }
    response.headers.forEach((value, key) => ctx.transport.replyHeader.add(key, value));
    return response;
  }

  private async baseUrl(): Promise<string> {
    if (!discoveryServiceName(this.options.target)) return this.options.target.replace(/\/$/, '');
    // A failed open is not kept: the next call asks the registry again.
    this.target ??= DiscoveryTarget.open(this.options.discovery!, this.options.target, 'http').catch((err: Error) => {
      this.target = undefined;
      throw ErrServiceUnavailable(this.callee, `the registry did not answer: ${err.message}`);
    });
    return `http://${(await this.target).pick()}`;
  }

  async close(): Promise<void> {
    if (this.target) await (await this.target).close();
  }
}

/** An HTTP error response back into the ServiceError the server raised. */
export function decodeErrorBody(status: number, text: string): ServiceError {
  try {
    const body = JSON.parse(text) as Record<string, unknown>;
    if (typeof body['code'] === 'number') {
      const metadata =
        typeof body['metadata'] === 'object' && body['metadata'] !== null
          ? (body['metadata'] as Record<string, string>)
          : {};
      return newError(body['code'], String(body['reason'] ?? ''), String(body['message'] ?? ''), metadata);
    }
  } catch {
    // not our error JSON: fall through to a plain status error
  }
  return newError(status, '', text.slice(0, 512));
}

/** One event's data as JSON; data that is not JSON is the server's fault, as for unary answers. */
function parseEventData(compiled: CompiledRoute, data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw new ServiceError(500, Reason.CODEC, `an event from ${compiled.route.operation} is not JSON`);
  }
}

function transportError(err: unknown, signal: AbortSignal, callee: Callee, base: string): ServiceError {
  if (isServiceError(err)) return fromError(err);
  if (signal.aborted) {
    const why = signal.reason as { name?: string } | undefined;
    if (isServiceError(why)) return fromError(why);
    if (why?.name === 'TimeoutError') return ErrTimeout('request timed out');
    return ErrCancelled('request was cancelled');
  }
  const cause = (err as Error).cause as { code?: string } | undefined;
  const message = cause?.code ? `${(err as Error).message} (${cause.code})` : (err as Error).message;
  return ErrServiceUnavailable(callee, `${base}: ${message}`);
}
