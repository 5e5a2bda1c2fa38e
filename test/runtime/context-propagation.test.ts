// contextPropagation: 'async-local-storage' brings back the SDK's own context manager,
// for services that add auto-instrumentations needing context across awaits.
import { context, createContextKey, ROOT_CONTEXT } from '@opentelemetry/api';
import { afterAll, describe, expect, it } from 'vitest';
import { setupTelemetry, type Telemetry } from '../../src/runtime/telemetry/sdk.js';

let telemetry: Telemetry | undefined;
afterAll(async () => telemetry?.shutdown());

describe("contextPropagation: 'async-local-storage'", () => {
  it('keeps the active context across awaits', async () => {
    telemetry = await setupTelemetry({ serviceName: 'als', serviceVersion: '1', instanceId: 'a', contextPropagation: 'async-local-storage' });
    const key = createContextKey('test');
    let afterAwait: unknown;
    await context.with(ROOT_CONTEXT.setValue(key, 'v'), async () => {
      await new Promise((r) => setTimeout(r, 1));
      afterAwait = context.active().getValue(key);
    });
    expect(afterAwait).toBe('v');
  });
});
