// Spans encoded as they end must decode to the same OTLP request the SDK's own
// serializer writes for them. Both are decoded here field by field with
// @bufbuild/protobuf's wire reader, sharing no code with either encoder; fields at
// their proto3 default are treated as absent, as a receiver treats them.
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, trace, TraceFlags } from '@opentelemetry/api';
import { ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import * as resources from '@opentelemetry/resources';
import * as tracing from '@opentelemetry/sdk-trace';
import { describe, expect, it } from 'vitest';
import { hrTimeToUint64 } from '../../src/runtime/telemetry/otlp-span-encoding.js';
import { EncodedBatch } from '../../src/runtime/telemetry/span-batcher.js';

type Kind = 'string' | 'bytes' | 'uint' | 'int64' | 'bool' | 'double' | 'fixed64' | 'fixed32' | Schema;
interface Schema {
  [field: number]: Kind;
}

const anyValue: Schema = {};
const keyValue: Schema = { 1: 'string', 2: anyValue };
Object.assign(anyValue, {
  1: 'string',
  2: 'bool',
  3: 'int64',
  4: 'double',
  5: { 1: anyValue },
  6: { 1: keyValue },
  7: 'bytes',
});
const span: Schema = {
  1: 'bytes',
  2: 'bytes',
  3: 'string',
  4: 'bytes',
  5: 'string',
  6: 'uint',
  7: 'fixed64',
  8: 'fixed64',
  9: keyValue,
  10: 'uint',
  11: { 1: 'fixed64', 2: 'string', 3: keyValue, 4: 'uint' },
  12: 'uint',
  13: { 1: 'bytes', 2: 'bytes', 3: 'string', 4: keyValue, 5: 'uint', 6: 'fixed32' },
  14: 'uint',
  15: { 2: 'string', 3: 'uint' },
  16: 'fixed32',
};
const exportRequest: Schema = {
  1: {
    1: { 1: keyValue, 2: 'uint' },
    2: { 1: { 1: 'string', 2: 'string', 3: keyValue, 4: 'uint' }, 2: span, 3: 'string' },
    3: 'string',
  },
};

type Decoded = { [field: number]: unknown[] };

function decode(bytes: Uint8Array, schema: Schema): Decoded {
  const out: Decoded = {};
  const r = new BinaryReader(bytes);
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    const kind = schema[field];
    if (kind === undefined) throw new Error(`unexpected field ${field} (wire type ${wire})`);
    let value: unknown;
    if (typeof kind === 'object') value = decode(r.bytes(), kind);
    else if (kind === 'string') value = r.string();
    else if (kind === 'bytes') value = Buffer.from(r.bytes()).toString('hex');
    else if (kind === 'uint') value = r.uint64().toString();
    else if (kind === 'int64') value = r.int64().toString();
    else if (kind === 'bool') value = r.bool();
    else if (kind === 'double') value = r.double();
    else if (kind === 'fixed64') value = r.fixed64().toString();
    else value = r.fixed32();
    if (wire === WireType.LengthDelimited && typeof kind !== 'object' && kind !== 'string' && kind !== 'bytes')
      throw new Error(`field ${field}: packed values not expected`);
    // Scalars at their default are the same as absent.
    if (value === '' || value === '0' || value === false || value === 0) continue;
    (out[field] ??= []).push(value);
  }
  return out;
}

function finishedSpans(): tracing.ReadableSpan[] {
  const exporter = new tracing.InMemorySpanExporter();
  const provider = new tracing.TracerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': 'enc', 'host.name': 'h', 'process.pid': 42 }),
    spanProcessors: [new tracing.SimpleSpanProcessor({ exporter })],
  });
  const tracer = provider.getTracer('tsk');
  const other = provider.getTracer('library', '1.2.3');

  const root = tracer.startSpan('/shop.v1.Shop/GetItem', {
    kind: SpanKind.SERVER,
    attributes: { 'rpc.system': 'grpc', 'server.port': 9000 },
  });
  root.setAttributes({
    ratio: 0.25,
    negative: -7,
    big: 2 ** 40,
    flag: true,
    off: false,
    empty: '',
    list: ['a', 'b'],
    numbers: [1, 2.5, -3],
    unicode: 'grüße, 世界',
    long: 'x'.repeat(300),
    // The extended values of @opentelemetry/api 1.10.
    map: { route: '/v1/items/{id}', nested: { ok: true, n: 3 }, list: [1, 'two'] },
    bytes: new Uint8Array([0, 1, 254, 255]),
    mixed: ['a', 1, 2.5, false, null],
    nothing: null,
  });
  root.recordException(new Error('boom'));
  root.addEvent('checkpoint', { step: 2 });
  root.setStatus({ code: SpanStatusCode.ERROR, message: 'it failed' });
  const parent = trace.setSpan(ROOT_CONTEXT, root);
  const child = other.startSpan(
    'child',
    {
      kind: SpanKind.CLIENT,
      links: [
        {
          context: { traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), traceFlags: TraceFlags.SAMPLED, isRemote: true },
          attributes: { why: 'retry' },
        },
      ],
    },
    parent,
  );
  child.end();
  root.end();

  // A remote parent with trace state, as a traceparent header would give.
  const remote = trace.setSpanContext(ROOT_CONTEXT, {
    traceId: '0af7651916cd43dd8448eb211c80319c',
    spanId: 'b7ad6b7169203331',
    traceFlags: TraceFlags.SAMPLED,
    isRemote: true,
    traceState: new (class {
      serialize() {
        return 'vendor=value';
      }
      get() {
        return undefined;
      }
      set() {
        return this;
      }
      unset() {
        return this;
      }
    })(),
  });
  tracer.startSpan('/shop.v1.Shop/List', { kind: SpanKind.SERVER }, remote).end();
  tracer.startSpan('ok', {}).setStatus({ code: SpanStatusCode.OK }).end();
  return exporter.getFinishedSpans();
}

describe('OTLP span encoding', () => {
  it('decodes to what the SDK serializer writes for the same spans', () => {
    const spans = finishedSpans();
    expect(spans).toHaveLength(4);
    const batch = new EncodedBatch();
    for (const s of spans) batch.add(s);
    expect(batch.spanCount).toBe(4);

    const ours = decode(batch.toRequest(), exportRequest);
    const sdk = decode(ProtobufTraceSerializer.serializeRequest(spans)!, exportRequest);
    expect(ours).toEqual(sdk);

    // And the comparison is not vacuous: two scopes, their spans, events, links and the remote parent are there.
    const scopes = (ours[1]![0] as Decoded)[2] as Decoded[];
    const spansOf = (name: string) => scopes.find((s) => (s[1]![0] as Decoded)[1]![0] === name)![2] as Decoded[];
    expect(spansOf('library').map((sp) => sp[5]![0])).toEqual(['child']);
    expect(spansOf('tsk').map((sp) => sp[5]![0])).toEqual(['/shop.v1.Shop/GetItem', '/shop.v1.Shop/List', 'ok']);
    const [root, remoteChild] = spansOf('tsk');
    expect(root![11]).toHaveLength(2); // the exception and the checkpoint
    expect(remoteChild![3]).toEqual(['vendor=value']);
    expect(remoteChild![16]).toEqual([0x301]); // sampled, parent is remote
    expect(spansOf('library')[0]![13]).toHaveLength(1);
  });

  it('encodes batches that span several encoding runs, in the order the spans ended', () => {
    // 4 spans a round: 75 spans are two full runs of 32 and a partial one.
    const spans = Array.from({ length: 19 }, () => finishedSpans())
      .flat()
      .slice(0, 75);
    const batch = new EncodedBatch();
    for (const s of spans) batch.add(s);
    expect(batch.spanCount).toBe(75);
    const ours = decode(batch.toRequest(), exportRequest);
    expect(ours).toEqual(decode(ProtobufTraceSerializer.serializeRequest(spans)!, exportRequest));
    // Each round has its own provider, so its own resource.
    const scopes = (ours[1] as Decoded[]).flatMap((resourceSpans) => resourceSpans[2] as Decoded[]);
    expect(scopes.reduce((n, s) => n + (s[2]?.length ?? 0), 0)).toBe(75);
  });

  it('writes times as exact 64-bit nanoseconds', () => {
    for (const time of [
      [0, 0],
      [1, 1],
      [1_700_000_000, 999_999_999],
      [4_294_967_295, 123_456_789],
      [12_345_678_901, 5],
    ] as const) {
      const [lo, hi] = hrTimeToUint64([time[0], time[1]]);
      expect((BigInt(hi) << 32n) + BigInt(lo), String(time)).toBe(BigInt(time[0]) * 1_000_000_000n + BigInt(time[1]));
    }
  });
});
