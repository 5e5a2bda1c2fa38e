// The sampler setupTelemetry installs: the SDK's parent-based ratio sampling, plus
// the root decisions the tracing middleware has already made (see presample.ts).
import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';
import { ROOT_SAMPLED } from './presample.js';

/** Parent-based ratio sampling, as the SDK's, that also honours the middleware's root decision. */
export class ParentBasedRatioSampler implements tracing.Sampler {
  private readonly delegate: tracing.Sampler;

  constructor(readonly ratio: number) {
    this.delegate = new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(ratio) });
  }

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): tracing.SamplingResult {
    if (context.getValue(ROOT_SAMPLED) === true) return { decision: tracing.SamplingDecision.RECORD_AND_SAMPLED };
    return this.delegate.shouldSample(context, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `ParentBasedRatio{${this.ratio}}`;
  }
}

