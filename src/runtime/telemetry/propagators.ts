// The propagators OTEL_PROPAGATORS names (tracecontext and baggage by default), as the
// OpenTelemetry SDK configuration specifies them. B3 is imported only when named, so a
// service that uses the W3C defaults never loads it. Like the SDK since 3.0, there is no
// Jaeger propagator: `jaeger` is warned about as unknown.

import { diag, type TextMapPropagator } from '@opentelemetry/api';
import {
  CompositePropagator,
  getStringListFromEnv,
  W3CBaggagePropagator,
  W3CTraceContextPropagator,
} from '@opentelemetry/core';

type Factory = () => Promise<TextMapPropagator>;

const FACTORIES: Record<string, Factory> = {
  tracecontext: async () => new W3CTraceContextPropagator(),
  baggage: async () => new W3CBaggagePropagator(),
  b3: async () => new (await import('@opentelemetry/propagator-b3')).B3Propagator(),
  b3multi: async () => {
    const { B3Propagator, B3InjectEncoding } = await import('@opentelemetry/propagator-b3');
    return new B3Propagator({ injectEncoding: B3InjectEncoding.MULTI_HEADER });
  },
};

/**
 * The global propagator to install: the W3C pair when OTEL_PROPAGATORS is unset or blank,
 * null (install none) for `none` or when no named propagator is known.
 */
export async function propagatorFromEnv(): Promise<TextMapPropagator | null> {
  const listed = getStringListFromEnv('OTEL_PROPAGATORS');
  if (listed === undefined) {
    return new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] });
  }
  const names = [...new Set(listed)];
  if (names.includes('none')) return null;
  const known: TextMapPropagator[] = [];
  for (const name of names) {
    const make = Object.hasOwn(FACTORIES, name) ? FACTORIES[name] : undefined;
    if (make) known.push(await make());
    else diag.warn(`unknown propagator from "OTEL_PROPAGATORS": "${name}"`);
  }
  if (known.length === 0) return null;
  return known.length === 1 ? known[0]! : new CompositePropagator({ propagators: known });
}
