// Streaming gRPC methods on the server, run by the server's call runner (runStream)
// like unary calls. To it a stream is one call: its request is the request message
// (server streaming) or an AsyncIterable of them (client streaming, bidi), and it
// ends when the handler's promise settles. So tracing keeps one server span active
// for the whole handler, logging and metrics see one call with its outcome, an error
// that is not a ServiceError is logged and answered as unknown, and the status that
// ends the stream is the mapped code with ErrorInfo details, exactly as for a unary call.
//
// Handlers send with `send(message)`, which resolves once grpc-js has taken the
// message (backpressure: await it) and rejects once the stream is over (the caller
// went away, the deadline passed, the handler already returned).
//
// Deadlines: the caller's deadline ends the stream DEADLINE_EXCEEDED and aborts
// ctx.signal. The server's own per-call timeout is for unary calls only (as in
// Kratos): a stream lives as long as its caller wants it.

import type { Readable } from 'node:stream';
import type * as grpc from '@grpc/grpc-js';
import { ErrCancelled, ErrCodec, ErrTimeout } from '../../errors/catalogue.js';
import type { ServiceError } from '../../errors/errors.js';
import type { CallAnswer, CallRunner, RunningStream } from '../call-runner.js';
import { HeaderMap, type Context, type Handler, type Transport } from '../context.js';
import type { Send } from '../stream.js';
import { MetadataHeader, toMetadata } from './metadata.js';
import { GrpcCallContext, GrpcPeer, measuredMessages, type ReceivedRequest } from './server.js';
import { strictRequests, UndecodableRequest } from './strict-decode.js';

export type { Send };

/** A server-streaming method: the stream ends (OK) when the promise resolves, with the error's status when it rejects. */
export type ServerStreamingMethod<Req, Res> = (ctx: Context, request: Req, send: Send<Res>) => Promise<void>;
/** A client-streaming method: reads the requests, answers once. */
export type ClientStreamingMethod<Req, Res> = (ctx: Context, requests: AsyncIterable<Req>) => Promise<Res>;
/** A bidirectional method: reads requests and sends responses as it likes. */
export type BidiStreamingMethod<Req, Res> = (
  ctx: Context,
  requests: AsyncIterable<Req>,
  send: Send<Res>,
) => Promise<void>;

/** What a stream needs from the server that registers it. */
export interface StreamHost {
  /** The server's call runner: its observers and middleware see a stream as one call. */
  readonly runner: Pick<CallRunner<GrpcCallContext, unknown>, 'wrap' | 'runStream' | 'unknown'>;
  /** The server's advertised endpoint (`grpc://host:port`). */
  endpoint(): string;
  /** An error as the status that ends the call (mapped code, ErrorInfo details). */
  toStatus(error: ServiceError): Partial<grpc.StatusObject>;
}

/** The key under which a stream's `send` travels through the chain, in ctx.values. */
const SEND = Symbol('tsk.grpc.send');

/**
 * The method definition a streaming handler is served with: requests decode strictly
 * (an undecodable one arrives as UndecodableRequest) and come with their size,
 * responses arrive serialized.
 */
export function streamingDefinition(
  method: grpc.MethodDefinition<unknown, unknown>,
): grpc.MethodDefinition<ReceivedRequest, Buffer> {
  return measuredMessages(strictRequests(method));
}

/** The grpc-js handler of a streaming method: `fn` is the user's method, bound to its object. */
export function streamingHandler(
  method: grpc.MethodDefinition<unknown, unknown>,
  fn: (...args: never[]) => Promise<unknown>,
  host: StreamHost,
): grpc.UntypedHandleCall {
  const call = fn as (ctx: Context, request: unknown, send?: Send<unknown>) => Promise<unknown>;
  const handler = host.runner.wrap((ctx, req) => call(ctx, req, ctx.values.get(SEND) as Send<unknown> | undefined));
  const serialize = method.responseSerialize;
  if (!method.requestStream) {
    return ((grpcCall: grpc.ServerWritableStream<ReceivedRequest, Buffer>) => {
      const stream = new StreamCall(grpcCall, method.path, host, serialize);
      const { message: request, bytes } = grpcCall.request;
      stream.ctx.requestBytes = bytes;
      if (request instanceof UndecodableRequest) stream.run(() => Promise.reject(undecodable(request)), undefined);
      else stream.run(handler, request);
    }) as grpc.handleServerStreamingCall<unknown, Buffer>;
  }
  if (!method.responseStream) {
    return ((grpcCall: grpc.ServerReadableStream<ReceivedRequest, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      const stream = new StreamCall(grpcCall, method.path, host, serialize, callback);
      stream.run(handler, receive(grpcCall, stream));
    }) as grpc.handleClientStreamingCall<unknown, Buffer>;
  }
  return ((grpcCall: grpc.ServerDuplexStream<ReceivedRequest, Buffer>) => {
    const stream = new StreamCall(grpcCall, method.path, host, serialize);
    stream.run(handler, receive(grpcCall, stream));
  }) as grpc.handleBidiStreamingCall<unknown, Buffer>;
}

type AnyServerStream =
  | grpc.ServerWritableStream<ReceivedRequest, Buffer>
  | grpc.ServerReadableStream<ReceivedRequest, Buffer>
  | grpc.ServerDuplexStream<ReceivedRequest, Buffer>;

/**
 * One streaming call on grpc-js: its messages out, and the status that ends it once
 * the call runner has run it to its end.
 */
class StreamCall implements CallAnswer<GrpcCallContext, Buffer | undefined> {
  readonly ctx: GrpcCallContext;
  private done = false;
  private headerSent = false;
  private readonly onCancelled = () => this.cancelled();
  /** The call while the runner runs it. */
  private running?: RunningStream;

  constructor(
    private readonly call: AnyServerStream,
    operation: string,
    private readonly host: StreamHost,
    private readonly serialize: grpc.serialize<unknown>,
    /** Client streaming answers once, through grpc-js's callback; the other kinds end the writable side. */
    private readonly callback?: grpc.sendUnaryData<Buffer>,
  ) {
    const deadline = toEpochMs(call.getDeadline());
    const transport: Transport = {
      kind: 'grpc',
      endpoint: host.endpoint(),
      operation,
      requestHeader: new MetadataHeader(call.metadata),
      replyHeader: new HeaderMap(),
      remote: new GrpcPeer(call),
      stream: true,
    };
    this.ctx = new GrpcCallContext(transport, Number.isFinite(deadline) ? deadline : undefined, call);
    // A stream's sizes are the totals of its messages: those the handler read (receive), and those sent.
    if (!callback) this.ctx.responseBytes = 0;
    // Before the handler can watch ctx.signal, so a cancel at the deadline aborts it as a timeout.
    call.once('cancelled', this.onCancelled);
  }

  /** Runs the call to its end through the server's runner. */
  run(handler: Handler, request: unknown): void {
    this.ctx.values.set(SEND, this.send);
    this.running = this.host.runner.runStream(this.ctx, handler, request, this);
  }

  /** Whether the call is over (answered, cancelled or expired): nothing more may be sent. */
  get over(): boolean {
    return this.done;
  }

  /** The error the handler's pending and later sends and reads fail with. */
  get abortReason(): unknown {
    return this.ctx.signal.aborted ? this.ctx.signal.reason : ErrCancelled('the stream is over');
  }

  readonly send: Send<unknown> = (message) => {
    if (this.done) return Promise.reject(this.abortReason);
    let bytes: Buffer;
    try {
      bytes = this.serialize(message);
      this.sendHeader();
      this.ctx.responseBytes = (this.ctx.responseBytes ?? 0) + bytes.length;
    } catch (err) {
      return Promise.reject(err);
    }
    const writable = this.call as grpc.ServerWritableStream<unknown, Buffer>;
    // Resolved once grpc-js has taken the message, even if the call ended meanwhile:
    // a message written before the end is delivered before the status.
    return new Promise<void>((resolve, reject) => {
      writable.write(bytes, (err: Error | null | undefined) => (err ? reject(err) : resolve()));
    });
  };

  /** A client-streaming handler's answer, serialized; the other kinds end with a status only. */
  encode(_ctx: GrpcCallContext, response: unknown): Buffer | undefined {
    if (!this.callback) return undefined;
    const message = this.serialize(response);
    this.ctx.responseBytes = message.length;
    return message;
  }

  encodeError(): undefined {
    return undefined;
  }

  /** Ends the call: reply headers not sent yet, then the answer or the status. */
  answer(_ctx: GrpcCallContext, message: Buffer | undefined, error: ServiceError | undefined): void {
    this.done = true;
    this.call.removeListener('cancelled', this.onCancelled);
    try {
      this.sendHeader();
    } catch (headerErr) {
      error ??= this.host.runner.unknown(this.ctx, headerErr); // reply headers metadata cannot carry: the handler's 500
    }
    if (this.callback) {
      if (error === undefined) this.callback(null, message);
      else this.callback(this.host.toStatus(error) as grpc.ServerErrorResponse);
      return;
    }
    const writable = this.call as grpc.ServerWritableStream<unknown, Buffer>;
    if (error === undefined) writable.end();
    // grpc-js turns an 'error' event on a server stream into the status that ends it.
    else writable.emit('error', this.host.toStatus(error));
  }

  private cancelled(): void {
    // A cancel at the deadline is the deadline passing; grpc-js ends an expired call itself too.
    this.running?.cancel(
      this.ctx.atDeadline
        ? ErrTimeout("request exceeded the caller's deadline")
        : ErrCancelled('the caller cancelled the stream'),
    );
  }

  /** Reply headers go out once, before the first message (or with the status). */
  private sendHeader(): void {
    if (this.headerSent) return;
    this.headerSent = true;
    const header = this.ctx.transport.replyHeader;
    if (header.keys().length > 0) this.call.sendMetadata(toMetadata(header));
  }
}

/** The requests of a client or bidi stream (readRequests), their bytes counted into ctx.requestBytes from 0. */
function receive(
  call: grpc.ServerReadableStream<ReceivedRequest, Buffer> | grpc.ServerDuplexStream<ReceivedRequest, Buffer>,
  stream: StreamCall,
): AsyncGenerator<unknown> {
  stream.ctx.requestBytes = 0;
  return readRequests(call, stream);
}

/**
 * The requests of a client or bidi stream, decoded strictly. A read waiting when the
 * call ends (the caller cancels, the deadline passes) fails with that reason.
 */
async function* readRequests(
  call: grpc.ServerReadableStream<ReceivedRequest, Buffer> | grpc.ServerDuplexStream<ReceivedRequest, Buffer>,
  stream: StreamCall,
): AsyncGenerator<unknown> {
  // Reading to the end must not destroy a duplex call: its writable side still has to send the status.
  const messages = (call as unknown as Readable).iterator({ destroyOnReturn: false });
  const signal = stream.ctx.signal;
  const over = new Promise<never>((_resolve, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
  over.catch(() => undefined); // observed by the reads below, when there are any
  for (;;) {
    if (stream.over) throw stream.abortReason;
    const next = await Promise.race([messages.next(), over]);
    if (next.done) break;
    const { message, bytes } = next.value as ReceivedRequest;
    stream.ctx.requestBytes = (stream.ctx.requestBytes ?? 0) + bytes;
    if (message instanceof UndecodableRequest) throw undecodable(message);
    yield message;
  }
  if (call.cancelled) throw stream.abortReason;
}

function undecodable(request: UndecodableRequest): ServiceError {
  return ErrCodec(`the request does not decode: ${request.error.message}`);
}

function toEpochMs(deadline: grpc.Deadline): number {
  return deadline instanceof Date ? deadline.getTime() : deadline;
}
