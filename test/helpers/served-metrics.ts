// What a telemetry setup's /metrics handler serves, read over HTTP as a scraper reads it.
import http from 'node:http';
import type { Telemetry } from '../../src/runtime/telemetry/sdk.js';

export async function servedMetrics(telemetry: Pick<Telemetry, 'metricsHandler'>): Promise<string> {
  const server = http.createServer((req, res) => telemetry.metricsHandler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as { port: number }).port;
    return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  } finally {
    server.close();
  }
}
