// The sampler setupTelemetry installs: the SDK's parent-based ratio sampling, with
// the ratio kept readable so the tracing middleware can make the same decisions
// itself (see presample.ts).
import type { Attributes, Context, Link, SpanKind } from '@opentelemetry/api';
import { tracing } from '@opentelemetry/sdk-node';

export class ParentBasedRatioSampler implements tracing.Sampler {
  private readonly delegate: tracing.Sampler;

  constructor(readonly ratio: number) {
    this.delegate = new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(ratio) });
  }

  shouldSample(context: Context, traceId: string, name: string, kind: SpanKind, attributes: Attributes, links: Link[]): tracing.SamplingResult {
    return this.delegate.shouldSample(context, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `ParentBasedRatio{${this.ratio}}`;
  }
}
