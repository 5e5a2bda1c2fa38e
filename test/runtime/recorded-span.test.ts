// The middleware's own span must behave as the SDK's span does. Every case runs the
// same operations on an SDK span and on a RecordedSpan with the same limits, and
// compares what each hands its span processor at end().
import { ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, type Span, type SpanContext } from '@opentelemetry/api';
import * as resources from '@opentelemetry/resources';
import * as tracing from '@opentelemetry/sdk-trace';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { RecordedSpan, spanLimitsFromEnv, type RecordedSpanLimits } from '../../src/runtime/telemetry/recorded-span.js';

const LIMITS: RecordedSpanLimits = {
  attributeCountLimit: 3,
  attributeValueLengthLimit: 5,
  eventCountLimit: 2,
  linkCountLimit: 2,
  attributePerEventCountLimit: 2,
  attributePerLinkCountLimit: 1,
};

const resource = resources.resourceFromAttributes({ 'service.name': 'recorded' });
const scope = { name: 'tsk' };
const PARENT: SpanContext = {
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  spanId: '00f067aa0ba902b7',
  traceFlags: TraceFlags.SAMPLED,
  isRemote: true,
};

/** Ended spans as their processor sees them, without ids and the times the two clocks give. */
function endedSpans(run: (span: Span) => void, limits: RecordedSpanLimits = LIMITS) {
  const ended: tracing.ReadableSpan[] = [];
  const processor: tracing.SpanProcessor = {
    onStart: () => {},
    onEnd: (span) => void ended.push(span),
    forceFlush: async () => {},
    shutdown: async () => {},
  };

  const provider = new tracing.TracerProvider({ resource, spanLimits: limits, spanProcessors: [processor] });
  const sdkSpan = provider.getTracer(scope.name).startSpan('op', { kind: SpanKind.SERVER }, ROOT_CONTEXT);
  const recorded = new RecordedSpan(
    { resource, scope, limits, processor },
    'op',
    SpanKind.SERVER,
    { ...PARENT, spanId: 'b7ad6b7169203331', isRemote: false },
    PARENT,
  );
  for (const span of [sdkSpan, recorded]) run(span);
  return ended.map((span) => ({
    name: span.name,
    kind: span.kind,
    attributes: span.attributes,
    droppedAttributesCount: span.droppedAttributesCount,
    events: span.events,
    droppedEventsCount: span.droppedEventsCount,
    links: span.links,
    droppedLinksCount: span.droppedLinksCount,
    status: span.status,
    ended: span.ended,
    resource: span.resource.attributes,
    scope: span.instrumentationScope.name,
  }));
}

function expectSame(run: (span: Span) => void, limits?: RecordedSpanLimits) {
  const [sdk, recorded] = endedSpans(run, limits);
  expect(sdk).toBeDefined();
  expect(recorded).toEqual(sdk);
  return recorded!;
}

const at = (seconds: number): [number, number] => [seconds, 250_000_000];

describe('RecordedSpan, side by side with the SDK span', () => {
  it('keeps attributes within the count and length limits, dropping invalid ones', () => {
    const span = expectSame((s) => {
      s.setAttributes({ 'http.route': '/v1/items/{id}', code: 200, ok: true, tags: ['alpha', 'betagamma'] });
      s.setAttribute('code', 404); // an existing key is replaced, not counted again
      s.setAttribute('', 'empty key');
      s.setAttribute('bad', { nested: true } as never);
      s.setAttribute('nothing', undefined as never);
      s.setAttribute('late', 'x');
      s.end();
    });
    expect(span.attributes).toEqual({ 'http.route': '/v1/i', code: 404, ok: true });
    // tags, bad and late found the limit reached; the empty key and undefined are not counted.
    expect(span.droppedAttributesCount).toBe(3);
  });

  it('keeps the extended values OpenTelemetry accepts (maps, bytes, mixed lists, null), truncated alike', () => {
    const span = expectSame(
      (s) => {
        s.setAttribute('map', { route: '/v1/items/{id}', nested: { ok: true }, gone: undefined });
        s.setAttribute('bytes', new Uint8Array([1, 2, 3, 4, 5, 6, 7]));
        s.setAttribute('mixed', ['abcdefgh', 1, null]);
        s.setAttribute('empty', null);
        s.setAttribute('date', new Date(0));
        s.addEvent('event', { map: { a: 1 }, kept: 'abcdefgh' }, at(1_700_000_001));
        s.addLink({ context: PARENT, attributes: { map: { a: 'abcdefgh' } } });
        s.end();
      },
      { ...LIMITS, attributeCountLimit: 10, attributeValueLengthLimit: 5 },
    );
    expect(span.attributes).toEqual({
      map: { route: '/v1/i', nested: { ok: true } },
      bytes: new Uint8Array([1, 2, 3, 4, 5]),
      mixed: ['abcde', 1, null],
      empty: null,
    });
    expect(span.events[0]?.attributes).toEqual({ kept: 'abcde' });
    expect(span.links[0]?.attributes).toEqual({ map: { a: 'abcde' } });
  });

  it('records events with their own limits and the times given in any form', () => {
    const span = expectSame((s) => {
      s.addEvent('first', at(1_700_000_001));
      s.addEvent('second', { a: 'long value', b: 2, c: 3 }, new Date(1_700_000_002_000));
      s.addEvent('third', { only: 1 }, 1_700_000_003_000);
      s.end();
    });
    expect(span.events.map((e) => e.name)).toEqual(['second', 'third']);
    expect(span.droppedEventsCount).toBe(1);
    expect(span.events[0]).toMatchObject({
      attributes: { a: 'long ', b: 2 },
      droppedAttributesCount: 1,
      time: [1_700_000_002, 0],
    });
  });

  it('records links with their attribute limit, the oldest giving way', () => {
    const link = (n: number) => ({ context: { ...PARENT, spanId: `00000000000000${n}${n}` }, attributes: { n, m: n } });
    const span = expectSame((s) => {
      s.addLink(link(1));
      s.addLinks([link(2), link(3), { context: PARENT }]);
      s.end();
    });
    expect(span.links).toHaveLength(2);
    expect(span.droppedLinksCount).toBe(2);
  });

  it('keeps no events or links when their limits are 0, counting each as dropped', () => {
    const span = expectSame(
      (s) => {
        s.addEvent('dropped');
        s.addLink({ context: PARENT });
        s.addEvent('dropped too');
        s.end();
      },
      { ...LIMITS, eventCountLimit: 0, linkCountLimit: 0 },
    );
    expect(span).toMatchObject({ events: [], links: [], droppedEventsCount: 2, droppedLinksCount: 1 });
  });

  it('records exceptions as events with the semantic-convention attributes', () => {
    const limits = {
      ...LIMITS,
      attributeValueLengthLimit: Infinity,
      eventCountLimit: 10,
      attributePerEventCountLimit: 10,
    };
    const error = new TypeError('bad input');
    const span = expectSame((s) => {
      s.recordException(error, at(1_700_000_004));
      s.recordException('plain message', at(1_700_000_005));
      s.recordException({ code: 42, message: 'coded' }, at(1_700_000_006));
      s.recordException({} as never, at(1_700_000_007)); // nothing to record
      s.end();
    }, limits);
    expect(span.events.map((e) => e.attributes)).toEqual([
      { 'exception.type': 'TypeError', 'exception.message': 'bad input', 'exception.stacktrace': error.stack },
      { 'exception.message': 'plain message' },
      { 'exception.type': '42', 'exception.message': 'coded' },
    ]);
  });

  it('applies the status rules: UNSET changes nothing, OK is final, only ERROR keeps a message', () => {
    expect(
      expectSame((s) => {
        s.setStatus({ code: SpanStatusCode.ERROR, message: 'failed' });
        s.setStatus({ code: SpanStatusCode.UNSET });
        s.end();
      }).status,
    ).toEqual({ code: SpanStatusCode.ERROR, message: 'failed' });
    expect(
      expectSame((s) => {
        s.setStatus({ code: SpanStatusCode.OK, message: 'dropped' });
        s.setStatus({ code: SpanStatusCode.ERROR, message: 'too late' });
        s.end();
      }).status,
    ).toEqual({ code: SpanStatusCode.OK });
  });

  it('ignores changes after end and ends once', () => {
    const span = expectSame((s) => {
      s.updateName('renamed');
      s.end();
      s.end();
      s.updateName('after end');
      s.setAttribute('after', 'end');
      s.addEvent('after end');
      s.setStatus({ code: SpanStatusCode.ERROR });
    });
    expect(span).toMatchObject({
      name: 'renamed',
      attributes: {},
      events: [],
      status: { code: SpanStatusCode.UNSET },
      ended: true,
    });
  });
});

describe('RecordedSpan', () => {
  it('is timed from the wall clock at its start, ending after it', async () => {
    const ended: tracing.ReadableSpan[] = [];
    const processor = {
      onStart: () => {},
      onEnd: (s: tracing.ReadableSpan) => void ended.push(s),
      forceFlush: async () => {},
      shutdown: async () => {},
    };
    const before = Date.now();
    const span = new RecordedSpan(
      { resource, scope, limits: LIMITS, processor },
      'timed',
      SpanKind.CLIENT,
      PARENT,
      undefined,
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(span.isRecording()).toBe(true);
    span.end();
    expect(span.isRecording()).toBe(false);
    const [startSeconds, startNanos] = span.startTime;
    const startMs = startSeconds * 1000 + startNanos / 1e6;
    expect(startMs).toBeGreaterThanOrEqual(before);
    expect(startMs).toBeLessThan(before + 1000);
    const durationMs = span.duration[0] * 1000 + span.duration[1] / 1e6;
    expect(durationMs).toBeGreaterThanOrEqual(15);
    expect(span.endTime[0] * 1000 + span.endTime[1] / 1e6).toBeCloseTo(startMs + durationMs, 3);
    expect(ended).toEqual([span]);
    expect(span.parentSpanContext).toBeUndefined();
  });
});

describe('spanLimitsFromEnv', () => {
  afterEach(() => vi.unstubAllEnvs());

  it("has the SDK's defaults", () => {
    expect(spanLimitsFromEnv()).toEqual({
      attributeCountLimit: 128,
      attributeValueLengthLimit: Infinity,
      eventCountLimit: 128,
      linkCountLimit: 128,
      attributePerEventCountLimit: 128,
      attributePerLinkCountLimit: 128,
    });
  });

  it("reads the spec's names first and the older span-prefixed ones after, as sdk-node does", () => {
    vi.stubEnv('OTEL_ATTRIBUTE_COUNT_LIMIT', '10');
    vi.stubEnv('OTEL_ATTRIBUTE_VALUE_LENGTH_LIMIT', '20');
    vi.stubEnv('OTEL_SPAN_EVENT_COUNT_LIMIT', '3');
    vi.stubEnv('OTEL_SPAN_LINK_COUNT_LIMIT', '4');
    vi.stubEnv('OTEL_EVENT_ATTRIBUTE_COUNT_LIMIT', '5');
    vi.stubEnv('OTEL_SPAN_ATTRIBUTE_PER_EVENT_COUNT_LIMIT', '50');
    vi.stubEnv('OTEL_SPAN_ATTRIBUTE_PER_LINK_COUNT_LIMIT', '6');
    expect(spanLimitsFromEnv()).toEqual({
      attributeCountLimit: 10,
      attributeValueLengthLimit: 20,
      eventCountLimit: 3,
      linkCountLimit: 4,
      attributePerEventCountLimit: 5,
      attributePerLinkCountLimit: 6,
    });
    vi.stubEnv('OTEL_SPAN_ATTRIBUTE_COUNT_LIMIT', '11');
    vi.stubEnv('OTEL_LINK_ATTRIBUTE_COUNT_LIMIT', '7');
    expect(spanLimitsFromEnv()).toMatchObject({ attributeCountLimit: 11, attributePerLinkCountLimit: 7 });
  });
});
