// The gRPC client generated `*GRPCClient` classes call. Unary calls run through
// the client observers and middleware; headers they set (trace context) go out as
// metadata; a failed call comes back as the ServiceError the server raised, or as
// 503 SERVICE_UNAVAILABLE naming the service when no instance of it could be reached.
// `discovery:///name` targets resolve through the registry with a grpc-js
// resolver (resolver.ts) and are balanced round-robin by grpc-js.

import tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import type { ServiceError } from '../../errors/errors.js';
import {
  ErrCancelled,
  ErrResponseCodec,
  ErrServiceUnavailable,
  ErrTimeout,
  type Callee,
} from '../../errors/catalogue.js';
import { fromRpcStatus, STATUS_DETAILS_KEY } from '../../errors/status.js';
import { abortedCallError } from '../aborted.js';
import { discoveryServiceName } from '../../registry/target.js';
import { chain, HeaderMap, type Context, type GrpcClientTransport, type Handler, type Middleware } from '../context.js';
import {
  checkClientOptions,
  clientCallContext,
  deadlineExceeded,
  NEVER_ABORTED,
  type CallOptions,
  type ClientOptions,
} from '../client-options.js';
import { untraced } from '../../telemetry/active-context.js';
import { runClientCall, type CallObserver } from '../observer.js';
import { bidiStream, clientStream, serverStream, type StreamChannel } from './client-stream.js';
import { toMetadata } from './metadata.js';
import { discoveryChannelOptions, ROUND_ROBIN } from './resolver.js';

export type { CallOptions };

export interface GrpcClientOptions extends ClientOptions {
  /**
   * `host:port`, a grpc-js target (`dns:///name:port`, `ipv4:a:1,b:2`), `discovery:///service-name`,
   * or `grpcs://host:port` for a server that speaks TLS (Kratos's scheme for one).
   */
  target: string;
  channelOptions?: grpc.ChannelOptions | undefined;
  /**
   * The channel's credentials: for `grpcs://` targets TLS with Node's CAs (`NODE_EXTRA_CA_CERTS`
   * included) unless given here (a private CA, a client certificate for mutual TLS); plaintext otherwise.
   */
  credentials?: grpc.ChannelCredentials | undefined;
}

const TLS_SCHEME = 'grpcs://';

/** TLS with the CAs Node trusts, those of NODE_EXTRA_CA_CERTS included (grpc-js alone reads only its own list). */
function defaultTlsCredentials(): grpc.ChannelCredentials {
  const getCACertificates = (tls as { getCACertificates?: (type: string) => string[] }).getCACertificates;
  return grpc.credentials.createSsl(getCACertificates ? Buffer.from(getCACertificates('default').join('\n')) : null);
}

export class GrpcClientConn {
  private readonly client: grpc.Client;
  /** What streams are opened on: this client, failing as its unary calls do. */
  private readonly channel: StreamChannel;
  private readonly middleware: Middleware;
  private readonly observers: readonly CallObserver[];
  private readonly timeoutMs: number;
  private readonly releaseDiscovery?: () => void;
  private readonly handlers = new Map<string, Handler>();
  private readonly callee: Callee;

  constructor(private readonly options: GrpcClientOptions) {
    let channelOptions = options.channelOptions;
    const discovered = discoveryServiceName(options.target);
    this.callee = { target: options.target, service: options.service ?? discovered };
    checkClientOptions(options, discovered);
    if (discovered !== undefined) {
      const attached = discoveryChannelOptions(options.discovery!, options.instanceFilter);
      channelOptions = { ...channelOptions, ...attached.options };
      this.releaseDiscovery = attached.release;
    } else if (channelOptions?.['grpc.service_config'] === undefined) {
      // Every address the target resolves to takes calls in turn, as Kratos balances any
      // target (grpc-js alone keeps to the first): a headless Kubernetes Service's name
      // spreads calls over its pods rather than holding one connection to one pod.
      channelOptions = { ...channelOptions, 'grpc.service_config': JSON.stringify(ROUND_ROBIN) };
    }
    const secure = options.target.startsWith(TLS_SCHEME);
    const credentials = options.credentials ?? (secure ? defaultTlsCredentials() : grpc.credentials.createInsecure());
    // One channel: grpc-js connects lazily, reconnects and balances.
    this.client = new grpc.Client(
      secure ? options.target.slice(TLS_SCHEME.length) : options.target,
      credentials,
      channelOptions,
    );
    this.channel = { client: this.client, callError: (err, ctx) => this.callError(err, ctx) };
    this.middleware = chain(...(options.middleware ?? []));
    this.observers = options.observers ?? [];
    this.timeoutMs = options.timeoutMs ?? 2000;
  }

  async invoke<Req, Res>(
    method: grpc.MethodDefinition<Req, Res>,
    request: Req,
    options: CallOptions = {},
  ): Promise<Res> {
    const ctx = this.callContext(method, options);
    const handler = this.handlerFor(method as grpc.MethodDefinition<unknown, unknown>);
    return (await runClientCall(this.observers, ctx, handler, request)) as Res;
  }

  /** A server-streaming call: the responses as they arrive. A timeoutMs given to the call covers the whole stream. */
  serverStream<Req, Res>(
    method: grpc.MethodDefinition<Req, Res>,
    request: Req,
    options: CallOptions = {},
  ): AsyncIterable<Res> {
    return serverStream(this.channel, this.streamCalls, this.callContext(method, options, true), method, request);
  }

  /** A client-streaming call: sends every request, then resolves with the response. */
  clientStream<Req, Res>(
    method: grpc.MethodDefinition<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    options: CallOptions = {},
  ): Promise<Res> {
    return clientStream(this.channel, this.streamCalls, this.callContext(method, options, true), method, requests);
  }

  /** A bidirectional call: sends the requests while the responses arrive. */
  bidiStream<Req, Res>(
    method: grpc.MethodDefinition<Req, Res>,
    requests: AsyncIterable<Req> | Iterable<Req>,
    options: CallOptions = {},
  ): AsyncIterable<Res> {
    return bidiStream(this.channel, this.streamCalls, this.callContext(method, options, true), method, requests);
  }

  /** A stream has no default deadline (a watch lives as long as it is read); its own timeoutMs or its parent's deadline still apply. */
  private callContext(method: { path: string }, options: CallOptions, stream = false): Context {
    return clientCallContext(options, this.timeoutMs, false, (requestHeader) => ({
      kind: 'grpc',
      endpoint: this.options.target,
      operation: method.path,
      requestHeader,
      replyHeader: new HeaderMap(),
      stream,
    }));
  }

  /** How a stream runs: inside the observers and the middleware, like a unary call. */
  private readonly streamCalls: Middleware = (next) => {
    const handler = this.middleware(next);
    return (ctx, req) => runClientCall(this.observers, ctx, handler, req);
  };

  /** The middleware chain around one method, composed on its first call. */
  private handlerFor(method: grpc.MethodDefinition<unknown, unknown>): Handler {
    let handler = this.handlers.get(method.path);
    if (!handler)
      this.handlers.set(method.path, (handler = this.middleware((ctx, req) => this.send(ctx, method, req))));
    return handler;
  }

  /**
   * Makes the call. Messages are (de)serialized here rather than by grpc-js, so their
   * sizes are known; a failure to do so is the INTERNAL status grpc-js would report.
   */
  private send(ctx: Context, method: grpc.MethodDefinition<unknown, unknown>, request: unknown): Promise<unknown> {
    const { signal } = ctx;
    let message: Buffer;
    try {
      message = serializeRequest(method, request);
    } catch (err) {
      return Promise.reject(err);
    }
    ctx.requestBytes = message.length;
    return new Promise((resolve, reject) => {
      // The listener goes when the call ends: a long-lived signal would otherwise collect one per call.
      const cancel = () => call.cancel();
      const call = untraced(() =>
        this.client.makeUnaryRequest<Buffer, Buffer>(
          method.path,
          asBytes,
          asBytes,
          message,
          toMetadata(ctx.transport.requestHeader),
          ctx.deadline !== undefined ? { deadline: ctx.deadline } : {},
          (err, response) => {
            signal.removeEventListener('abort', cancel);
            const peer = call.getPeer();
            // Without a connection grpc-js names the target (`dns:host:port`) or says `unknown`.
            if (HOST_PORT.test(peer)) (ctx.transport as GrpcClientTransport).peer = peer;
            if (err) return reject(this.callError(err, ctx));
            ctx.responseBytes = response!.length;
            try {
              resolve(deserializeResponse(method, response!));
            } catch (parseErr) {
              reject(parseErr);
            }
          },
        ),
      );
      call.on('metadata', (md) => receiveReplyMetadata(ctx, md));
      if (signal.aborted) call.cancel();
      else if (signal !== NEVER_ABORTED) signal.addEventListener('abort', cancel, { once: true });
    });
  }

  /**
   * UNAVAILABLE without status details is grpc-js's own verdict (connection refused or
   * lost, no instance resolved): the called service could not be reached. So is the
   * INTERNAL it reports for calls on a connection the server closed with an error
   * (`Session closed with error code 2`): no answer came. A CANCELLED the call's own
   * signal caused is that signal's reason (the request's deadline passed, say).
   */
  private callError(err: grpc.ServiceError, ctx: Context): ServiceError {
    if (!err.metadata?.get(STATUS_DETAILS_KEY).length) {
      if (err.code === grpc.status.CANCELLED && ctx.signal.aborted) return abortedCallError(ctx.signal, ctx);
      // grpc-js ended the call at its deadline: whose deadline it was says what to look at.
      if (err.code === grpc.status.DEADLINE_EXCEEDED && isGrpcJsDeadline(err.details)) return deadlineExceeded(ctx);
      if (err.code === grpc.status.UNAVAILABLE)
        return ErrServiceUnavailable(this.callee, unavailableDetail(err.details, this.releaseDiscovery !== undefined));
      if (err.code === grpc.status.INTERNAL && SESSION_CLOSED.test(err.details ?? ''))
        return ErrServiceUnavailable(this.callee, err.details);
    }
    return fromGrpcError(err);
  }

  async close(): Promise<void> {
    this.client.close();
    this.releaseDiscovery?.();
  }
}

/** `host:port` or `[v6]:port`, as grpc-js names a connected call's peer. */
const HOST_PORT = /^(\[[0-9a-fA-F:.]+\]|[^:/[\]]+):\d+$/;

/** grpc-js's words for a call whose connection the server closed with an error (an HTTP/2 GOAWAY). */
const SESSION_CLOSED = /Session closed with error code \d+/;

/**
 * grpc-js's words for a connection it could not make, without its empty parts:
 * `No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.5:9000. Resolution note: `
 * reads `No connection established. Last error: connect ECONNREFUSED 10.0.0.5:9000`. For a
 * round_robin nests each address's message in its own, and its last error may be none
 * (`null`) while every address waits to retry: the innermost reason is told, after what
 * it means (`no registered instance` for a `discovery:///` target).
 */
export function unavailableDetail(details: string | undefined, discovery = false): string {
  if (!details) return 'no connection';
  const cleaned = details.replace(/\. Resolution note: ?$/, '').replaceAll('Last error: Error: ', 'Last error: ');
  if (!cleaned.startsWith('round_robin: ')) return cleaned;
  const reason = cleaned.split('Last error: ').slice(1).at(-1)?.trim();
  const verdict = discovery ? 'no registered instance could be reached' : 'No connection established';
  if (!reason || reason === 'null') return verdict;
  return discovery ? `${verdict}: ${reason}` : `${verdict}. Last error: ${reason}`;
}

/** The (de)serializer of messages that are bytes already. */
export const asBytes = (bytes: Buffer): Buffer => bytes;

/** A request message as bytes; one that does not serialize is the INTERNAL status grpc-js would report. */
export function serializeRequest<Req>(
  method: Pick<grpc.MethodDefinition<Req, unknown>, 'requestSerialize'>,
  request: Req,
): Buffer {
  try {
    return method.requestSerialize(request);
  } catch (err) {
    throw fromRpcStatus(grpc.status.INTERNAL, `Request message serialization failure: ${(err as Error).message}`);
  }
}

/**
 * A response message from its bytes. Bytes that do not parse are the called service's
 * fault, 500 CODEC as over HTTP, not the INTERNAL with no reason grpc-js would report.
 */
export function deserializeResponse<Res>(
  method: Pick<grpc.MethodDefinition<unknown, Res>, 'responseDeserialize' | 'path'>,
  bytes: Buffer,
): Res {
  try {
    return method.responseDeserialize(bytes);
  } catch (err) {
    throw ErrResponseCodec(`invalid response from ${method.path}: ${(err as Error).message}`);
  }
}

/** The server's reply metadata into the call's reply header. */
export function receiveReplyMetadata(ctx: Context, md: grpc.Metadata): void {
  for (const [key, value] of Object.entries(md.getMap()))
    if (typeof value === 'string') ctx.transport.replyHeader.add(key, value);
}

/** How grpc-js words a deadline it enforced: `Deadline exceeded after 0.301s,LB pick: ...,remote_addr=...`. */
const GRPC_JS_DEADLINE = /^Deadline exceeded( after|$)/;

function isGrpcJsDeadline(details: string | undefined): boolean {
  return !details || GRPC_JS_DEADLINE.test(details);
}

/** A grpc-js error back into a ServiceError (reason and metadata from ErrorInfo). */
export function fromGrpcError(err: grpc.ServiceError): ServiceError {
  if (err.code === grpc.status.DEADLINE_EXCEEDED && !err.metadata?.get(STATUS_DETAILS_KEY).length) {
    // grpc-js's own words name the peer's address and its timings: not for whoever the error is passed on to.
    return ErrTimeout(isGrpcJsDeadline(err.details) ? 'the call exceeded its deadline' : err.details);
  }
  if (err.code === grpc.status.CANCELLED && !err.metadata?.get(STATUS_DETAILS_KEY).length) {
    return ErrCancelled(err.details || 'call cancelled');
  }
  const details = err.metadata?.get(STATUS_DETAILS_KEY)[0];
  return fromRpcStatus(err.code, err.details ?? err.message, details instanceof Buffer ? details : undefined);
}
