// One structured line per call: operation, code, reason, latency and the trace
// ids, so a log line leads straight to its trace.

import { INVALID_SPANID, INVALID_TRACEID, isSpanContextValid } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { answeredError } from '../errors/catalogue.js';
import type { ServiceError } from '../errors/errors.js';
import type { Context, TransportKind } from '../transport/context.js';
import type { CallObserver, CallOutcome } from '../transport/observer.js';
import { spanContextOf } from '../telemetry/presample.js';
import { OTEL_CONTEXT } from './tracing.js';
import { lineBatcher, serializedBindings, spanFields, traceFlagsText, type DeferredLines } from '../log/logger.js';
import type { Context as OtelContext, SpanContext } from '@opentelemetry/api';

/** The access log of the server or client side, a line per ended call: success lines from cached pieces, others through pino. */
export function accessLog(
  logger: Logger,
  component: 'server' | 'client',
): (ctx: Context, outcome: CallOutcome) => void {
  const fast = accessLine(logger, component);
  return (ctx, outcome) => {
    const otel = ctx.values.get(OTEL_CONTEXT) as OtelContext | undefined;
    if (outcome.error === undefined && fast) fast(ctx.transport.kind, ctx.transport.operation, outcome.elapsedMs, otel);
    else writeLine(logger, { component, ctx, otel, outcome });
  };
}

/** A line through pino: for failed calls, and for loggers that are not ours. */
function writeLine(
  logger: Logger,
  call: { component: 'server' | 'client'; ctx: Context; otel: OtelContext | undefined; outcome: CallOutcome },
): void {
  const error = call.outcome.error;
  const e = error === undefined ? undefined : answeredError(error);
  const span = spanContextOf(call.otel);
  const line = {
    kind: call.component,
    component: call.ctx.transport.kind,
    operation: call.ctx.transport.operation,
    code: e?.code ?? 200,
    reason: e?.reason ?? '',
    latency: Number((call.outcome.elapsedMs / 1000).toFixed(6)),
    ...(span && isSpanContextValid(span) ? spanFields(span) : {}),
  };
  if (!e) logger.info(line, 'request');
  else if (e.code >= 500) logger.error({ ...line, err: loggedError(error, e) }, e.message);
  else logger.warn(line, e.message);
}

/**
 * A failure as its line carries it. A 500 (a bug, or an error nobody expected) keeps
 * its stack, which says where to look. Other 5xx (unavailable, timed out, a circuit
 * breaker's refusal) are conditions rather than places in the code: their stack
 * would be the runtime's own frames on every such call, so it is left out, and the
 * cause is kept as its message. What was thrown and is not an object (a string) is
 * logged as one, with its type and text (`value`: with a `message`, pino's error serializer
 * would take it for an error and name its type `Object`).
 */
function loggedError(error: unknown, e: ServiceError): unknown {
  // A thrown string or number is an object here too, so a log pipeline's `err` field keeps one type.
  if (typeof error !== 'object' || error === null) return { type: typeof error, value: String(error) };
  if (e.code === 500 || !(error instanceof Error)) return error;
  // The message is the line's msg already; without one here pino's error serializer leaves this as it is.
  const cause = error.cause;
  return {
    type: error.name,
    ...(cause === undefined
      ? {}
      : { cause: cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause) }),
  };
}

/**
 * The success line, in the exact shape pino would write, assembled from cached JSON
 * pieces. A call only queues its values; the lines are built in one loop when the
 * log batch is next written (see DeferredLines). Undefined when the logger is not one
 * of ours (then pino formats every line).
 */
function accessLine(logger: Logger, component: 'server' | 'client') {
  const batcher = lineBatcher(logger);
  if (!batcher) return undefined;
  const bindings = serializedBindings(logger);
  // By kind, then operation: the operation string is the route's own, so looking it
  // up reuses its hash, where a key built per call would be hashed anew every time.
  const prefixes = { http: new Map<string, string>(), grpc: new Map<string, string>() };
  const queue = new AccessQueue();
  batcher.addDeferred(queue);
  return (kind: TransportKind, operation: string, elapsedMs: number, otel: OtelContext | undefined) => {
    if (!logger.isLevelEnabled('info')) return;
    let prefix = prefixes[kind].get(operation);
    if (prefix === undefined) {
      prefix = `${bindings},"kind":"${component}","component":${JSON.stringify(kind)},"operation":${JSON.stringify(operation)},"code":200,"reason":""`;
      prefixes[kind].set(operation, prefix);
    }
    const span = spanContextOf(otel);
    // Span contexts here come from the SDK, the sampling fast path or a validated
    // traceparent; only the all-zero one of a disabled tracer is left to rule out,
    // which is cheaper than isSpanContextValid's pattern tests on every request.
    const valid =
      span !== undefined && notAllZero(span.traceId, INVALID_TRACEID) && notAllZero(span.spanId, INVALID_SPANID);
    if (queue.add(Date.now(), prefix, elapsedMs, valid ? span : undefined)) batcher.formatDeferred();
    else batcher.schedule();
  };
}

/** Access-line values waiting to be formatted, in arrays reused from batch to batch. */
class AccessQueue implements DeferredLines {
  // Formatting a full queue takes tens of microseconds: too short to show in tail latency.
  private static readonly CAPACITY = 128;
  private count = 0;
  private readonly times = new Float64Array(AccessQueue.CAPACITY);
  private readonly elapsed = new Float64Array(AccessQueue.CAPACITY);
  private readonly prefixes: string[] = new Array<string>(AccessQueue.CAPACITY).fill('');
  private readonly spans: (SpanContext | undefined)[] = new Array<SpanContext | undefined>(AccessQueue.CAPACITY).fill(
    undefined,
  );

  /** Queues one line (`span`: the call's, when it has a valid one); true when the queue is full and must be formatted now. */
  add(time: number, prefix: string, elapsedMs: number, span: SpanContext | undefined): boolean {
    const i = this.count++;
    this.times[i] = time;
    this.elapsed[i] = elapsedMs;
    this.prefixes[i] = prefix;
    this.spans[i] = span;
    return this.count === AccessQueue.CAPACITY;
  }

  flush(append: (lines: string) => void): void {
    const n = this.count;
    if (n === 0) return;
    this.count = 0;
    // One text for the whole queue: encoding it in one write cost less than a write
    // per line, each of which flattened its line's pieces on its own.
    let text = '';
    for (let i = 0; i < n; i++) {
      const span = this.spans[i];
      const ids =
        span === undefined
          ? ''
          : `,"trace_id":"${span.traceId}","span_id":"${span.spanId}","trace_flags":"${traceFlagsText(span.traceFlags)}"`;
      text += `${this.lineStart(this.times[i]!, this.prefixes[i]!)}${secondsText(this.elapsed[i]!)}${ids},"msg":"request"}\n`;
      // Let the span context go: its ids are slices that may hold the id pool's hex text alive.
      this.spans[i] = undefined;
    }
    append(text);
  }

  // Lines of one operation in one millisecond begin alike: the text up to the latency
  // is kept, flat, for the next line (a busy server logs dozens per millisecond).
  private startTime = -1;
  private startPrefix = '';
  private start = '';

  private lineStart(time: number, prefix: string): string {
    if (time !== this.startTime || prefix !== this.startPrefix) {
      this.startTime = time;
      this.startPrefix = prefix;
      this.start = flattened(`{"level":"info","time":"${isoAt(time)}"${prefix},"latency":`);
    }
    return this.start;
  }
}

/**
 * The same text, flattened: V8 flattens a concatenated string in place when a
 * character of it is read, and each line that begins with it then copies it as one
 * piece rather than walking its parts (about a fifth of a line's cost in a loop).
 */
function flattened(text: string): string {
  text.charCodeAt(0);
  return text;
}

/** Milliseconds as seconds with six decimals, the digits toFixed(6) writes, from integer arithmetic (cheaper per line). */
export function secondsText(elapsedMs: number): string {
  const micros = Math.round(elapsedMs * 1000);
  const whole = Math.floor(micros / 1_000_000);
  const fraction = micros - whole * 1_000_000;
  // Adding a million and dropping the leading 1 zero-pads the fraction to six digits.
  return `${whole}.${String(fraction + 1_000_000).slice(1)}`;
}

const ZERO = 48; // '0'

/**
 * Whether an id differs from the all-zero one. The first digit settles it for 15
 * ids in 16; comparing whole strings went through V8's slow string equality, as
 * ids are slices of a longer string.
 */
function notAllZero(id: string, zero: string): boolean {
  return id.charCodeAt(0) !== ZERO || id !== zero;
}

let secondStart = -Infinity;
let secondText = '';
/**
 * pino's isoTime for an epoch-ms time. Date's formatter runs once per second; within
 * it only the milliseconds change (toISOString cost a few microseconds, once per
 * millisecond on a busy server). Times before 1970 and after 9999 go to Date.
 */
export function isoAt(ms: number): string {
  const within = ms - secondStart;
  if (within < 0 || within >= 1000) {
    if (ms < 0 || ms >= MAX_FOUR_DIGIT_YEAR_MS) return new Date(ms).toISOString();
    secondStart = ms - (ms % 1000);
    // "YYYY-MM-DDTHH:MM:SS." without the milliseconds and the Z.
    secondText = new Date(secondStart).toISOString().slice(0, 20);
    return isoAt(ms);
  }
  return `${secondText}${String(within + 1000).slice(1)}Z`;
}
const MAX_FOUR_DIGIT_YEAR_MS = 253402300800000; // 10000-01-01T00:00:00Z

function logging(logger: Logger, component: 'server' | 'client'): CallObserver<undefined> {
  const log = accessLog(logger, component);
  return { onStart: () => undefined, onEnd: (ctx, _started, outcome) => log(ctx, outcome), logsFailures: true };
}

/** An access line per server call. */
export const loggingServer = (logger: Logger): CallObserver<undefined> => logging(logger, 'server');
/** An access line per outgoing call. */
export const loggingClient = (logger: Logger): CallObserver<undefined> => logging(logger, 'client');
