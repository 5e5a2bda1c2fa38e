// Telemetry set up, shut down and set up again in one process (a test file that starts the
// app twice): the second setup registers its own providers, with no "duplicate registration"
// error, and its metrics are served. A child process, for globals no other test has touched.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';

const module = (rel: string) => JSON.stringify(pathToFileURL(path.resolve('dist/runtime', rel)).href);

describe('setupTelemetry after a shutdown', () => {
  it('registers afresh: no duplicate registration, spans and metrics of the second setup', () => {
    const script = `
      const { setupTelemetry } = await import(${module('telemetry/sdk.js')});
      const { createLogger } = await import(${module('log/logger.js')});
      const { metrics, trace, context } = await import('@opentelemetry/api');
      const logger = createLogger({ name: 'again', destination: 1 });
      const served = async (telemetry) => {
        let text = '';
        await new Promise((resolve) => telemetry.metricsHandler({ url: '/metrics', headers: {} }, {
          statusCode: 200, setHeader() {}, writeHead() { return this; },
          end(body) { text = String(body); resolve(); },
        }));
        return text;
      };
      const spans = [];
      const processor = { onStart() {}, onEnd(s) { spans.push(s.name); }, forceFlush: async () => {}, shutdown: async () => {} };
      for (const round of [1, 2]) {
        const telemetry = await setupTelemetry({ serviceName: 'again', logger, spanProcessors: [processor], samplingRatio: 1 });
        metrics.getMeter('t').createCounter('round_' + round + '_total').add(1);
        trace.getTracer('t').startActiveSpan('span ' + round, (s) => {
          context.with(context.active(), () => s.end());
        });
        const text = await served(telemetry);
        console.log(JSON.stringify({ round, counted: text.includes('round_' + round + '_total') }));
        await telemetry.shutdown();
      }
      console.log(JSON.stringify({ spans }));`;
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      cwd: path.resolve('.'),
      encoding: 'utf8',
      env: { ...process.env, OTEL_TRACES_EXPORTER: 'none', OTEL_METRICS_EXPORTER: 'prometheus' },
    });
    const lines = out
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines.filter((l) => /duplicate registration|shutdown MeterProvider/i.test(JSON.stringify(l)))).toEqual([]);
    expect(lines).toContainEqual({ round: 1, counted: true });
    expect(lines).toContainEqual({ round: 2, counted: true });
    expect(lines).toContainEqual({ spans: ['span 1', 'span 2'] });
  });
});
