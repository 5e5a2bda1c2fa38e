// The tracing middleware's own sampling decisions must be the ones the SDK's
// parent-based ratio sampler would make, and the spans they let through must be
// exported exactly once. Spans are received by the test's own OTLP receiver.
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  trace,
  TraceFlags,
  type Context as OtelContext,
} from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTelemetry, type Telemetry } from '../../src/runtime/telemetry/sdk.js';
import { middlewareSampling } from '../../src/runtime/telemetry/presample.js';
import { OTEL_CONTEXT, otelContext, tracingClient, tracingServer } from '../../src/runtime/middleware/tracing.js';
import { backgroundContext, HeaderMap, type Context } from '../../src/runtime/transport/context.js';
import { OtlpReceiver } from '../helpers/otlp.js';
import { observed } from '../helpers/observed.js';

const receiver = new OtlpReceiver();
let telemetry: Telemetry;

beforeAll(async () => {
  await receiver.start();
  telemetry = await setupTelemetry({
    serviceName: 'sampling',
    serviceVersion: '1',
    instanceId: 's-1',
    otlp: { endpoint: receiver.endpoint },
    samplingRatio: 0.5,
    contextPropagation: 'explicit',
  });
});

afterAll(async () => {
  await telemetry?.shutdown();
  receiver.stop();
});

const call = (operation: string, traceparent?: string, tracestate?: string): Context => {
  const requestHeader = new HeaderMap();
  if (traceparent) requestHeader.set('traceparent', traceparent);
  if (tracestate) requestHeader.set('tracestate', tracestate);
  return backgroundContext({
    kind: 'grpc',
    endpoint: '127.0.0.1:9000',
    operation,
    requestHeader,
    replyHeader: new HeaderMap(),
  });
};

const spanContextOf = (ctx: Context) => trace.getSpanContext(ctx.values.get(OTEL_CONTEXT) as never)!;

describe('sampling in the tracing middleware', () => {
  it('is enabled by setupTelemetry with its ratio', () => {
    expect(middlewareSampling()).toBe(0.5);
  });

  it('samples new traces at the configured ratio, each sampled span exported once', async () => {
    const seen: Context[] = [];
    const handler = observed(tracingServer(), async (ctx) => void seen.push(ctx));
    const calls = 400;
    for (let i = 0; i < calls; i++) await handler(call('/sampling.v1.S/Root'), {});
    await telemetry.forceFlush();
    const sampled = seen.filter((ctx) => (spanContextOf(ctx).traceFlags & TraceFlags.SAMPLED) !== 0);
    // At 0.5, 400 calls sample 200 +- 10 (one standard deviation); a decision taken twice
    // (0.25) or skipped (1) lands far outside these bounds.
    expect(sampled.length).toBeGreaterThan(140);
    expect(sampled.length).toBeLessThan(260);
    const exported = receiver.spans.filter((s) => s.name === '/sampling.v1.S/Root');
    expect(exported.map((s) => s.spanId).sort()).toEqual(sampled.map((ctx) => spanContextOf(ctx).spanId).sort());
    // Unsampled calls still carry valid, distinct ids for logs and downstream calls.
    const ids = new Set(seen.map((ctx) => spanContextOf(ctx).traceId));
    expect(ids.size).toBe(calls);
    expect(new Set(seen.map((ctx) => spanContextOf(ctx).spanId)).size).toBe(calls);
    for (const ctx of seen) expect(spanContextOf(ctx).traceId).toMatch(/^[0-9a-f]{32}$/);
    for (const ctx of seen) expect(spanContextOf(ctx).spanId).toMatch(/^[0-9a-f]{16}$/);
  });

  it("follows the caller's flag and keeps its trace id", async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const seen: Context[] = [];
    const handler = observed(tracingServer(), async (ctx) => void seen.push(ctx));
    for (let i = 0; i < 20; i++)
      await handler(call('/sampling.v1.S/Unsampled', `00-${traceId}-00f067aa0ba902b7-00`), {});
    for (let i = 0; i < 20; i++) await handler(call('/sampling.v1.S/Sampled', `00-${traceId}-00f067aa0ba902b7-01`), {});
    await telemetry.forceFlush();
    expect(seen.slice(0, 20).every((ctx) => spanContextOf(ctx).traceFlags === TraceFlags.NONE)).toBe(true);
    expect(seen.slice(20).every((ctx) => spanContextOf(ctx).traceFlags === TraceFlags.SAMPLED)).toBe(true);
    expect(seen.every((ctx) => spanContextOf(ctx).traceId === traceId)).toBe(true);
    expect(receiver.spans.filter((s) => s.name === '/sampling.v1.S/Unsampled')).toEqual([]);
    const sampled = receiver.spans.filter((s) => s.name === '/sampling.v1.S/Sampled');
    expect(sampled).toHaveLength(20);
    expect(sampled.every((s) => s.parentSpanId === '00f067aa0ba902b7')).toBe(true);
  });

  it("records a sampled call's span itself, with the SDK's spans the handler starts as its children", async () => {
    const traceId = '7bf92f3577b34da6a3ce929d0e0e4700';
    const handler = observed(tracingServer(), async (ctx) => {
      const child = trace.getTracer('app').startSpan('db.query', {}, otelContext(ctx));
      child.setAttribute('db.system.name', 'postgresql');
      child.end();
    });
    await handler(call('/sampling.v1.S/Parent', `00-${traceId}-00f067aa0ba902b7-01`, 'vendor=opaque'), {});
    await telemetry.forceFlush();
    const server = receiver.spans.find((s) => s.name === '/sampling.v1.S/Parent');
    const child = receiver.spans.find((s) => s.name === 'db.query' && s.traceId === traceId);
    expect(server).toMatchObject({
      traceId,
      parentSpanId: '00f067aa0ba902b7',
      traceState: 'vendor=opaque',
      scope: 'tsk',
      kind: 2,
      serviceName: 'sampling',
    });
    expect(server!.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.service': 'sampling.v1.S',
      'rpc.method': 'Parent',
      'rpc.grpc.status_code': 0,
    });
    expect(child).toMatchObject({
      traceId,
      parentSpanId: server!.spanId,
      traceState: 'vendor=opaque',
      scope: 'app',
      serviceName: 'sampling',
    });
    expect(child!.attributes).toEqual({ 'db.system.name': 'postgresql' });
  });

  it('propagates an unsampled decision to outgoing calls', async () => {
    const outgoing = call('/sampling.v1.S/Down');
    const server = observed(tracingServer(), async (ctx) => {
      outgoing.values.set(OTEL_CONTEXT, ctx.values.get(OTEL_CONTEXT));
      await observed(tracingClient(), async () => undefined)(outgoing, {});
    });
    await server(call('/sampling.v1.S/Up', '00-5bf92f3577b34da6a3ce929d0e0e4799-00f067aa0ba902b7-00'), {});
    expect(outgoing.transport.requestHeader.get('traceparent')).toMatch(
      /^00-5bf92f3577b34da6a3ce929d0e0e4799-[0-9a-f]{16}-00$/,
    );
  });

  it("gives an unsampled call a context that keeps the caller's values and takes new ones", async () => {
    const header = call('/sampling.v1.S/Values', '00-6bf92f3577b34da6a3ce929d0e0e4711-00f067aa0ba902b7-00');
    header.transport.requestHeader.set('baggage', 'tenant=acme');
    let otel: OtelContext | undefined;
    await observed(tracingServer(), async (ctx) => void (otel = ctx.values.get(OTEL_CONTEXT) as OtelContext))(
      header,
      {},
    );
    const own = trace.getSpanContext(otel!)!;
    expect(own).toMatchObject({ traceId: '6bf92f3577b34da6a3ce929d0e0e4711', traceFlags: TraceFlags.NONE });
    expect(own.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(own.spanId).not.toBe('00f067aa0ba902b7');
    expect(trace.getSpan(otel!)).toBe(trace.getSpan(otel!)); // one span object per call
    expect(propagation.getBaggage(otel!)?.getEntry('tenant')?.value).toBe('acme');

    // Adding a value leaves the call's context as it was and keeps span and baggage.
    const key = createContextKey('user value');
    const added = otel!.setValue(key, 42);
    expect(added.getValue(key)).toBe(42);
    expect(otel!.getValue(key)).toBeUndefined();
    expect(trace.getSpanContext(added)).toEqual(own);
    expect(propagation.getBaggage(added)?.getEntry('tenant')?.value).toBe('acme');
    expect(trace.getSpan(trace.deleteSpan(otel!))).toBeUndefined();
    expect(trace.getSpanContext(otel!)).toEqual(own);
  });
});

describe("the 'explicit' context manager", () => {
  it('holds a context for the synchronous extent of context.with only', async () => {
    const key = createContextKey('test');
    const inner = ROOT_CONTEXT.setValue(key, 'v');
    let during: unknown;
    let afterAwait: unknown;
    await context.with(inner, async () => {
      during = context.active().getValue(key);
      await null;
      afterAwait = context.active().getValue(key);
    });
    expect(during).toBe('v');
    // Async continuations do not inherit it: call contexts carry trace context instead.
    expect(afterAwait).toBeUndefined();
    expect(context.active()).toBe(ROOT_CONTEXT);
  });
});
