#!/usr/bin/env node
// What each middleware of the default HTTP chain costs inside a server, in CPU time
// per request over the router alone. All variants run at once, pinned to the same
// core, each under the same fixed request rate; CPU per request is read from /proc
// in consecutive windows. Running them side by side puts every variant through the
// same noise from the host, so their differences hold where one-after-the-other runs
// on a shared machine drift by more than a middleware costs. Absolute figures come
// out higher than in bench/run.js (the variants share one core's caches); the
// differences are the point. Asserts nothing.
import autocannon from 'autocannon';
import { cpuMs, defaultSamplingRatio, median, startOtlpSink, startServer } from './harness.js';

// Per variant: eight of them at this rate keep one core about two-thirds busy.
const rate = Number(process.env.BENCH_FIXED_RATE ?? 2500);
const windows = Number(process.env.BENCH_WINDOWS ?? 10);
const windowSeconds = Number(process.env.BENCH_SECONDS ?? 3);
const connections = 16;
const samplingRatio = process.env.BENCH_SAMPLING_RATIO ?? defaultSamplingRatio();

const variants = [
  { label: 'router alone', env: { BENCH_MIDDLEWARE: '' } },
  { label: 'tracing, nothing sampled', env: { BENCH_MIDDLEWARE: 'tracing', BENCH_SAMPLING_RATIO: '0' } },
  { label: `tracing, sampling ${samplingRatio}`, env: { BENCH_MIDDLEWARE: 'tracing' } },
  { label: 'logging', env: { BENCH_MIDDLEWARE: 'logging' } },
  { label: 'metrics', env: { BENCH_MIDDLEWARE: 'metrics' } },
  // The default observers run tracing, logging and metrics as one; here as three.
  { label: `three observers, sampling ${samplingRatio}`, env: { BENCH_MIDDLEWARE: 'tracing,logging,metrics' } },
  { label: `full chain, sampling ${samplingRatio}`, env: {} },
];

const sink = await startOtlpSink();
const env = {
  BENCH_OTLP_ENDPOINT: sink.endpoint,
  OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
  BENCH_SAMPLING_RATIO: samplingRatio,
};
const servers = [];
try {
  for (const v of variants) {
    const server = await startServer('http-tsk.js', { ...env, ...v.env });
    servers.push({ ...v, server, url: `http://127.0.0.1:${server.port}/helloworld/world`, cpuUs: [] });
  }
  console.log(
    `tsk middleware breakdown: ${variants.length} HTTP servers side by side, ${rate} req/s each, ${windows} windows of ${windowSeconds}s, node ${process.version}`,
  );
  await Promise.all(servers.map((s) => autocannon({ url: s.url, connections, duration: 2 }))); // warm-up
  for (let w = 0; w < windows; w++) {
    const before = servers.map((s) => cpuMs(s.server.pid));
    const results = await Promise.all(
      servers.map((s) => autocannon({ url: s.url, connections, duration: windowSeconds, overallRate: rate })),
    );
    servers.forEach((s, i) => {
      const r = results[i];
      if (r.non2xx > 0 || r.errors > 0) throw new Error(`${s.label}: ${r.non2xx} non-2xx and ${r.errors} errors`);
      const after = cpuMs(s.server.pid);
      if (before[i] !== undefined && after !== undefined) s.cpuUs.push(((after - before[i]) * 1000) / r.requests.total);
    });
  }
} finally {
  await Promise.all(servers.map((s) => s.server.stop()));
  sink.close();
}

const base = servers[0];
if (base.cpuUs.length === 0) throw new Error('no CPU readings: /proc/<pid>/stat is needed (Linux)');
console.log(`\n${'variant'.padEnd(34)}${'CPU us/req'.padEnd(14)}over router alone (median of windows)`);
for (const s of servers) {
  // Differences are taken window by window, against the router measured in the same seconds.
  const over = median(s.cpuUs.map((x, i) => x - base.cpuUs[i]));
  console.log(
    `${s.label.padEnd(34)}${median(s.cpuUs).toFixed(1).padEnd(14)}${s === base ? '-' : `${over >= 0 ? '+' : ''}${over.toFixed(1)}`}`,
  );
}
