// The priority sampler keeps marked calls whatever the caller decided, and never
// samples a span whose parent in this process was dropped (that trace would be
// exported without its root).
import { ROOT_CONTEXT, SamplingDecision, SpanKind, trace, TraceFlags, type SpanContext } from '@opentelemetry/api';
import { describe, expect, it } from 'vitest';
import { PrioritySampler } from '../../src/runtime/telemetry/priority-sampler.js';

const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';
const marked = { 'http.request.header.x-priority': ['high'] };
const under = (parent: SpanContext) => trace.setSpanContext(ROOT_CONTEXT, parent);
const parent = (isRemote: boolean, sampled: boolean): SpanContext => ({
  traceId: TRACE,
  spanId: '00f067aa0ba902b7',
  traceFlags: sampled ? TraceFlags.SAMPLED : TraceFlags.NONE,
  isRemote,
});

describe('PrioritySampler', () => {
  const sampler = new PrioritySampler({ ratio: 0 });
  const decide = (context = ROOT_CONTEXT, attributes = {}) =>
    sampler.shouldSample(context, TRACE, 'GET /v1/items', SpanKind.SERVER, attributes, []).decision;

  it('samples a marked call at the root or under a caller that did not sample it', () => {
    expect(decide(ROOT_CONTEXT, marked)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
    expect(decide(under(parent(true, false)), marked)).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it('samples other calls at the ratio, following a caller', () => {
    expect(decide()).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(under(parent(true, true)))).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });

  it("follows a parent span of this process, marked or not (an instrumentation's server span above tsk's)", () => {
    expect(decide(under(parent(false, false)), marked)).toBe(SamplingDecision.NOT_RECORD);
    expect(decide(under(parent(false, true)))).toBe(SamplingDecision.RECORD_AND_SAMPLED);
  });
});
