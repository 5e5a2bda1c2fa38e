// Where a call's OpenTelemetry context lives, and how it becomes the active one.
// The tracing observer stores the call's context (its span on top of the
// caller's) in the call Context; servers and clients then run the middleware and
// the handler inside it, so `trace.getActiveSpan()`, `startActiveSpan`,
// auto-instrumentations and outgoing clients all find the call's span. With the
// AsyncLocalStorage context manager (the default) that holds across awaits; with
// the synchronous one (`explicit`) only until the handler's first await.
import { context, type Context as OtelContext } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import type { Context, Handler } from '../transport/context.js';

/** The key of a call's OpenTelemetry context in `ctx.values`. */
export const OTEL_CONTEXT = Symbol.for('tsk.otel.context');

/** Runs `handler` with the call's OpenTelemetry context active, when the call has one. */
export function runInCallContext(ctx: Context, handler: Handler, req: unknown): Promise<unknown> {
  const otel = ctx.values.get(OTEL_CONTEXT) as OtelContext | undefined;
  return otel === undefined ? handler(ctx, req) : context.with(otel, handler, undefined, ctx, req);
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
