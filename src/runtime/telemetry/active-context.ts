// Where a call's OpenTelemetry context lives, and how it becomes the active one.
// The tracing observer stores the call's context (its span on top of the
// caller's) in the call Context; servers and clients then run the middleware and
// the handler inside it, so `trace.getActiveSpan()`, `startActiveSpan`,
// auto-instrumentations and outgoing clients all find the call's span. With the
// AsyncLocalStorage context manager (the default) that holds across awaits; with
// the synchronous one (`explicit`) only until the handler's first await. A server
// call's context also holds the call itself, so clients called without a parent
// carry its deadline and cancellation on, as a Go service passing its ctx does.
import { context, ROOT_CONTEXT, type Context as OtelContext } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { ServedCall } from '../transport/call-context.js';
import type { Context, Handler } from '../transport/context.js';
import { SERVED_CALL } from './presample.js';

/** The key of a call's OpenTelemetry context in `ctx.values`. */
export const OTEL_CONTEXT = Symbol.for('tsk.otel.context');

/** Runs `handler` with the call's OpenTelemetry context active, when the call has one. */
export function runInCallContext(ctx: Context, handler: Handler, req: unknown): Promise<unknown> {
  const otel = ctx.values.get(OTEL_CONTEXT) as OtelContext | undefined;
  return otel === undefined ? handler(ctx, req) : context.with(otel, handler, undefined, ctx, req);
}

/**
 * Runs a server call's `handler` with the call's OpenTelemetry context active, and
 * the call itself in it (see servedCall). The tracing observer's context holds the
 * call already; without one, the active context gains it.
 */
export function runServerCall(ctx: Context, handler: Handler, req: unknown): Promise<unknown> {
  let otel = (ctx.values.get(OTEL_CONTEXT) as OtelContext | undefined) ?? context.active();
  const served = servedBy(ctx);
  if (served !== undefined && otel.getValue(SERVED_CALL) !== served) otel = otel.setValue(SERVED_CALL, served);
  return context.with(otel, handler, undefined, ctx, req);
}

/**
 * `handler` run in its server call's context, behind middleware: one that awaited
 * before calling it has lost that context where it does not carry across awaits
 * (the synchronous context manager, `explicit`), and it is entered again.
 */
export function inServerCall(handler: Handler): Handler {
  return (ctx, req) =>
    context.active().getValue(SERVED_CALL) === servedBy(ctx) ? handler(ctx, req) : runServerCall(ctx, handler, req);
}

/** What a call's OpenTelemetry context holds of it (SERVED_CALL) when it is a server call. */
export function servedBy(ctx: Context): ServedCall | undefined {
  return (ctx as { served?: ServedCall }).served;
}

/**
 * The server call the running code serves, while it is unanswered: what a client
 * call made without `parent` takes its deadline and cancellation from. Work that
 * outlives the answer (a timer the handler set) is on its own.
 */
export function servedCall(): Context | undefined {
  return (context.active().getValue(SERVED_CALL) as ServedCall | undefined)?.call;
}

/**
 * Runs `send` with tracing suppressed: the transport I/O of a call that tsk traces
 * itself (its client span, its own trace headers). An auto-instrumentation of that
 * I/O (undici for `fetch`) would otherwise add a second client span and a second
 * `traceparent` header, and a server given two cannot continue the trace.
 */
export function untraced<T>(send: () => T): T {
  return context.with(suppressTracing(context.active()), send);
}

/**
 * Runs `work` outside every call: what a call only happens to start (a discovery watch
 * opened by the first call to a service) outlives it, and must not carry its trace into
 * its log lines, nor its deadline and cancellation into calls of its own.
 */
export function outsideCalls<T>(work: () => T): T {
  return context.with(ROOT_CONTEXT, work);
}
