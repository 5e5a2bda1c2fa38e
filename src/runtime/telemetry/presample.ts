// The sampling fast path of the tracing middleware. Under a parent-based ratio
// sampler most calls are not sampled, and for those the SDK's span machinery (id
// generation, sampler objects, span wrappers) was most of what tracing cost per
// request. The middleware therefore makes the decision itself when it knows the
// SDK would make the same one: the caller's flag when there is a caller, the ratio
// otherwise. Unsampled calls get a valid non-recording span context built directly;
// sampled ones a RecordedSpan (recorded-span.ts) that goes straight to the exporter.
// Either way the call's context is one CallSpanContext.
import { randomFillSync } from 'node:crypto';
import {
  createContextKey,
  INVALID_SPAN_CONTEXT,
  type Attributes,
  isSpanContextValid,
  trace,
  TraceFlags,
  type Context,
  type Span,
  type SpanContext,
  type SpanKind,
  type SpanOptions,
} from '@opentelemetry/api';
import { isTracingSuppressed } from '@opentelemetry/core';
import { RecordedSpan, type SpanRecorder } from './recorded-span.js';

/**
 * The key of the server call being served (its tsk Context) in the OpenTelemetry
 * context its handler runs in: clients find the deadline and cancellation to carry
 * over there, as they find the trace context.
 */
export const SERVED_CALL = createContextKey('tsk.served-call');

/** The instrumentation scope of the middleware's spans. */
export const TRACER = 'tsk';

interface MiddlewareSampling {
  ratio: number;
  recorder: SpanRecorder;
}

let middleware: MiddlewareSampling | undefined;

/**
 * Lets the middleware decide sampling itself with this root ratio and record its
 * sampled spans with `recorder` (setupTelemetry calls it when its own sampler, span
 * export and the default W3C propagators are in use), or stops it (undefined) so
 * every call goes through the SDK.
 */
export function setMiddlewareSampling(settings: MiddlewareSampling | undefined): void {
  middleware = settings && { ratio: Math.min(1, Math.max(0, settings.ratio)), recorder: settings.recorder };
}

/** The root ratio the middleware samples at, or undefined when the SDK decides. */
export function middlewareSampling(): number | undefined {
  return middleware?.ratio;
}

/**
 * Starts the span of a call under `parent` and returns the call's OpenTelemetry
 * context (`attributes` are the span's start attributes, which a sampler sees; `startedAt`, a
 * performance.now() time, when it began earlier): the span is recorded when the call is sampled (or when the SDK says so,
 * without middleware sampling), otherwise the context only carries its ids.
 */
export function startCallSpan(
  parent: Context,
  name: string,
  kind: SpanKind,
  attributes?: Attributes,
  served?: unknown,
  startedAt?: number,
): CallSpanContext {
  const settings = middleware;
  if (settings === undefined) {
    const options: SpanOptions = { kind };
    if (attributes !== undefined) options.attributes = attributes;
    if (startedAt !== undefined) options.startTime = performance.timeOrigin + startedAt;
    const span = trace.getTracer(TRACER).startSpan(name, options, parent);
    return new CallSpanContext(parent, span.spanContext(), span, served);
  }
  // As the SDK: no span, and no context to propagate, where tracing is suppressed.
  if (isTracingSuppressed(parent)) return new CallSpanContext(parent, INVALID_SPAN_CONTEXT, undefined, served);
  const context = trace.getSpanContext(parent);
  // The caller's span: its trace, state and flag carry on; without one a new trace starts.
  const caller = context && isSpanContextValid(context) ? context : undefined;
  let traceId: string;
  let spanId: string;
  if (caller) {
    traceId = caller.traceId;
    spanId = randomHex(SPAN_ID_BYTES);
  } else {
    // Both ids of a new trace in one draw.
    const ids = randomHex(TRACE_ID_BYTES + SPAN_ID_BYTES);
    traceId = ids.slice(0, TRACE_ID_BYTES * 2);
    spanId = ids.slice(TRACE_ID_BYTES * 2);
  }
  const sampled = caller ? (caller.traceFlags & TraceFlags.SAMPLED) !== 0 : Math.random() < settings.ratio;
  const spanContext: SpanContext = {
    traceId,
    spanId,
    traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
  };
  if (caller?.traceState !== undefined) spanContext.traceState = caller.traceState;
  return sampled
    ? new CallSpanContext(
        parent,
        spanContext,
        new RecordedSpan(settings.recorder, name, kind, spanContext, caller, startedAt),
        served,
      )
    : new CallSpanContext(parent, spanContext, undefined, served);
}

// The key under which the OpenTelemetry API keeps a context's span. The API does not
// export it; asking it to set a span on a probe context shows which key it uses.
const SPAN_KEY: symbol | undefined = (() => {
  let key: symbol | undefined;
  const probe: Context = {
    getValue: () => undefined,
    setValue: (k) => {
      key = k;
      return probe;
    },
    deleteValue: () => probe,
  };
  trace.setSpan(probe, trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  return key;
})();

/**
 * A call's OpenTelemetry context: its parent with the call's span on top. It becomes
 * a full OpenTelemetry context only when something adds a value to it: most calls
 * only read their span context (the log line, outgoing headers), and building the
 * full context copied all of the parent's values on every call. The middleware
 * reads the span context and the recorded span straight from its fields. A server
 * call's context also holds the call it serves (SERVED_CALL), for the same reason.
 */
export class CallSpanContext implements Context {
  private full?: Context;

  constructor(
    private readonly parent: Context,
    readonly spanContext: SpanContext,
    /** The span object, when there is one already (the SDK's, or a recorded one). */
    private span: Span | undefined,
    /** The server call this is the context of, if it is one. */
    private readonly served?: unknown,
  ) {}

  /** The span to end when the call ends, if it records one. */
  get recordedSpan(): Span | undefined {
    return this.span?.isRecording() ? this.span : undefined;
  }

  getValue(key: symbol): unknown {
    // Should the API ever keep spans differently, the full context answers.
    if (SPAN_KEY === undefined) return this.materialize().getValue(key);
    if (key === SPAN_KEY) return this.ownSpan();
    return key === SERVED_CALL && this.served !== undefined ? this.served : this.parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return this.materialize().setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return this.materialize().deleteValue(key);
  }

  private materialize(): Context {
    if (this.full) return this.full;
    const full = trace.setSpan(this.parent, this.ownSpan());
    return (this.full = this.served === undefined ? full : full.setValue(SERVED_CALL, this.served));
  }

  private ownSpan(): Span {
    return (this.span ??= trace.wrapSpanContext(this.spanContext));
  }
}

/** The span context of a call's OpenTelemetry context (or of the active one), read without building a span. */
export function spanContextOf(otel: Context | undefined): SpanContext | undefined {
  if (otel instanceof CallSpanContext) return otel.spanContext;
  return (otel ? trace.getSpan(otel) : trace.getActiveSpan())?.spanContext();
}

const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;

// Ids are cut from a pool of random bytes refilled a few kilobytes at a time
// instead of drawing a random number per 32 bits, and from its hex text, converted
// once per refill: an id is then a slice of that string.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
let poolHex = '';
let poolOffset = POOL_BYTES;

/**
 * `bytes` random bytes as lower-case hex, for a span id or a trace id followed by
 * one. W3C reserves all-zero ids as invalid: random bytes almost never make one,
 * and a draw with an all-zero trace or span id is drawn again. The test is on the
 * bytes, where comparing the hex against a string of zeros cost a runtime call.
 */
function randomHex(bytes: number): string {
  for (;;) {
    if (poolOffset + bytes > POOL_BYTES) {
      randomFillSync(pool);
      poolHex = pool.toString('hex');
      poolOffset = 0;
    }
    const start = poolOffset;
    poolOffset += bytes;
    if (bytes > SPAN_ID_BYTES && allZero(start, start + TRACE_ID_BYTES)) continue;
    if (allZero(start + bytes - SPAN_ID_BYTES, start + bytes)) continue;
    return poolHex.slice(start * 2, (start + bytes) * 2);
  }
}

function allZero(from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (pool[i] !== 0) return false;
  return true;
}
