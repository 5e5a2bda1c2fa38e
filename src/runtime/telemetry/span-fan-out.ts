// One span processor standing for several: the spans the tracing middleware records
// itself (recorded-span.ts) go to one processor, and with more than one exporter
// configured (otlp,zipkin) each of them must see every span.
import type { Context } from '@opentelemetry/api';
import type * as tracing from '@opentelemetry/sdk-trace';

/** A processor handing each span to all of `processors` in turn; the only one when there is one. */
export function spanFanOut(processors: readonly tracing.SpanProcessor[]): tracing.SpanProcessor {
  if (processors.length === 1) return processors[0]!;
  return {
    onStart(span: tracing.Span, parentContext: Context) {
      for (const processor of processors) processor.onStart(span, parentContext);
    },
    onEnd(span: tracing.ReadableSpan) {
      for (const processor of processors) processor.onEnd(span);
    },
    async forceFlush() {
      await Promise.all(processors.map((processor) => processor.forceFlush()));
    },
    async shutdown() {
      await Promise.all(processors.map((processor) => processor.shutdown()));
    },
  };
}
