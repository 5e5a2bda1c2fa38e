// What every handler and middleware sees, whichever transport carried the call.
// Mirrors Kratos's transport.Transporter: kind, endpoint, operation, headers.

export type TransportKind = 'http' | 'grpc';

/** Case-insensitive, multi-valued header view over HTTP headers or gRPC metadata. */
export interface Header {
  get(key: string): string | undefined;
  values(key: string): string[];
  set(key: string, value: string): void;
  add(key: string, value: string): void;
  keys(): string[];
}

export interface Transport {
  readonly kind: TransportKind;
  /** The address this side talks to: the server's own endpoint, or the target a client dialled. */
  readonly endpoint: string;
  /** Full method name, `/package.Service/Method`, the same for both transports. */
  readonly operation: string;
  readonly requestHeader: Header;
  readonly replyHeader: Header;
  /** The other end of a server call's connection (the socket, for HTTP), read only when a span records it. */
  readonly remote?: Remote | undefined;
  /** A streaming call (gRPC streams, Server-Sent Events): it lasts as long as the stream, so its duration is no latency. */
  readonly stream?: boolean | undefined;
}

/** Where a call came from on the network: Node's Socket has this shape. */
export interface Remote {
  readonly remoteAddress?: string | undefined;
  readonly remotePort?: number | undefined;
  /** gRPC calls: the :authority the caller addressed (an HTTP call's is its Host header). */
  readonly authority?: string | undefined;
}

/** Extra facts an HTTP server call carries (Kratos's http.Transporter). */
export interface HttpTransport extends Transport {
  readonly kind: 'http';
  readonly method: string;
  /** The route template that matched, e.g. `/v1/{name=shelves/*}`; the metrics/trace route label. */
  readonly pathTemplate: string;
  readonly url: string;
}

/** What the transport of an outgoing HTTP call carries: the request's method, and the URL once it is built. */
export interface HttpClientTransport extends Transport {
  readonly kind: 'http';
  readonly method: string;
  /** The instance called: another one when the one picked first refused the connection. */
  endpoint: string;
  /** The URL the request went to (set as it is sent), for the client span's `url.full`. */
  fullUrl?: string | undefined;
  /** How many times the request was sent again to another instance (set only when it was). */
  resendCount?: number | undefined;
}

/** What the transport of an outgoing gRPC call carries. */
export interface GrpcClientTransport extends Transport {
  readonly kind: 'grpc';
  /**
   * The instance that answered (`host:port`), once the call has ended: for a
   * `discovery:///` target grpc-js picks it per call, below the middleware.
   */
  peer?: string | undefined;
}

export interface Context {
  readonly transport: Transport;
  /** Aborted when the caller goes away, the deadline passes or the server stops. */
  readonly signal: AbortSignal;
  /** Absolute deadline in epoch milliseconds, if the caller or server set one. */
  readonly deadline?: number | undefined;
  /** Per-call values middleware hands to later middleware or handlers (auth subject, etc.). */
  readonly values: Map<string | symbol, unknown>;
  /**
   * Bytes of the request body (HTTP) or serialized request message (gRPC), set by
   * the transport once known; undefined when it does not measure it.
   */
  requestBytes?: number | undefined;
  /**
   * Bytes of the response body or message, set by the transport before observers
   * end (servers: the answer the call's outcome gives, the error JSON included;
   * clients: what came back).
   */
  responseBytes?: number | undefined;
  /**
   * HTTP calls answered with another status than 200: a server handler's choice
   * (setHttpStatus: 201, 204, a redirect), or what a client call got back.
   */
  responseStatus?: number | undefined;
}

export type Handler<Req = unknown, Res = unknown> = (ctx: Context, req: Req) => Promise<Res>;
/**
 * Wraps a call: the one way to run code around a handler (auth, validation, rate
 * limits). Calls are watched by CallObservers (observer.ts), which run outside all middleware.
 */
export type Middleware = (next: Handler) => Handler;

/** Composes middleware so the first one given is the outermost. */
export function chain(...middlewares: Middleware[]): Middleware {
  return (next) => middlewares.reduceRight<Handler>((acc, m) => m(acc), next);
}

/** Plain multi-valued header map, lower-cased keys. Transports adapt their own header types to it. */
export class HeaderMap implements Header {
  // Created on first write: most reply headers stay empty.
  private entries?: Map<string, string[]>;

  constructor(init?: Iterable<[string, string | string[] | undefined]>) {
    if (init)
      for (const [k, v] of init) {
        if (v === undefined) continue;
        for (const value of Array.isArray(v) ? v : [v]) this.add(k, value);
      }
  }

  get(key: string): string | undefined {
    return this.entries?.get(key.toLowerCase())?.[0];
  }
  values(key: string): string[] {
    return [...(this.entries?.get(key.toLowerCase()) ?? [])];
  }
  set(key: string, value: string): void {
    (this.entries ??= new Map()).set(key.toLowerCase(), [value]);
  }
  add(key: string, value: string): void {
    const k = key.toLowerCase();
    const list = this.entries?.get(k);
    if (list) list.push(value);
    else (this.entries ??= new Map()).set(k, [value]);
  }
  keys(): string[] {
    return this.entries ? [...this.entries.keys()] : [];
  }
}

/**
 * The absolute deadline of an outgoing call: its own timeout (0: none), never later
 * than the deadline of the server call it is made for, so deadlines propagate.
 */
export function callDeadline(timeoutMs: number, parent?: Context): number | undefined {
  const own = timeoutMs > 0 ? Date.now() + timeoutMs : undefined;
  const inherited = parent?.deadline;
  return own === undefined ? inherited : inherited === undefined ? own : Math.min(own, inherited);
}

/** A context for calls that start inside the process (jobs, tests, outgoing client calls). */
export function backgroundContext(transport: Transport, signal?: AbortSignal, deadline?: number): Context {
  return { transport, signal: signal ?? new AbortController().signal, deadline, values: new Map() };
}
