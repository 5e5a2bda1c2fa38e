// The HTTP client generated `*HTTPClient` classes call: encodes a request by its
// route, runs the client observers and middleware, and turns error bodies back into
// ServiceErrors, so a caller sees the same {code, reason, message, metadata}. A service
// with no reachable instance is 503 SERVICE_UNAVAILABLE naming it. Server-streaming
// methods are read as the server sends them, Server-Sent Events (one call per stream).

import { STATUS_CODES } from 'node:http';
import { fromError, isServiceError, newError, type ServiceError } from '../../errors/errors.js';
import { abortedCallError } from '../aborted.js';
import { ErrCancelled, ErrResponseCodec, ErrServiceUnavailable, type Callee } from '../../errors/catalogue.js';
import { DiscoveryTarget, discoveryServiceName } from '../../registry/target.js';
import { chain, HeaderMap, type Context, type Handler, type HttpClientTransport, type Middleware } from '../context.js';
import { checkClientOptions, clientCallContext, type CallOptions, type ClientOptions } from '../client-options.js';
import { runClientCall, type CallObserver } from '../observer.js';
import { untraced } from '../../telemetry/active-context.js';
import { Inbox } from '../inbox.js';
import { compileRoute, decodeResponse, encodeRequest, type CompiledRoute } from './binding.js';
import type { HttpRoute } from './route.js';
import { fetchFailureMessage } from './fetch-failure.js';
import { EventReader } from './sse-reader.js';

export type { CallOptions };

export interface HttpClientOptions extends ClientOptions {
  /** `http://host:port` (optionally with a path prefix) or `discovery:///service-name`. */
  target: string;
  /**
   * The connections this client's calls use, for TLS of its own (a client certificate, a CA
   * for this server alone): an `Agent` of the `undici` package,
   * `new Agent({ connect: { ca, key, cert } })`. Default: fetch's own, with Node's CAs.
   */
  dispatcher?: object | undefined;
}

export class HttpClient {
  /** Per route: compiled once, with the middleware chain composed around it. */
  private readonly routes = new WeakMap<HttpRoute<unknown, unknown>, Handler>();
  private readonly streamRoutes = new WeakMap<HttpRoute<unknown, unknown>, CompiledRoute>();
  private readonly middleware: Middleware;
  private readonly observers: readonly CallObserver[];
  private readonly timeoutMs: number;
  private readonly dispatcher: HttpClientOptions['dispatcher'];
  private target?: Promise<DiscoveryTarget> | undefined;
  /** The target once its registry answered: where calls fail over from an instance that refused them. */
  private discovered?: DiscoveryTarget;
  private readonly callee: Callee;

  constructor(private readonly options: HttpClientOptions) {
    const name = discoveryServiceName(options.target);
    checkClientOptions(options, name);
    if (name === undefined && !/^https?:\/\//.test(options.target))
      throw new Error(`invalid HTTP target "${options.target}": expected http(s)://host:port or discovery:///name`);
    this.middleware = chain(...(options.middleware ?? []));
    this.observers = options.observers ?? [];
    this.timeoutMs = options.timeoutMs ?? 2000;
    this.dispatcher = options.dispatcher;
    this.callee = { target: options.target, service: options.service ?? name };
  }

  async invoke<Req, Res>(route: HttpRoute<Req, Res>, request: Req, options: CallOptions = {}): Promise<Res> {
    const handler = this.handlerFor(route);
    const ctx = this.callContext(route, await this.baseUrl(), options);
    return (await runClientCall(this.observers, ctx, handler, request)) as Res;
  }

  /**
   * A server-streaming method: its responses as the server sends them. A timeoutMs
   * given to the call covers the whole stream; a caller that stops reading (break)
   * cancels the request.
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
      .then((base) => runClientCall(this.observers, this.callContext(route, base, options, true), handler, request))
      .then(
        () => inbox.close(),
        (err: unknown) => inbox.fail(err),
      );
    return inbox;
  }

  /** A stream has no default deadline (a watch lives as long as it is read); its own timeoutMs or its parent's deadline still apply. */
  private callContext(route: HttpRoute<unknown, unknown>, base: string, options: CallOptions, stream = false): Context {
    return clientCallContext(
      options,
      this.timeoutMs,
      true,
      (requestHeader): HttpClientTransport => ({
        kind: 'http',
        method: route.method,
        endpoint: base,
        operation: route.operation,
        requestHeader,
        replyHeader: new HeaderMap(),
        stream,
      }),
    );
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
    const text = await this.readAll(ctx, response, ctx.signal);
    ctx.responseBytes = Buffer.byteLength(text);
    if (!response.ok) throw decodeErrorBody(response.status, text);
    let json: unknown;
    try {
      json = text === '' ? {} : JSON.parse(text);
    } catch {
      throw ErrResponseCodec(`response from ${compiled.route.operation} is not JSON`);
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
      const text = await this.readAll(ctx, response, signal);
      ctx.responseBytes = Buffer.byteLength(text);
      throw decodeErrorBody(response.status, text);
    }
    // Anything else (a method that is unary on the server, a proxy's page) would read as no events at all.
    const type = response.headers.get('content-type') ?? '';
    if (!/^text\/event-stream\b/i.test(type)) {
      await response.body.cancel();
      throw ErrResponseCodec(
        `response from ${compiled.route.operation} is not an event stream (content-type ${type || 'none'})`,
      );
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
          if (event.type === 'error') throw decodeErrorBody(undefined, event.data);
          const message = decodeResponse(compiled, parseEventData(compiled, event.data));
          if (inbox.push(message)) await caughtUp();
          if (signal.aborted) throw signal.reason;
        }
      }
    } catch (err) {
      // What is not a ServiceError here came from reading the body: cancelled, timed out, or the connection lost.
      throw transportError(err, ctx, signal, this.callee, ctx.transport.endpoint);
    } finally {
      ctx.responseBytes = bytes;
    }
  }

  /** The whole body of an answer; a connection lost before its end fails the call as one never made does. */
  private async readAll(ctx: Context, response: Response, signal: AbortSignal): Promise<string> {
    try {
      return await response.text();
    } catch (err) {
      throw transportError(err, ctx, signal, this.callee, ctx.transport.endpoint);
    }
  }

  /**
   * Sends the call's request; a failure to reach the server is the caller's ServiceError.
   * An instance found through discovery that refuses the connection never saw the
   * request, so it goes to another instance instead (each tried once, within the deadline).
   */
  private async request(
    ctx: Context,
    compiled: CompiledRoute,
    request: unknown,
    accept: string,
    signal: AbortSignal,
  ): Promise<Response> {
    const transport = ctx.transport as HttpClientTransport;
    const { path, body } = encodeRequest(compiled, request);
    const headers: Record<string, string> = { accept };
    for (const key of transport.requestHeader.keys()) headers[key] = transport.requestHeader.values(key).join(', ');
    if (body !== undefined) headers['content-type'] = 'application/json';
    ctx.requestBytes = body === undefined ? 0 : Buffer.byteLength(body);
    const target = this.discovered;
    let tried: Set<string> | undefined;
    for (;;) {
      const base = transport.endpoint;
      const url = base + path;
      transport.fullUrl = url;
      let response: Response;
      try {
        response = await untraced(() =>
          fetch(url, {
            method: compiled.route.method,
            headers,
            ...(body !== undefined ? { body } : {}),
            // Node's fetch takes it, though the DOM's RequestInit type does not name it.
            ...(this.dispatcher ? ({ dispatcher: this.dispatcher } as RequestInit) : {}),
            signal,
          }),
        );
      } catch (err) {
        const next =
          target && !signal.aborted && connectionRefused(err)
            ? target.failOver(base.slice(HTTP_PREFIX.length), (tried ??= new Set()))
            : undefined;
        if (next === undefined) throw transportError(err, ctx, signal, this.callee, base);
        transport.endpoint = HTTP_PREFIX + next;
        transport.resendCount = (transport.resendCount ?? 0) + 1;
        continue;
      }
      target?.answered(base.slice(HTTP_PREFIX.length));
      if (response.status !== 200) ctx.responseStatus = response.status;
      response.headers.forEach((value, key) => transport.replyHeader.add(key, value));
      return response;
    }
  }

  private async baseUrl(): Promise<string> {
    if (!discoveryServiceName(this.options.target)) return this.options.target.replace(/\/$/, '');
    // A failed open is not kept: the next call asks the registry again.
    this.target ??= DiscoveryTarget.open(
      this.options.discovery!,
      this.options.target,
      'http',
      this.options.instanceFilter,
    ).catch((err: Error) => {
      this.target = undefined;
      throw ErrServiceUnavailable(this.callee, `the registry did not answer: ${err.message}`);
    });
    this.discovered = await this.target;
    return HTTP_PREFIX + this.discovered.pick();
  }

  async close(): Promise<void> {
    if (this.target) await (await this.target).close();
  }
}

/**
 * An HTTP error answer, or an SSE `event: error` (no `status`), back into the ServiceError
 * the server raised. An answer's code is its status, as Kratos's client reads it: the body
 * can only say otherwise when something between rewrote the status or the body is not
 * ours. An event's code is the body's when that is an HTTP error code, else 500. Fields
 * of other types than the error model's are left out rather than passed on as they came.
 * A body that is not the error JSON is the message (its first 512 characters); an empty
 * one (a proxy's bare 503) leaves the status line as the message, and no reason.
 */
export function decodeErrorBody(status: number | undefined, text: string): ServiceError {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: a plain status error below
  }
  if (typeof body !== 'object' || body === null || typeof (body as ErrorJson).code !== 'number')
    return newError(
      status ?? 500,
      '',
      status !== undefined && text.trim() === '' ? statusLine(status) : text.slice(0, 512),
    );
  const { code, reason, message, metadata } = body as ErrorJson;
  return newError(
    status ?? (Number.isInteger(code) && code >= 400 && code <= 599 ? code : 500),
    typeof reason === 'string' ? reason : '',
    typeof message === 'string' ? message : '',
    stringEntries(metadata),
  );
}

/** A status with its standard name (`503 Service Unavailable`, from Node's http.STATUS_CODES): the message of an answer with no body. */
function statusLine(status: number): string {
  const text = STATUS_CODES[status];
  return text ? `${status} ${text}` : `HTTP status ${status}`;
}

/** What an error body may hold, before its types are checked. */
interface ErrorJson {
  code: number;
  reason?: unknown;
  message?: unknown;
  metadata?: unknown;
}

/** The string-valued entries of an object; metadata values are strings on both transports. */
function stringEntries(value: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return out;
  for (const [key, v] of Object.entries(value)) if (typeof v === 'string') out[key] = v;
  return out;
}

/** One event's data as JSON; data that is not JSON is the server's fault, as for unary answers. */
function parseEventData(compiled: CompiledRoute, data: string): unknown {
  try {
    return JSON.parse(data);
  } catch {
    throw ErrResponseCodec(`an event from ${compiled.route.operation} is not JSON`);
  }
}

const HTTP_PREFIX = 'http://';

/** Errors of a connection that was never made: the server cannot have seen the request. */
const REFUSED_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH', 'EADDRNOTAVAIL']);

/** Whether fetch failed to connect at all (each address tried, when a name had several). */
function connectionRefused(err: unknown): boolean {
  const cause = (err as { cause?: { code?: string; errors?: { code?: string }[] } } | undefined)?.cause;
  if (!cause) return false;
  if (cause.errors?.length) return cause.errors.every((e) => REFUSED_CODES.has(e.code ?? ''));
  return REFUSED_CODES.has(cause.code ?? '');
}

function transportError(err: unknown, ctx: Context, signal: AbortSignal, callee: Callee, base: string): ServiceError {
  if (isServiceError(err)) return fromError(err);
  if (signal.aborted) return abortedCallError(signal, ctx);
  return ErrServiceUnavailable(callee, `${base}: ${fetchFailureMessage(err)}`);
}
