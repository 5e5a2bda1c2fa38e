// The sampling fast path of the tracing middleware. Under a parent-based ratio
// sampler most calls are not sampled, and for those the SDK's span machinery (id
// generation, sampler objects, span wrappers) was most of what tracing cost per
// request. The middleware therefore makes the decision itself when it knows the
// SDK would make the same one: the caller's flag when there is a caller, the ratio
// otherwise. Unsampled calls get a valid non-recording span context built directly;
// sampled ones still go through the SDK, with the root decision handed to it in the
// context (see ParentBasedRatioSampler in sampler.ts).
import { randomFillSync } from 'node:crypto';
import { createContextKey, isSpanContextValid, trace, TraceFlags, type Context } from '@opentelemetry/api';

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
    return { unsampled: trace.setSpanContext(parent, { traceId: caller.traceId, spanId: randomHex(SPAN_ID_BYTES), traceFlags: TraceFlags.NONE, traceState: caller.traceState }) };
  }
  if (Math.random() < ratio) return { sampledParent: parent.setValue(ROOT_SAMPLED, true) };
  // One hex conversion for both ids of a new trace.
  const ids = randomHex(TRACE_ID_BYTES + SPAN_ID_BYTES);
  return { unsampled: trace.setSpanContext(parent, { traceId: ids.slice(0, TRACE_ID_BYTES * 2), spanId: ids.slice(TRACE_ID_BYTES * 2), traceFlags: TraceFlags.NONE }) };
}

const TRACE_ID_BYTES = 16;
const SPAN_ID_BYTES = 8;

// Ids are cut from a pool of random bytes refilled a few kilobytes at a time
// instead of drawing a random number per 32 bits.
const POOL_BYTES = 4096;
const pool = Buffer.alloc(POOL_BYTES);
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
      poolOffset = 0;
    }
    const start = poolOffset;
    poolOffset += bytes;
    if (bytes > SPAN_ID_BYTES && allZero(start, start + TRACE_ID_BYTES)) continue;
    if (allZero(start + bytes - SPAN_ID_BYTES, start + bytes)) continue;
    return pool.toString('hex', start, start + bytes);
  }
}

function allZero(from: number, to: number): boolean {
  for (let i = from; i < to; i++) if (pool[i] !== 0) return false;
  return true;
}
