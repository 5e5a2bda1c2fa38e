// Server-streaming methods with an HTTP rule, served as Server-Sent Events (as
// Kratos serves them): the request binds from path, query and body like a unary
// call; the answer is `text/event-stream`, one `data:` line of proto3 JSON per
// message. The server's call runner runs the stream (runStream) as one call that
// ends when the handler's promise settles (one server span, one log line, one metric).
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
import { ErrCancelled } from '../../errors/catalogue.js';
import type { ServiceError } from '../../errors/errors.js';
import type { CallAnswer, CallRunner, RunningStream } from '../call-runner.js';
import type { Context, Handler } from '../context.js';
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
  compiled: CompiledRoute;
  /** The route's handler, middleware applied. */
  handler: Handler;
  request: unknown;
  /** Called once before the response is written directly (fastify must leave it alone). */
  takeOver: () => void;
  /** The error JSON of a call that fails before its first event, sized on the call for observers. */
  errorBody: (err: ServiceError) => string;
  /** Answers an error before any event was sent, as the server answers failed calls. */
  answerError: (err: ServiceError, body: string) => void;
}

/** Runs one streaming call to its end through the server's call runner. */
export function serveEventStream(
  runner: Pick<CallRunner<HttpCallContext, unknown>, 'runStream'>,
  call: EventStreamCall,
): void {
  const stream = new EventStream(call);
  stream.running = runner.runStream(call.ctx, call.handler, call.request, stream);
}

/** One event stream on Node's response: its events out, and its end once the runner has run the call. */
class EventStream implements CallAnswer<HttpCallContext, string | undefined> {
  /** The call while the runner runs it. */
  running?: RunningStream;
  private readonly res: ServerResponse;
  private started = false;
  private done = false;

  constructor(private readonly call: EventStreamCall) {
    this.res = call.ctx.answer.raw!;
    this.res.once('close', this.onClose);
    call.ctx.values.set(SEND, this.send);
  }

  readonly send: Send<unknown> = (message) => {
    const { ctx } = this.call;
    if (this.done || this.res.destroyed)
      return Promise.reject(ctx.signal.aborted ? ctx.signal.reason : ErrCancelled('the stream is over'));
    let line: string;
    try {
      line = `data: ${JSON.stringify(encodeResponse(this.call.compiled, message))}\n\n`;
    } catch (err) {
      return Promise.reject(err);
    }
    if (!this.started) this.startEvents();
    return this.write(line);
  };

  /** Events carry the messages: the end itself has nothing to encode. */
  encode(): undefined {
    return undefined;
  }

  /** Before the first event an error is answered as JSON, as any call's is (observers see its size). */
  encodeError(_ctx: HttpCallContext, error: ServiceError): string | undefined {
    return this.started ? undefined : this.call.errorBody(error);
  }

  answer(_ctx: HttpCallContext, encoded: string | undefined, error: ServiceError | undefined): void {
    this.done = true;
    this.res.removeListener('close', this.onClose);
    if (error === undefined) {
      if (!this.started) this.startEvents();
      this.res.end();
      return;
    }
    if (!this.started) return this.call.answerError(error, encoded ?? this.call.errorBody(error));
    if (this.res.destroyed) return;
    this.res.end(`event: error\ndata: ${JSON.stringify(error.toJSON())}\n\n`);
  }

  private startEvents(): void {
    this.started = true;
    this.call.takeOver();
    const header = this.call.ctx.transport.replyHeader;
    for (const key of header.keys()) this.res.setHeader(key, header.values(key));
    this.res.writeHead(200, {
      'content-type': EVENT_STREAM_TYPE,
      'cache-control': 'no-cache',
      'x-accel-buffering': 'no',
    });
    this.res.flushHeaders();
  }

  private write(text: string): Promise<void> {
    const { res } = this;
    const { signal } = this.call.ctx;
    return new Promise((resolve, reject) => {
      if (res.write(text)) return resolve();
      const drained = () => {
        res.removeListener('close', closed);
        resolve();
      };
      const closed = () => {
        res.removeListener('drain', drained);
        reject(signal.aborted ? signal.reason : ErrCancelled('the client went away'));
      };
      res.once('drain', drained);
      res.once('close', closed);
    });
  }

  private readonly onClose = () => {
    if (!this.res.writableFinished) this.running?.cancel(ErrCancelled('the client went away'));
  };
}
