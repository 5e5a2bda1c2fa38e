// The sampling fast path of the tracing middleware. Under a parent-based ratio
// sampler most calls are not sampled, and for those the SDK's span machinery (id
// generation, sampler objects, span wrappers) was most of what tracing cost per
// request. The middleware therefore makes the decision itself when it knows the
// SDK would make the same one: the caller's flag when there is a caller, the ratio
// otherwise. Unsampled calls get a valid non-recording span context built directly;
// sampled ones still go through the SDK, with the root decision handed to it in the
// context (see ParentBasedRatioSampler in sampler.ts).
import { randomFillSync } from 'node:crypto';
import { createContextKey, INVALID_SPAN_CONTEXT, isSpanContextValid, trace, TraceFlags, type Context, type Span, type SpanContext } from '@opentelemetry/api';

/** Marks the parent context of a root span the middleware has decided to sample. */
export const ROOT_SAMPLED = createContextKey('tsk.root-sampled');

let middlewareRatio: number | undefined;

/**
 * Lets the middleware decide sampling itself with this root ratio (setupTelemetry
 * calls it when its own sampler and the default W3C propagators are in use), or
 * stops it (undefined) so every call goes through the SDK.
 */
export function setMiddlewareSampling(ratio: number | undefined): void {
  middlewareRatio = ratio === undefined ? undefined : Math.min(1, Math.max(0, ratio));
}

export function middlewareSampling(): number | undefined {
  return middlewareRatio;
}

/**
 * Decides a new span under `parent`. Returns the span's context when it is not
 * sampled; otherwise the parent context to start the SDK span under, marked so the
 * sampler agrees. Without middleware sampling every span is left to the SDK.
 */
export function presample(parent: Context): { unsampled: Context } | { sampledParent: Context } {
  const ratio = middlewareRatio;
  if (ratio === undefined) return { sampledParent: parent };
  const caller = trace.getSpanContext(parent);
  if (caller && isSpanContextValid(caller)) {
    if ((caller.traceFlags & TraceFlags.SAMPLED) !== 0) return { sampledParent: parent };
    return { unsampled: unsampledContext(parent, { traceId: caller.traceId, spanId: randomHex(SPAN_ID_BYTES), traceFlags: TraceFlags.NONE, traceState: caller.traceState }) };
  }
  if (Math.random() < ratio) return { sampledParent: parent.setValue(ROOT_SAMPLED, true) };
  // Both ids of a new trace in one draw.
  const ids = randomHex(TRACE_ID_BYTES + SPAN_ID_BYTES);
  return { unsampled: unsampledContext(parent, { traceId: ids.slice(0, TRACE_ID_BYTES * 2), spanId: ids.slice(TRACE_ID_BYTES * 2), traceFlags: TraceFlags.NONE }) };
}

// The key under which the OpenTelemetry API keeps a context's span. The API does not
// export it; asking it to set a span on a probe context shows which key it uses.
const SPAN_KEY: symbol | undefined = (() => {
  let key: symbol | undefined;
  const probe: Context = { getValue: () => undefined, setValue: (k) => ((key = k), probe), deleteValue: () => probe };
  trace.setSpan(probe, trace.wrapSpanContext(INVALID_SPAN_CONTEXT));
  return key;
})();

/**
 * An unsampled call's context: its parent with the call's span context on top. It
 * becomes a full OpenTelemetry context only when something adds a value to it. Most
 * calls only read their span context (the log line, outgoing headers), and building
 * the full context copied all of the parent's values on every call.
 */
class UnsampledContext implements Context {
  private span?: Span;
  private full?: Context;

  constructor(private readonly parent: Context, private readonly spanContext: SpanContext) {}

  getValue(key: symbol): unknown {
    return key === SPAN_KEY ? this.ownSpan() : this.parent.getValue(key);
  }

  setValue(key: symbol, value: unknown): Context {
    return this.materialize().setValue(key, value);
  }

  deleteValue(key: symbol): Context {
    return this.materialize().deleteValue(key);
  }

  private materialize(): Context {
    return (this.full ??= trace.setSpan(this.parent, this.ownSpan()));
  }

  private ownSpan(): Span {
    return (this.span ??= trace.wrapSpanContext(this.spanContext));
  }
}

function unsampledContext(parent: Context, spanContext: SpanContext): Context {
  // Should the API ever set spans differently, the full context is built at once.
  return SPAN_KEY ? new UnsampledContext(parent, spanContext) : trace.setSpanContext(parent, spanContext);
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
