// Server-streaming methods with an HTTP rule, served as Server-Sent Events (as
// Kratos serves them): the request binds from path, query and body like a unary
// call; the answer is `text/event-stream`, one `data:` line of proto3 JSON per
// message. The stream runs through the server's middleware as one call that ends
// when the handler's promise settles (one server span, one log line, one metric).
//
// An error before the first message is answered as any failed call is (its status
// and error JSON), so a bad request still gets its 4xx. Once events have started
// the status is 200, so a later error is sent as an `event: error` whose data is the
// error JSON, and the stream is closed.
//
// Streams have no server timeout (the server's per-call timeout is for unary
// calls); one ends when the handler returns or the client disconnects, which
// aborts ctx.signal.

import type { ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import { ErrCancelled, ErrUnknownRequest } from '../../errors/catalogue.js';
import { fromError, isServiceError, type ServiceError } from '../../errors/errors.js';
import { HeaderMap, type Context, type Handler, type Header, type HttpTransport } from '../context.js';
import type { ServerChain } from '../server-chain.js';
import type { Send } from '../stream.js';
import { encodeResponse, type CompiledRoute } from './binding.js';
import { HttpCallContext } from './server.js';

export type { Send };

/** A server-streaming method as the HTTP server runs it (the gRPC interface's shape). */
export type EventStreamMethod<Req, Res> = (ctx: Context, request: Req, send: Send<Res>) => Promise<void>;

export const EVENT_STREAM_TYPE = 'text/event-stream';

/** The key under which a stream's `send` travels through the chain, in ctx.values. */
const SEND = Symbol('tsk.http.send');

/** The chain-wrapped handler of a streaming route. */
export function eventStreamHandler(chain: ServerChain, method: EventStreamMethod<unknown, unknown>): Handler {
  return chain.wrap((ctx, req) => method(ctx, req, ctx.values.get(SEND) as Send<unknown>));
}

/** What one streaming call needs from the server that received it. */
export interface EventStreamCall {
  chain: ServerChain;
  compiled: CompiledRoute;
  handler: Handler;
  request: unknown;
  endpoint: string;
  method: string;
  url: string;
  requestHeader: Header;
  requestBytes: number;
  response: ServerResponse;
  /** Called once before the response is written directly (fastify must leave it alone). */
  takeOver: () => void;
  /** Answers an error before any event was sent, as the server answers failed calls. */
  answerError: (err: ServiceError) => void;
  logger?: Logger;
}

/** Runs one streaming call to its end. */
export function serveEventStream(call: EventStreamCall): void {
  const route = call.compiled.route;
  const transport: HttpTransport = {
    kind: 'http',
    endpoint: call.endpoint,
    operation: route.operation,
    requestHeader: call.requestHeader,
    replyHeader: new HeaderMap(),
    method: call.method,
    pathTemplate: route.path,
    url: call.url,
    remote: call.response.socket ?? undefined,
  };
  const ctx = new HttpCallContext(transport, undefined, call.response);
  ctx.requestBytes = call.requestBytes;
  const res = call.response;
  let started = false;
  let done = false;

  const startEvents = () => {
    started = true;
    call.takeOver();
    for (const key of transport.replyHeader.keys()) res.setHeader(key, transport.replyHeader.values(key));
    res.writeHead(200, { 'content-type': EVENT_STREAM_TYPE, 'cache-control': 'no-cache', 'x-accel-buffering': 'no' });
    res.flushHeaders();
  };

  const write = (text: string): Promise<void> =>
    new Promise((resolve, reject) => {
      if (res.write(text)) return resolve();
      const drained = () => {
        res.removeListener('close', closed);
        resolve();
      };
      const closed = () => {
        res.removeListener('drain', drained);
        reject(ctx.signal.aborted ? ctx.signal.reason : ErrCancelled('the client went away'));
      };
      res.once('drain', drained);
      res.once('close', closed);
    });

  const send: Send<unknown> = (message) => {
    if (done || res.destroyed) return Promise.reject(ctx.signal.aborted ? ctx.signal.reason : ErrCancelled('the stream is over'));
    let line: string;
    try {
      line = `data: ${JSON.stringify(encodeResponse(call.compiled, message))}\n\n`;
    } catch (err) {
      return Promise.reject(err);
    }
    if (!started) startEvents();
    return write(line);
  };

  const outer = call.chain.begin(ctx);
  const finish = (failed: boolean, error: unknown) => {
    if (done) return;
    done = true;
    res.removeListener('close', onClose);
    ctx.release();
    const err = outer.end(failed, error);
    if (err === undefined) {
      if (!started) startEvents();
      res.end();
      return;
    }
    const answered = isServiceError(err) ? fromError(err) : unknown(err, call.logger);
    if (!started) return call.answerError(answered);
    if (res.destroyed) return;
    res.end(`event: error\ndata: ${JSON.stringify(answered.toJSON())}\n\n`);
  };
  const onClose = () => {
    if (done || res.writableFinished) return;
    const err = ErrCancelled('the client went away');
    ctx.abort(err);
    finish(true, err);
  };
  res.once('close', onClose);

  if (outer.failedToStart) return finish(true, outer.startError);
  ctx.values.set(SEND, send);
  try {
    call.handler(ctx, call.request).then(() => finish(false, undefined), (err) => finish(true, err));
  } catch (err) {
    finish(true, err); // a handler that throws synchronously
  }
}

function unknown(err: unknown, logger?: Logger): ServiceError {
  logger?.error({ err }, 'unhandled error in handler');
  return ErrUnknownRequest(err);
}
