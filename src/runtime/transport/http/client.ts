// The HTTP client generated `*HTTPClient` classes call: encodes a request by its
// route, runs the client observers and middleware, and turns error bodies back into
// ServiceErrors, so a caller sees the same {code, reason, message, metadata}. A service
// with no reachable instance is 503 SERVICE_UNAVAILABLE naming it.

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
import { compileRoute, decodeResponse, encodeRequest, type CompiledRoute } from './binding.js';
import type { HttpRoute } from './route.js';

export type { CallOptions };

export interface HttpClientOptions extends ClientOptions {
  /** `http://host:port` (optionally with a path prefix) or `discovery:///service-name`. */
  target: string;
}

export class HttpClient {
  /** Per route: compiled once, with the middleware chain composed around it. */
  private readonly routes = new WeakMap<HttpRoute<unknown, unknown>, Handler>();
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
    const base = await this.baseUrl();
    const deadline = callDeadline(options.timeoutMs ?? this.timeoutMs, options.parent);
    const timeout = deadline === undefined ? undefined : AbortSignal.timeout(Math.max(1, deadline - Date.now()));
    const signals = [options.signal, options.parent?.signal, timeout].filter((s): s is AbortSignal => !!s);
    const signal = signals.length === 1 ? signals[0]! : AbortSignal.any(signals);
    const transport: Transport = {
      kind: 'http',
      endpoint: base,
      operation: route.operation,
      requestHeader: new HeaderMap(Object.entries(options.headers ?? {})),
      replyHeader: new HeaderMap(),
    };
    const ctx: Context = {
      transport,
      signal,
      deadline,
      values: new Map(options.parent?.values),
      requestBytes: undefined,
      responseBytes: undefined,
    };
    return (await runClientCall(this.observers, ctx, handler, request)) as Res;
  }

  private handlerFor(route: HttpRoute<unknown, unknown>): Handler {
    let handler = this.routes.get(route);
    if (!handler) {
      const compiled = compileRoute(route) as CompiledRoute;
      // The instance picked for this call is the transport's endpoint.
      handler = this.middleware((ctx, req) => this.send(ctx, ctx.transport.endpoint, compiled, req));
      this.routes.set(route, handler);
    }
    return handler;
  }

  private async send(ctx: Context, base: string, compiled: CompiledRoute, request: unknown): Promise<unknown> {
    const { path, body } = encodeRequest(compiled, request);
    const headers: Record<string, string> = { accept: 'application/json' };
    for (const key of ctx.transport.requestHeader.keys())
      headers[key] = ctx.transport.requestHeader.values(key).join(', ');
    if (body !== undefined) headers['content-type'] = 'application/json';
    ctx.requestBytes = body === undefined ? 0 : Buffer.byteLength(body);
    let response: Response;
    try {
      response = await fetch(base + path, { method: compiled.route.method, headers, body, signal: ctx.signal });
    } catch (err) {
      throw transportError(err, ctx.signal, this.callee, base);
    }
    response.headers.forEach((value, key) => ctx.transport.replyHeader.add(key, value));
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

function transportError(err: unknown, signal: AbortSignal, callee: Callee, base: string): ServiceError {
  if (isServiceError(err)) return fromError(err);
  if (signal.aborted) {
    const why = signal.reason as { name?: string } | undefined;
    if (why?.name === 'TimeoutError') return ErrTimeout('request timed out');
    return ErrCancelled('request was cancelled');
  }
  const cause = (err as Error).cause as { code?: string } | undefined;
  const message = cause?.code ? `${(err as Error).message} (${cause.code})` : (err as Error).message;
  return ErrServiceUnavailable(callee, `${base}: ${message}`);
}
