// Streaming calls from the client side, through the client middleware chain like
// unary calls. To the chain a stream is one call that ends when the stream does:
// the client span covers the whole stream, trace context goes out in the call's
// metadata, and a failed stream comes back as the ServiceError the server raised.
// Responses arrive as an AsyncIterable (server streaming, bidi); requests are sent
// from an AsyncIterable or Iterable the caller gives (client streaming, bidi).

import * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import type { Context, Handler, Middleware } from '../context.js';
import type { ServiceError } from '../../errors/errors.js';
import { Inbox } from '../inbox.js';
import { asBytes, deserializeResponse, receiveReplyMetadata, serializeRequest } from './client.js';
import { toMetadata } from './metadata.js';
import { untraced } from '../../telemetry/active-context.js';

type Requests<Req> = AsyncIterable<Req> | Iterable<Req>;

/** Where streams are opened, and what a failed one becomes: the same error a unary call on it gets. */
export interface StreamChannel {
  readonly client: grpc.Client;
  /** The call's error, read with the signal of its context: a cancel it caused is the signal's reason. */
  callError(err: grpc.ServiceError, ctx: Context): ServiceError;
}

/** Opens a server-streaming call; its responses, in order. */
export function serverStream<Req, Res>(
  channel: StreamChannel,
  middleware: Middleware,
  ctx: Context,
  method: grpc.MethodDefinition<Req, Res>,
  request: Req,
): AsyncIterable<Res> {
  const inbox = new Inbox<Res>();
  const terminal: Handler = (ctx, req) =>
    new Promise<void>((resolve, reject) => {
      let message: Buffer;
      try {
        message = serializeRequest(method, req as Req);
      } catch (err) {
        return reject(err);
      }
      const call = untraced(() =>
        channel.client.makeServerStreamRequest<Buffer, Buffer>(
          method.path,
          asBytes,
          asBytes,
          message,
          toMetadata(ctx.transport.requestHeader),
          callOptions(ctx),
        ),
      );
      watch(call, ctx, channel, reject);
      readInto(call, inbox, method, resolve, reject);
    });
  settleInto(inbox, middleware(terminal)(ctx, request));
  return inbox;
}

/** Opens a client-streaming call, sends every request, and resolves with the one response. */
export function clientStream<Req, Res>(
  channel: StreamChannel,
  middleware: Middleware,
  ctx: Context,
  method: grpc.MethodDefinition<Req, Res>,
  requests: Requests<Req>,
): Promise<Res> {
  const terminal: Handler = (ctx, req) =>
    new Promise<unknown>((resolve, reject) => {
      const call = untraced(() =>
        channel.client.makeClientStreamRequest<Buffer, Buffer>(
          method.path,
          asBytes,
          asBytes,
          toMetadata(ctx.transport.requestHeader),
          callOptions(ctx),
          (err, response) => {
            if (err) return reject(channel.callError(err, ctx));
            try {
              resolve(deserializeResponse(method, response!));
            } catch (parseErr) {
              reject(parseErr);
            }
          },
        ),
      );
      watch(call, ctx, channel, reject);
      writeFrom(call, req as Requests<Req>, method, reject);
    });
  return middleware(terminal)(ctx, requests) as Promise<Res>;
}

/** Opens a bidirectional call: sends the requests while the responses arrive. */
export function bidiStream<Req, Res>(
  channel: StreamChannel,
  middleware: Middleware,
  ctx: Context,
  method: grpc.MethodDefinition<Req, Res>,
  requests: Requests<Req>,
): AsyncIterable<Res> {
  const inbox = new Inbox<Res>();
  const terminal: Handler = (ctx, req) =>
    new Promise<void>((resolve, reject) => {
      const call = untraced(() =>
        channel.client.makeBidiStreamRequest<Buffer, Buffer>(
          method.path,
          asBytes,
          asBytes,
          toMetadata(ctx.transport.requestHeader),
          callOptions(ctx),
        ),
      );
      watch(call, ctx, channel, reject);
      readInto(call, inbox, method, resolve, reject);
      writeFrom(call, req as Requests<Req>, method, reject);
    });
  settleInto(inbox, middleware(terminal)(ctx, requests));
  return inbox;
}

function callOptions(ctx: Context): grpc.CallOptions {
  return ctx.deadline !== undefined ? { deadline: ctx.deadline } : {};
}

/** Reply metadata into the call's reply header; the call's signal cancels it. */
function watch(
  call: grpc.ClientReadableStream<Buffer> | grpc.ClientWritableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>,
  ctx: Context,
  channel: StreamChannel,
  reject: (err: unknown) => void,
): void {
  call.on('metadata', (md: grpc.Metadata) => receiveReplyMetadata(ctx, md));
  const { signal } = ctx;
  if (signal.aborted) return call.cancel();
  const cancel = () => call.cancel();
  signal.addEventListener('abort', cancel, { once: true });
  call.on('status', () => signal.removeEventListener('abort', cancel));
  // A writable-only call reports failure through its callback; readable ones through 'error'.
  if (!('read' in call)) return;
  call.on('error', (err: grpc.ServiceError) => reject(channel.callError(err, ctx)));
}

/** Responses into the inbox; the call succeeds once they are all read and the status is OK. */
function readInto<Res>(
  call: grpc.ClientReadableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>,
  inbox: Inbox<Res>,
  method: Pick<grpc.MethodDefinition<unknown, Res>, 'responseDeserialize' | 'path'>,
  resolve: () => void,
  reject: (err: unknown) => void,
): void {
  let ended = false;
  let ok = false;
  const settle = () => {
    if (ended && ok) resolve();
  };
  inbox.onDrained = () => call.resume();
  inbox.onAbandoned = () => call.cancel();
  call.on('data', (bytes: Buffer) => {
    let message: Res;
    try {
      message = deserializeResponse(method, bytes);
    } catch (parseErr) {
      call.cancel();
      return reject(parseErr);
    }
    if (inbox.push(message)) call.pause();
  });
  call.on('end', () => {
    ended = true;
    settle();
  });
  call.on('status', (status: grpc.StatusObject) => {
    ok = status.code === grpc.status.OK;
    settle();
  });
}

/** Sends the requests, waiting for grpc-js to drain, then half-closes; a failure fails the call. */
function writeFrom<Req>(
  call: grpc.ClientWritableStream<Buffer> | grpc.ClientDuplexStream<Buffer, Buffer>,
  requests: Requests<Req>,
  method: Pick<grpc.MethodDefinition<Req, unknown>, 'requestSerialize'>,
  reject: (err: unknown) => void,
): void {
  let over = false;
  const closed = new Promise<void>((resolve) =>
    call.once('status', () => {
      over = true;
      resolve();
    }),
  );
  (async () => {
    for await (const request of requests) {
      if (over) return;
      const bytes = serializeRequest(method, request);
      if (!call.write(bytes)) await Promise.race([once(call, 'drain'), closed]);
    }
    if (!over) call.end();
  })().catch((err: unknown) => {
    call.cancel();
    reject(err);
  });
}

/** When the chain settles, the inbox ends (after its last message) or fails. */
function settleInto<T>(inbox: Inbox<T>, settled: Promise<unknown>): void {
  settled.then(
    () => inbox.close(),
    (err: unknown) => inbox.fail(err),
  );
}
