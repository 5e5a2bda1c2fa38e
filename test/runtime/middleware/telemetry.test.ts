// telemetryServer runs tracing, logging and metrics as one layer. Whatever it does,
// the nested chain of tracingServer, loggingServer and metricsServer must do too:
// both run the same calls here, and their spans (decoded by the test's OTLP
// receiver), access lines and /metrics series are compared.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupTelemetry, type Telemetry } from '../../../src/runtime/telemetry/sdk.js';
import { createLogger } from '../../../src/runtime/log/logger.js';
import { loggingServer, metricsServer, telemetryServer, tracingServer } from '../../../src/runtime/middleware/index.js';
import { newError } from '../../../src/runtime/errors/errors.js';
import { backgroundContext, HeaderMap, type Handler } from '../../../src/runtime/transport/context.js';
import { OtlpReceiver, type ReceivedSpan } from '../../helpers/otlp.js';
import { observed } from '../../helpers/observed.js';

const receiver = new OtlpReceiver();
let telemetry: Telemetry;
const logFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-telemetry-')), 'access.log');
const logger = createLogger({ name: 'fused', destination: logFile });

beforeAll(async () => {
  await receiver.start();
  // Every call sampled, so every call has a span to compare.
  telemetry = await setupTelemetry({
    serviceName: 'fused',
    serviceVersion: '1',
    instanceId: 'f-1',
    otlp: { endpoint: receiver.endpoint },
    samplingRatio: 1,
  });
});

afterAll(async () => {
  await telemetry?.shutdown();
  receiver.stop();
});

const call = (operation: string) =>
  backgroundContext({
    kind: 'grpc',
    endpoint: '127.0.0.1:9000',
    operation,
    requestHeader: new HeaderMap(),
    replyHeader: new HeaderMap(),
  });

// Each outcome a handler can have, by method name.
const outcomes: Record<string, Handler> = {
  Ok: async () => ({ ok: true }),
  NotFound: async () => {
    throw newError(404, 'USER_NOT_FOUND', 'no such user');
  },
  Crash: async () => {
    throw new TypeError('boom');
  },
  ThrowsUndefined: async () => {
    throw undefined;
  },
};

async function runAll(service: string, handlerFor: (inner: Handler) => Handler) {
  const results: unknown[] = [];
  for (const [method, inner] of Object.entries(outcomes)) {
    results.push(
      await handlerFor(inner)(call(`/t.v1.${service}/${method}`), {}).then(
        (r) => ({ ok: r }),
        (e) => ({ err: e }),
      ),
    );
  }
  return results;
}

async function scrape(): Promise<string> {
  const server = http.createServer((req, res) => telemetry.metricsHandler(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const res = await fetch(`http://127.0.0.1:${(server.address() as { port: number }).port}/metrics`);
    return await res.text();
  } finally {
    server.close();
  }
}

/** What must agree between the two: everything but ids, times, the service in the name and where errors were thrown. */
const spanShape = (s: ReceivedSpan) => ({
  ...s,
  name: s.name.replace(/\/t\.v1\.\w+\//, '/'),
  traceId: undefined,
  spanId: undefined,
  durationMs: undefined,
  attributes: { ...s.attributes, 'rpc.service': undefined },
  eventAttributes: s.eventAttributes?.map((a) => ({ ...a, 'exception.stacktrace': typeof a['exception.stacktrace'] })),
});
const lineShape = (l: Record<string, unknown>) => ({
  ...l,
  operation: String(l.operation).replace(/\/t\.v1\.\w+\//, '/'),
  time: undefined,
  latency: typeof l.latency,
  trace_id: undefined,
  span_id: undefined,
  err: l.err === undefined ? undefined : 'err',
});

describe('telemetryServer', () => {
  it('does what tracingServer, loggingServer and metricsServer nested do', async () => {
    const nested = await runAll('Nested', (inner) =>
      observed([tracingServer(), loggingServer(logger), metricsServer()], inner),
    );
    const fused = await runAll('Fused', (inner) => observed(telemetryServer(logger), inner));
    // Results and errors pass through untouched.
    expect(fused).toEqual(nested);
    expect((fused[2] as { err: unknown }).err).toBeInstanceOf(TypeError);

    await telemetry.forceFlush();
    logger.flush();
    const spansOf = (service: string) =>
      receiver.spans.filter((s) => s.name.startsWith(`/t.v1.${service}/`)).sort((a, b) => a.name.localeCompare(b.name));
    const nestedSpans = spansOf('Nested');
    const fusedSpans = spansOf('Fused');
    expect(fusedSpans).toHaveLength(Object.keys(outcomes).length);
    expect(fusedSpans.map(spanShape)).toEqual(nestedSpans.map(spanShape));
    const crash = fusedSpans.find((s) => s.name.endsWith('/Crash'))!;
    expect(crash).toMatchObject({
      statusCode: 2,
      attributes: { 'rpc.grpc.status_code': 13, 'error.type': 'TypeError' },
    });

    await new Promise((r) => setTimeout(r, 50));
    const lines = fs
      .readFileSync(logFile, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const linesOf = (service: string) => lines.filter((l) => String(l.operation).startsWith(`/t.v1.${service}/`));
    expect(linesOf('Fused').map(lineShape)).toEqual(linesOf('Nested').map(lineShape));
    expect(linesOf('Fused').map((l) => [l.code, l.reason])).toEqual([
      [200, ''],
      [404, 'USER_NOT_FOUND'],
      [500, 'UNKNOWN'],
      [500, 'UNKNOWN'],
    ]);
    // Each line names its call's span.
    for (const line of linesOf('Fused')) {
      const span = fusedSpans.find((s) => s.name === line.operation)!;
      expect([line.trace_id, line.span_id, line.trace_flags]).toEqual([span.traceId, span.spanId, '01']);
    }

    const metrics = await scrape();
    const series = (service: string) =>
      metrics
        .split('\n')
        .filter((l) => l.includes(`/t.v1.${service}/`) && !l.includes('_bucket'))
        .map((l) => l.replace(`/t.v1.${service}/`, '/').replace(/_sum(\{[^}]*\}) .*/, '_sum$1'))
        .sort();
    expect(series('Fused').length).toBeGreaterThan(0);
    expect(series('Fused')).toEqual(series('Nested'));
    expect(metrics).toContain(
      'server_requests_code_total{kind="grpc",operation="/t.v1.Fused/NotFound",code="404",reason="USER_NOT_FOUND"} 1',
    );
    // An error that is not a ServiceError is counted as the caller is answered: 500 UNKNOWN.
    expect(metrics).toContain(
      'server_requests_code_total{kind="grpc",operation="/t.v1.Fused/Crash",code="500",reason="UNKNOWN"} 1',
    );
  });
});

describe('tracingServer', () => {
  it('logs a failure with its stack as loggingServer does, so the call runner does not log it again', () => {
    expect(telemetryServer(logger).logsFailures).toBe(true);
    expect(loggingServer(logger).logsFailures).toBe(true);
  });

  it("turns a synchronous throw into the call's rejection, sampled or not", async () => {
    const throwing = (() => {
      throw new Error('sync');
    }) as unknown as Handler;
    const outcome = observed(tracingServer(), throwing)(call('/t.v1.Sync/Throw'), {});
    expect(outcome).toBeInstanceOf(Promise);
    await expect(outcome).rejects.toThrow('sync');
  });
});
