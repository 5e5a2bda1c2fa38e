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

import { ErrCancelled } from '../../errors/catalogue.js';
import { fromError, isServiceError, type ServiceError } from '../../errors/errors.js';
import type { Context, Handler } from '../context.js';
import { ObservedCall, type CallObserver } from '../observer.js';
import type { Send } from '../stream.js';
import { encodeResponse, type CompiledRoute } from './binding.js';
import type { HttpCallContext } from './server.js';

export type { Send };

/** A server-streaming method as the HTTP server runs it (the gRPC interface's shape). */
export type EventStreamMethod<Req, Res> = (ctx: Context, request: Req, send: Send<Res>) => Promise<void>;

export const EVENT_STREAM_TYPE = 'text/event-stream';

/** The key under which a stream's `send` travels through the chain, in ctx.values. */
const SEND = Symbol('tsk.http.send');

/** The handler of a streaming route, given to `wrap` (the server's middleware). */
export function eventStreamHandler(
  wrap: (handler: Handler) => Handler,
  method: EventStreamMethod<unknown, unknown>,
): Handler {
  return wrap((ctx, req) => method(ctx, req, ctx.values.get(SEND) as Send<unknown>));
}

/** What one streaming call needs from the server that received it. */
export interface EventStreamCall {
  /** The call's Context, built by the server (its answer has the raw response). */
  ctx: HttpCallContext;
  observers: readonly CallObserver[];
  compiled: CompiledRoute;
  /** The route's handler, middleware applied. */
  handler: Handler;
  request: unknown;
  /** Called once before the response is written directly (fastify must leave it alone). */
  takeOver: () => void;
  /** Answers an error before any event was sent, as the server answers failed calls. */
  answerError: (err: ServiceError) => void;
  /** An error that is not a ServiceError, logged and made the unknown-request error. */
  unknown: (err: unknown) => ServiceError;
}

/** Runs one streaming call to its end. */
export function serveEventStream(call: EventStreamCall): void {
  const { ctx } = call;
  const transport = ctx.transport;
  const res = ctx.answer.raw!;
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
    if (done || res.destroyed)
      return Promise.reject(ctx.signal.aborted ? ctx.signal.reason : ErrCancelled('the stream is over'));
    let line: string;
    try {
      line = `data: ${JSON.stringify(encodeResponse(call.compiled, message))}\n\n`;
    } catch (err) {
      return Promise.reject(err);
    }
    if (!started) startEvents();
    return write(line);
  };

  const outer = new ObservedCall(call.observers, ctx);
  const finish = (failed: boolean, error: unknown) => {
    if (done) return;
    done = true;
    res.removeListener('close', onClose);
    ctx.release();
    const err = failed ? outer.failed(error) : outer.succeeded();
    if (err === undefined) {
      if (!started) startEvents();
      res.end();
      return;
    }
    const answered = isServiceError(err) ? fromError(err) : call.unknown(err);
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
    call.handler(ctx, call.request).then(
      () => finish(false, undefined),
      (err) => finish(true, err),
    );
  } catch (err) {
    finish(true, err); // a handler that throws synchronously
  }
}
