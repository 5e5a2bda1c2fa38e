// The gRPC server on @grpc/grpc-js. Unary methods run through the same call runner
// (observers, middleware, deadline) as HTTP; errors leave as mapped status codes with ErrorInfo
// details. Health and (optionally) reflection cover every registered service.

import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { ServiceError } from '../../errors/errors.js';
import { ErrCodec } from '../../errors/catalogue.js';
import { encodeStatus, STATUS_DETAILS_KEY, toRpcStatus } from '../../errors/status.js';
import { HeaderMap, type Handler, type Middleware, type Transport } from '../context.js';
import { CallRunner } from '../call-runner.js';
import type { CallObserver } from '../observer.js';
import { ServerCallContext } from '../call-context.js';
import { advertisedHost, formatHostPort, parseAddress, probeListen } from '../endpoint.js';
import type { Server } from '../server.js';
import { HEALTH_SERVICE, HealthDefinition, healthService } from './health.js';
import { addReflection, type ReflectionOptions } from './reflection.js';
import { MetadataHeader, toMetadata } from './metadata.js';
import { strictRequests, UndecodableRequest } from './strict-decode.js';
import { streamingDefinition, streamingHandler, type StreamHost } from './stream.js';

export interface GrpcServerOptions {
  /** Listen address, `host:port`; default `0.0.0.0:9000`. Port 0 picks a free port. */
  address?: string | undefined;
  /** Watch every unary call, outermost and in this order (tracing, access log, metrics). */
  observers?: CallObserver[] | undefined;
  /** Wrap every unary handler inside the observers, first one outermost. */
  middleware?: Middleware[] | undefined;
  /** Server-side deadline for each call (the caller's deadline wins if sooner); 0 disables. Default 1000 ms. */
  timeoutMs?: number | undefined;
  logger?: Logger | undefined;
  /** Feeds grpc.health.v1; default: serving while started. */
  health?: { isServing: () => boolean } | undefined;
  /**
   * Serve server reflection (grpcurl, Postman) for every service registered by
   * start(), described by the .proto files below `includeDirs` (or a
   * FileDescriptorSet from `buf build -o`); health and reflection describe themselves.
   * The descriptors are built on the first reflection call, so start-up does not pay for them.
   */
  reflection?: ReflectionOptions | undefined;
  /** Error domain written into ErrorInfo, usually the service name. */
  errorDomain?: string | undefined;
  /**
   * The largest request message taken, in bytes (after decompression); grpc-js answers a
   * larger one RESOURCE_EXHAUSTED as its length arrives, before buffering it. Default 4 MiB.
   */
  maxReceiveMessageBytes?: number | undefined;
  /**
   * grpc-js server options, as Kratos's `grpc.Options` passes grpc-go's: streams per
   * connection (`grpc.max_concurrent_streams`), keepalive, connection age, and the like.
   */
  channelOptions?: grpc.ServerOptions | undefined;
}

export class GrpcServer implements Server {
  private readonly server: grpc.Server;
  private readonly runner: CallRunner<UnaryCallContext, Buffer | undefined>;
  private readonly host: string;
  private readonly port: number;
  private readonly services = new Set<string>([HEALTH_SERVICE]);
  private boundPort?: number;
  private advertised = '';
  private serving = false;
  private stopping?: Promise<void>;
  private readonly health: ReturnType<typeof healthService>;

  constructor(private readonly options: GrpcServerOptions = {}) {
    const { host, port } = parseAddress(options.address ?? '0.0.0.0:9000');
    this.host = host;
    this.port = port;
    this.server = new grpc.Server({
      ...options.channelOptions,
      'grpc.max_receive_message_length': options.maxReceiveMessageBytes ?? DEFAULT_MAX_RECEIVE_MESSAGE_BYTES,
    });
    allowCallerCancels(this.server);
    this.runner = new CallRunner<UnaryCallContext, Buffer | undefined>({
      observers: options.observers,
      middleware: options.middleware,
      timeoutMs: options.timeoutMs ?? 1000,
      logger: options.logger,
      encode: (ctx, response) => {
        // Serialized here rather than by grpc-js, so observers see the message's size.
        const message = ctx.serialize(response);
        ctx.responseBytes = message.length;
        return message;
      },
      encodeError: () => undefined,
      answer: (ctx, message, error) => this.answer(ctx, message, error),
    });
    const isServing = options.health?.isServing ?? (() => this.serving);
    this.health = healthService(
      () => this.serving && isServing(),
      () => this.services,
    );
    this.server.addService(HealthDefinition, this.health.implementation);
  }

  /** The stop is coming: health Watch streams hear of NOT_SERVING now, not at their next poll. */
  drain(): void {
    this.health.recheck();
  }

  /**
   * Registers a service: `definition` is ts-proto's `XxxService` const, `impl`
   * has a `(ctx, request) => Promise<response>` function per unary method key, and
   * the shapes of stream.ts for streaming ones; all of them run through the middleware.
   */
  register(definition: grpc.ServiceDefinition, impl: object): void {
    const handlers: grpc.UntypedServiceImplementation = {};
    const methods = impl as Record<string, unknown>;
    const served: Record<string, grpc.MethodDefinition<unknown, unknown>> = { ...definition };
    for (const [key, method] of Object.entries(definition)) {
      const fn = methods[key];
      if (method.requestStream || method.responseStream) {
        // Without an implementation grpc-js answers UNIMPLEMENTED, which is what an unserved stream should say.
        if (typeof fn !== 'function') continue;
        handlers[key] = streamingHandler(method, fn.bind(impl), this.streamHost);
        served[key] = streamingDefinition(method) as grpc.MethodDefinition<unknown, unknown>;
        this.services.add(method.path.split('/')[1]!);
        continue;
      }
      if (typeof fn !== 'function') throw new Error(`gRPC implementation is missing method "${key}" (${method.path})`);
      const handler = this.runner.wrap(((ctx, req) => fn.call(impl, ctx, req)) as Handler);
      handlers[key] = this.unary(method.path, method.responseSerialize, handler) as grpc.UntypedHandleCall;
      served[key] = measuredMessages(strictRequests(method)) as grpc.MethodDefinition<unknown, unknown>;
      this.services.add(method.path.split('/')[1]!);
    }
    this.server.addService(served as grpc.ServiceDefinition, handlers);
  }

  /** What streaming calls (stream.ts) use of this server. */
  private get streamHost(): StreamHost {
    return {
      runner: this.runner,
      endpoint: () => this.advertised,
      toStatus: (error) => this.toGrpcError(error),
    };
  }

  private unary(
    operation: string,
    serialize: grpc.serialize<unknown>,
    handler: Handler,
  ): grpc.handleUnaryCall<ReceivedRequest, Buffer> {
    return (grpcCall, callback) => {
      const transport: Transport = {
        kind: 'grpc',
        endpoint: this.advertised,
        operation,
        requestHeader: new MetadataHeader(grpcCall.metadata),
        replyHeader: new HeaderMap(),
        remote: new GrpcPeer(grpcCall),
      };
      // A deadline the caller set (propagated from upstream); CallRunner adds the server's own.
      const callerDeadline = toEpochMs(grpcCall.getDeadline());
      const ctx = new UnaryCallContext(
        transport,
        Number.isFinite(callerDeadline) ? callerDeadline : undefined,
        grpcCall,
        callback,
        serialize,
      );
      const received = grpcCall.request;
      ctx.requestBytes = received.bytes;
      const request = received.message;
      if (request instanceof UndecodableRequest)
        return this.runner.reject(ctx, ErrCodec(`the request does not decode: ${request.error.message}`));
      this.runner.run(ctx, handler, request);
    };
  }

  /** Sends a call's reply metadata, then its response or error status. */
  private answer(ctx: UnaryCallContext, message: Buffer | undefined, error: ServiceError | undefined): void {
    const replyHeader = ctx.transport.replyHeader;
    if (replyHeader.keys().length > 0) {
      // grpc-js refuses names and values metadata cannot carry (a newline, say) by
      // throwing; that is the handler's 500, not an unanswered call.
      let metadata: grpc.Metadata;
      try {
        metadata = toMetadata(replyHeader);
      } catch (headerErr) {
        return ctx.callback(this.toGrpcError(this.runner.unknown(ctx, headerErr)));
      }
      ctx.call.sendMetadata(metadata);
    }
    if (error === undefined) return ctx.callback(null, message);
    ctx.callback(this.toGrpcError(error));
  }

  private toGrpcError(error: ServiceError): Partial<grpc.StatusObject> {
    const status = toRpcStatus(error, this.options.errorDomain);
    const trailer = new grpc.Metadata();
    trailer.set(STATUS_DETAILS_KEY, Buffer.from(encodeStatus(status)));
    return { code: status.code, details: status.message, metadata: trailer };
  }

  async start(): Promise<void> {
    if (this.options.reflection) {
      const logger = this.options.logger;
      addReflection(this.server, this.options.reflection, this.services, {
        undescribed: (services) => logger?.warn({ services }, 'reflection found no .proto for these services'),
        failed: (err) => logger?.error({ err }, 'server reflection could not be built'),
      });
    }
    // grpc-js reports an address it cannot bind with a raw line of its own on stderr ("E No
    // address added out of total 1 resolved") and an error wrapping each address's. Probed
    // first, a taken port fails with Node's one-line error, the one the HTTP server gives.
    if (this.port !== 0) await probeListen(this.host, this.port);
    this.boundPort = await new Promise<number>((resolve, reject) => {
      this.server.bindAsync(
        formatHostPort(this.host, this.port),
        grpc.ServerCredentials.createInsecure(),
        (err, port) => (err ? reject(err) : resolve(port)),
      );
    });
    this.advertised = `grpc://${formatHostPort(advertisedHost(this.host), this.boundPort)}`;
    this.serving = true;
    this.options.logger?.info({ endpoint: this.endpoint() }, 'grpc server listening');
  }

  stop(options: { timeoutMs?: number } = {}): Promise<void> {
    this.stopping ??= new Promise<void>((resolve) => {
      this.serving = false;
      if (this.boundPort === undefined) return resolve();
      this.health.endWatches();
      let cut: NodeJS.Timeout | undefined;
      const stopped = () => {
        clearTimeout(timer);
        clearTimeout(cut);
        this.runner.stop();
        resolve();
      };
      const timeoutMs = options.timeoutMs ?? 10_000;
      const grace = Math.min(CUT_GRACE_MS, timeoutMs / 5);
      const timer = setTimeout(() => {
        // Calls outlived the drain window: each is answered UNAVAILABLE (another instance may
        // take it). Their statuses go out as HTTP/2 frames after this turn, and the graceful
        // shutdown below ends once every stream has sent its own; cutting the connections
        // at once would reset the streams instead. A peer that reads nothing is cut at the timeout.
        this.runner.cutRunning('grpc');
        cut = setTimeout(() => {
          this.server.forceShutdown();
          stopped();
        }, grace);
      }, timeoutMs - grace);
      this.server.tryShutdown(stopped);
    });
    return this.stopping;
  }

  endpoint(): string {
    if (this.boundPort === undefined) throw new Error('grpc server is not listening yet');
    return this.advertised;
  }

  get listenPort(): number | undefined {
    return this.boundPort;
  }
}

/**
 * Node's HTTP/2 closes a connection whose peer resets more than 33 streams a second once
 * a burst of 1000 is spent (nghttp2's defence against "rapid reset" floods). A gRPC caller
 * resets each call it gives up on, and one whose calls keep timing out (a slow dependency
 * behind this service) passes that rate: every call on the connection then failed
 * INTERNAL "Session closed with error code 2". grpc-js has no option for these settings of
 * its HTTP/2 server, so they are set on the options it creates that server with (Node 22+
 * reads them; older lines keep the defaults).
 */
function allowCallerCancels(server: grpc.Server): void {
  const http2Options = (server as unknown as { commonServerOptions?: Record<string, unknown> }).commonServerOptions;
  if (http2Options) Object.assign(http2Options, { streamResetBurst: 10_000, streamResetRate: 1_000 });
}

/** grpc-js's own default, named here so the docs' limit is the code's. */
const DEFAULT_MAX_RECEIVE_MESSAGE_BYTES = 4 * 1024 * 1024;

/** The end of the stop timeout (at most a fifth of it) kept for the statuses of the calls cut to reach their callers. */
const CUT_GRACE_MS = 1000;

/** A request as a handler receives it from grpc-js: the decoded message (or why it did not decode) and its size. */
export class ReceivedRequest {
  constructor(
    readonly message: unknown,
    readonly bytes: number,
  ) {}
}

/**
 * The method as tsk's handlers serve it: requests arrive with their size
 * (ReceivedRequest), and responses arrive already serialized.
 */
export function measuredMessages(
  method: grpc.MethodDefinition<unknown, unknown>,
): grpc.MethodDefinition<ReceivedRequest, Buffer> {
  const decode = method.requestDeserialize;
  return {
    ...method,
    requestDeserialize: (bytes: Buffer) => new ReceivedRequest(decode(bytes), bytes.length),
    responseSerialize: (message: Buffer) => message,
  } as grpc.MethodDefinition<ReceivedRequest, Buffer>;
}

/** The parts of a grpc-js server call (unary or streaming) a call's Context watches. */
interface WatchedCall {
  readonly cancelled: boolean;
  once(event: 'cancelled', listener: () => void): unknown;
  removeListener(event: 'cancelled', listener: () => void): unknown;
  getPeer(): string;
  getHost(): string;
}

/** A gRPC call's Context: the caller is gone once grpc-js reports the call cancelled. */
export class GrpcCallContext extends ServerCallContext {
  constructor(
    transport: Transport,
    deadline: number | undefined,
    private readonly watched: WatchedCall,
  ) {
    super(transport, deadline);
  }

  callerGone(): boolean {
    return this.watched.cancelled;
  }

  protected watchCaller(listener: () => void): void {
    this.watched.once('cancelled', listener);
  }

  protected unwatchCaller(listener: () => void): void {
    this.watched.removeListener('cancelled', listener);
  }
}

/** A unary call's Context, with what the server needs to answer it. */
class UnaryCallContext extends GrpcCallContext {
  constructor(
    transport: Transport,
    callerDeadline: number | undefined,
    readonly call: grpc.ServerUnaryCall<ReceivedRequest, Buffer>,
    readonly callback: grpc.sendUnaryData<Buffer>,
    readonly serialize: grpc.serialize<unknown>,
  ) {
    super(transport, callerDeadline, call);
  }
}

/**
 * The caller's address, parsed from grpc-js's peer string (`ipv4:1.2.3.4:5678`,
 * `ipv6:[::1]:5678`, `1.2.3.4:5678`) when first asked for: a span reads it several
 * times, and each getPeer() builds the string anew from the connection's socket.
 */
export class GrpcPeer {
  private address?: string | undefined;
  private port?: number | undefined;
  private parsed = false;

  constructor(private readonly call: Pick<WatchedCall, 'getPeer' | 'getHost'>) {}

  get authority(): string {
    return this.call.getHost();
  }

  get remoteAddress(): string | undefined {
    if (!this.parsed) this.parse();
    return this.address;
  }

  get remotePort(): number | undefined {
    if (!this.parsed) this.parse();
    return this.port;
  }

  private parse(): void {
    const peer = parsePeer(this.call.getPeer());
    this.parsed = true;
    if (!peer) return;
    this.address = peer.address;
    this.port = peer.port;
  }
}

const ZERO = 48;
const NINE = 57;

/**
 * A grpc-js peer string's address and port: an optional `ipv4:`/`ipv6:` prefix, the
 * address (in brackets or not), then `:port` when the port is known; undefined when
 * it has a `]` anywhere but closing the address. Read by hand: a regular expression
 * cost several times more, and this runs for every sampled call.
 */
export function parsePeer(peer: string): { address: string; port?: number } | undefined {
  let start = peer.startsWith('ipv4:') || peer.startsWith('ipv6:') ? 5 : 0;
  if (peer.charCodeAt(start) === 0x5b) start++; // [
  let end = peer.length;
  let port: number | undefined;
  // A port is the digits after the last colon, when there are any and nothing else.
  const colon = peer.lastIndexOf(':');
  if (colon >= start && colon < end - 1) {
    let digits = true;
    for (let i = colon + 1; i < end && digits; i++) {
      const c = peer.charCodeAt(i);
      digits = c >= ZERO && c <= NINE;
    }
    if (digits) {
      port = Number(peer.slice(colon + 1));
      end = colon;
    }
  }
  if (end > start && peer.charCodeAt(end - 1) === 0x5d) end--; // ]
  const address = peer.slice(start, end);
  if (address.includes(']')) return undefined;
  return port === undefined ? { address } : { address, port };
}

function toEpochMs(deadline: grpc.Deadline): number {
  if (deadline instanceof Date) return deadline.getTime();
  return deadline;
}
