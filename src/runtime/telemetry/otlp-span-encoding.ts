// Protobuf encoding of finished spans in the OTLP trace format (field numbers of
// opentelemetry/proto/trace/v1/trace.proto and common/v1/common.proto). A span is
// encoded the moment it ends, so the batch holds bytes rather than span objects:
// spans die young instead of being promoted and marked by the garbage collector,
// and no export has to encode hundreds of spans in one go while requests wait.

import type { Attributes, HrTime, Link, SpanContext } from '@opentelemetry/api';
import type * as resources from '@opentelemetry/resources';
import type * as tracing from '@opentelemetry/sdk-trace';

const VARINT = 0;
const FIXED64 = 1;
const LENGTH_DELIMITED = 2;
const FIXED32 = 5;

const TWO_32 = 2 ** 32;

/** A growable byte buffer with the handful of protobuf writes OTLP spans need. */
export class ProtoWriter {
  buf: Buffer;
  pos = 0;

  constructor(initialSize = 4096) {
    this.buf = Buffer.allocUnsafe(initialSize);
  }

  /** The bytes written so far, as a view of the writer's buffer. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  private ensure(extra: number): void {
    if (this.pos + extra <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + extra));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }

  /** A non-negative integer up to 2^53. */
  varint(value: number): void {
    this.ensure(10);
    const buf = this.buf;
    let pos = this.pos;
    while (value >= 0x80) {
      buf[pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    buf[pos++] = value;
    this.pos = pos;
  }

  tag(field: number, wireType: number): void {
    this.varint((field << 3) | wireType);
  }

  /** An int64 field: negative values take ten bytes, as two's complement. */
  int64(field: number, value: number): void {
    this.tag(field, VARINT);
    if (value >= 0) return this.varint(value);
    let rest = BigInt.asUintN(64, BigInt(value));
    this.ensure(10);
    while (rest >= 0x80n) {
      this.buf[this.pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.buf[this.pos++] = Number(rest);
  }

  uint32Field(field: number, value: number): void {
    this.tag(field, VARINT);
    this.varint(value);
  }

  fixed32Field(field: number, value: number): void {
    this.tag(field, FIXED32);
    this.ensure(4);
    this.pos = this.buf.writeUInt32LE(value >>> 0, this.pos);
  }

  doubleField(field: number, value: number): void {
    this.tag(field, FIXED64);
    this.ensure(8);
    this.pos = this.buf.writeDoubleLE(value, this.pos);
  }

  /** A time as fixed64 nanoseconds since the epoch, exact although it exceeds 2^53. */
  timeField(field: number, time: HrTime): void {
    const [lo, hi] = hrTimeToUint64(time);
    this.tag(field, FIXED64);
    this.ensure(8);
    this.buf.writeUInt32LE(lo, this.pos);
    this.buf.writeUInt32LE(hi, this.pos + 4);
    this.pos += 8;
  }

  stringField(field: number, value: string): void {
    this.tag(field, LENGTH_DELIMITED);
    this.string(value);
  }

  string(value: string): void {
    const length = value.length;
    // Up to 42 UTF-16 units encode to at most 126 bytes: a one-byte length. Short
    // ASCII strings (keys, methods, routes) are copied here, cheaper than a call into
    // Node's encoder; anything else goes through it.
    if (length < 43) {
      this.ensure(1 + length * 3);
      const buf = this.buf;
      const start = this.pos + 1;
      let i = 0;
      for (; i < length; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        buf[start + i] = c;
      }
      const written = i === length ? length : buf.write(value, start, 'utf8');
      buf[this.pos] = written;
      this.pos = start + written;
      return;
    }
    const bytes = Buffer.byteLength(value);
    this.varint(bytes);
    this.ensure(bytes);
    this.pos += this.buf.write(value, this.pos, bytes, 'utf8');
  }

  /** Bytes given as hex (trace and span ids); a digit that is not hex counts as 0. */
  hexField(field: number, hex: string): void {
    this.tag(field, LENGTH_DELIMITED);
    const length = hex.length >>> 1;
    this.varint(length);
    this.ensure(length);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < hex.length - 1; i += 2)
      buf[pos++] = (nibble(hex.charCodeAt(i)) << 4) | nibble(hex.charCodeAt(i + 1));
    this.pos = pos;
  }

  bytesField(field: number, bytes: Uint8Array): void {
    this.tag(field, LENGTH_DELIMITED);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  raw(bytes: Uint8Array): void {
    this.ensure(bytes.length);
    this.buf.set(bytes, this.pos);
    this.pos += bytes.length;
  }

  /**
   * Starts a nested message; `end` closes it with the position returned here. One
   * byte is reserved for the length, which fits messages under 128 bytes; longer
   * ones are moved up to make room for a longer length.
   */
  begin(field: number): number {
    this.tag(field, LENGTH_DELIMITED);
    this.ensure(1);
    return this.pos++;
  }

  end(lengthAt: number): void {
    const length = this.pos - lengthAt - 1;
    if (length < 0x80) {
      this.buf[lengthAt] = length;
      return;
    }
    const lengthSize = varintSize(length);
    this.ensure(lengthSize - 1);
    this.buf.copyWithin(lengthAt + lengthSize, lengthAt + 1, this.pos);
    const end = this.pos + lengthSize - 1;
    this.pos = lengthAt;
    this.varint(length);
    this.pos = end;
  }
}

function nibble(c: number): number {
  if (c >= 48 && c <= 57) return c - 48; // 0-9
  if (c >= 97 && c <= 102) return c - 87; // a-f
  if (c >= 65 && c <= 70) return c - 55; // A-F
  return 0;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

/**
 * [seconds, nanoseconds] as the low and high 32 bits of seconds * 1e9 + nanoseconds,
 * computed in parts small enough for doubles to hold exactly.
 */
export function hrTimeToUint64([seconds, nanos]: HrTime): [number, number] {
  const low = (seconds % 0x10000) * 1e9 + nanos; // < 2^53
  const high = Math.floor(seconds / 0x10000) * 1e9; // to be multiplied by 2^16
  const highLow = (high % 0x10000) * 0x10000; // < 2^32
  let lo = (low % TWO_32) + highLow;
  let hi = Math.floor(low / TWO_32) + Math.floor(high / 0x10000);
  if (lo >= TWO_32) {
    lo -= TWO_32;
    hi += 1;
  }
  return [lo, hi];
}

// AnyValue: the simple kinds, and the byte arrays, lists and maps @opentelemetry/api 1.10 added.
function writeAnyValue(w: ProtoWriter, value: unknown): void {
  switch (typeof value) {
    case 'string':
      return w.stringField(1, value);
    case 'boolean':
      return w.uint32Field(2, value ? 1 : 0);
    case 'number':
      return Number.isInteger(value) && Number.isSafeInteger(value) ? w.int64(3, value) : w.doubleField(4, value);
    case 'object':
      if (value === null) return;
      if (value instanceof Uint8Array) return w.bytesField(7, value);
      if (Array.isArray(value)) {
        const array = w.begin(5);
        for (const item of value) {
          const entry = w.begin(1);
          writeAnyValue(w, item);
          w.end(entry);
        }
        w.end(array);
        return;
      }
      {
        const map = w.begin(6);
        writeKeyValues(w, 1, value as Attributes, false);
        w.end(map);
      }
  }
  // null, and undefined list items, stay an empty AnyValue.
}

/** Repeated KeyValue entries of `field`. */
export function writeAttributes(w: ProtoWriter, field: number, attributes: Attributes): void {
  writeKeyValues(w, field, attributes, true);
}

/** KeyValue entries; in a map value even undefined ones (an empty value), as the SDK's serializer writes them. */
function writeKeyValues(w: ProtoWriter, field: number, attributes: Attributes, skipUndefined: boolean): void {
  for (const key in attributes) {
    const value = attributes[key];
    if (skipUndefined && value === undefined) continue;
    const keyValue = w.begin(field);
    w.stringField(1, key);
    const anyValue = w.begin(2);
    writeAnyValue(w, value);
    w.end(anyValue);
    w.end(keyValue);
  }
}

const HAS_IS_REMOTE = 0x100;
const IS_REMOTE = 0x200;

/** Span and link flags: the W3C trace flags plus whether the parent context came from another process. */
function spanFlags(traceFlags: number, remote: boolean | undefined): number {
  return (traceFlags & 0xff) | HAS_IS_REMOTE | (remote ? IS_REMOTE : 0);
}

function writeLink(w: ProtoWriter, link: Link): void {
  const context: SpanContext = link.context;
  w.hexField(1, context.traceId);
  w.hexField(2, context.spanId);
  const state = context.traceState?.serialize();
  if (state) w.stringField(3, state);
  if (link.attributes) writeAttributes(w, 4, link.attributes);
  if (link.droppedAttributesCount) w.uint32Field(5, link.droppedAttributesCount);
  w.fixed32Field(6, spanFlags(context.traceFlags, context.isRemote));
}

/** Writes one finished span as a `field` entry (the `spans` field of ScopeSpans is 2). */
export function writeSpan(w: ProtoWriter, field: number, span: tracing.ReadableSpan): void {
  const message = w.begin(field);
  const context = span.spanContext();
  w.hexField(1, context.traceId);
  w.hexField(2, context.spanId);
  const state = context.traceState?.serialize();
  if (state) w.stringField(3, state);
  const parent = span.parentSpanContext;
  if (parent?.spanId) w.hexField(4, parent.spanId);
  w.stringField(5, span.name);
  w.uint32Field(6, span.kind + 1); // OTLP numbers kinds from 1; 0 is "unspecified"
  w.timeField(7, span.startTime);
  w.timeField(8, span.endTime);
  writeAttributes(w, 9, span.attributes);
  if (span.droppedAttributesCount) w.uint32Field(10, span.droppedAttributesCount);
  for (const event of span.events) {
    const at = w.begin(11);
    w.timeField(1, event.time);
    w.stringField(2, event.name);
    if (event.attributes) writeAttributes(w, 3, event.attributes);
    if (event.droppedAttributesCount) w.uint32Field(4, event.droppedAttributesCount);
    w.end(at);
  }
  if (span.droppedEventsCount) w.uint32Field(12, span.droppedEventsCount);
  for (const link of span.links) {
    const at = w.begin(13);
    writeLink(w, link);
    w.end(at);
  }
  if (span.droppedLinksCount) w.uint32Field(14, span.droppedLinksCount);
  const status = span.status;
  // Always present, as the SDK's serializer writes it: an empty status reads as UNSET.
  const statusAt = w.begin(15);
  if (status.message) w.stringField(2, status.message);
  if (status.code) w.uint32Field(3, status.code);
  w.end(statusAt);
  w.fixed32Field(16, spanFlags(context.traceFlags, parent?.isRemote));
  w.end(message);
}

/** A Resource message's fields. */
export function writeResource(w: ProtoWriter, resource: resources.Resource): void {
  writeAttributes(w, 1, resource.attributes);
}

/** An InstrumentationScope message's fields. */
export function writeScope(w: ProtoWriter, scope: tracing.ReadableSpan['instrumentationScope']): void {
  w.stringField(1, scope.name);
  if (scope.version) w.stringField(2, scope.version);
}
