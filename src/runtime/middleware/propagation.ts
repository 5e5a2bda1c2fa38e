// Adapters so OpenTelemetry propagators read and write the transport Header.
import type { TextMapGetter, TextMapSetter } from '@opentelemetry/api';
import type { Header } from '../transport/context.js';

export const headerGetter: TextMapGetter<Header> = {
  keys: (carrier) => carrier.keys(),
  get: (carrier, key) => {
    const values = carrier.values(key);
    return values.length === 0 ? undefined : values.length === 1 ? values[0] : values;
  },
};

export const headerSetter: TextMapSetter<Header> = {
  set: (carrier, key, value) => carrier.set(key, value),
};
