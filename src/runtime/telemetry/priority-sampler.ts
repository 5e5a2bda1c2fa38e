// A sampler that always keeps the calls a caller marks as important and samples
// the rest at a ratio: a request header (`x-priority: high`) is recorded as a start
// attribute of the server span (TelemetryOptions.captureRequestHeaders), where the
// sampler reads it. Spans below a span of this process follow its decision, so a trace
// is never exported without its root: under HttpInstrumentation's server span, the
// header must reach that span too (its headersToSpanAttributes), or it decides alone.
import { SamplingDecision, trace, type Attributes, type Context, type Link, type SpanKind } from '@opentelemetry/api';
import * as tracing from '@opentelemetry/sdk-trace';

export interface PrioritySamplerOptions {
  /** The request header that marks priority (lower-case); default `x-priority`. */
  header?: string | undefined;
  /** The header value that means "always sample"; default `high`. */
  value?: string | undefined;
  /** Share of the other new traces sampled; a caller's decision is followed. Default 1. */
  ratio?: number | undefined;
}

export class PrioritySampler implements tracing.Sampler {
  private readonly keys: string[];
  private readonly value: string;
  private readonly rest: tracing.Sampler;

  constructor(options: PrioritySamplerOptions = {}) {
    const header = (options.header ?? 'x-priority').toLowerCase();
    this.keys = [`http.request.header.${header}`, `rpc.grpc.request.metadata.${header}`];
    this.value = options.value ?? 'high';
    this.rest = new tracing.ParentBasedSampler({ root: new tracing.TraceIdRatioBasedSampler(options.ratio ?? 1) });
  }

  /** The header the sampler reads: pass it to TelemetryOptions.captureRequestHeaders. */
  get header(): string {
    return this.keys[0]!.slice('http.request.header.'.length);
  }

  shouldSample(
    context: Context,
    traceId: string,
    name: string,
    kind: SpanKind,
    attributes: Attributes,
    links: Link[],
  ): tracing.SamplingResult {
    const parent = trace.getSpanContext(context);
    if (parent && !parent.isRemote) return this.rest.shouldSample(context, traceId, name, kind, attributes, links);
    for (const key of this.keys) {
      const v = attributes[key];
      if (v === this.value || (Array.isArray(v) && (v as unknown[]).includes(this.value)))
        return { decision: SamplingDecision.RECORD_AND_SAMPLED };
    }
    return this.rest.shouldSample(context, traceId, name, kind, attributes, links);
  }

  toString(): string {
    return `PrioritySampler{${this.header}=${this.value}, else ${this.rest.toString()}}`;
  }
}
