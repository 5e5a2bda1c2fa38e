// With OTEL_SDK_DISABLED nothing is traced or exported, but a call's context still
// follows its awaits (the configured context manager is installed), so clients keep
// taking the served call's deadline and cancellation from it.
import { context, createContextKey, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterAll, expect, it, vi } from 'vitest';
import { setupTelemetry } from '../../src/runtime/telemetry/sdk.js';

afterAll(() => {
  vi.unstubAllEnvs();
  context.disable();
});

it('OTEL_SDK_DISABLED keeps async context propagation and records no spans', async () => {
  vi.stubEnv('OTEL_SDK_DISABLED', 'true');
  const telemetry = await setupTelemetry({ serviceName: 's', serviceVersion: '0', instanceId: 'i' });
  const key = createContextKey('probe');
  const seen = await context.with(ROOT_CONTEXT.setValue(key, 'served'), async () => {
    await new Promise((r) => setTimeout(r, 1));
    return context.active().getValue(key);
  });
  expect(seen).toBe('served');
  expect(trace.getTracer('t').startSpan('s').isRecording()).toBe(false);
  await telemetry.shutdown();
});
