#!/usr/bin/env node
// What each observer of the default chain costs inside a server, in CPU time
// per request over the router alone. All variants run at once, pinned to the same
// core, each under the same fixed request rate; CPU per request is read from /proc
// in consecutive windows. Running them side by side puts every variant through the
// same noise from the host, so their differences hold where one-after-the-other runs
// on a shared machine drift by more than a middleware costs. Absolute figures come
// out higher than in bench/run.js (the variants share one core's caches); the
// differences are the point. BENCH_ONLY=grpc measures the gRPC server (load from
// h2load) instead of the HTTP one. Asserts nothing.
import autocannon from 'autocannon';
import { H2loadNoSummary, h2loadGreeter, h2loadInstalled } from './h2load.js';
import { cpuMs, defaultSamplingRatio, median, serverNodeVersion, startOtlpSink, startServer } from './harness.js';

// Per variant: eight of them at this rate keep one core about two-thirds busy.
const rate = Number(process.env.BENCH_FIXED_RATE ?? 2500);
const windows = Number(process.env.BENCH_WINDOWS ?? 10);
const windowSeconds = Number(process.env.BENCH_SECONDS ?? 3);
const connections = 16;
const samplingRatio = process.env.BENCH_SAMPLING_RATIO ?? defaultSamplingRatio();
const grpc = process.env.BENCH_ONLY === 'grpc';
if (grpc && !h2loadInstalled) throw new Error('BENCH_ONLY=grpc needs h2load (apt-get install nghttp2-client)');
const script = grpc ? 'grpc-tsk.js' : 'http-tsk.js';

/** `duration` seconds of calls to one server, at `rate` calls/s when given; the number of calls answered. */
async function load(server, duration, rate) {
  if (grpc) {
    const r = await h2loadGreeter(server.server.port, { duration, clients: 2, streams: connections / 2, rate });
    return r.requests;
  }
  const r = await autocannon({ url: server.url, connections, duration, ...(rate ? { overallRate: rate } : {}) });
  if (r.non2xx > 0 || r.errors > 0) throw new Error(`${server.label}: ${r.non2xx} non-2xx and ${r.errors} errors`);
  return r.requests.total;
}

const allVariants = [
  { key: 'router', label: 'router alone', env: { BENCH_MIDDLEWARE: '' } },
  {
    key: 'tracing0',
    label: 'tracing, nothing sampled',
    env: { BENCH_MIDDLEWARE: 'tracing', BENCH_SAMPLING_RATIO: '0' },
  },
  { key: 'tracing', label: `tracing, sampling ${samplingRatio}`, env: { BENCH_MIDDLEWARE: 'tracing' } },
  { key: 'logging', label: 'logging', env: { BENCH_MIDDLEWARE: 'logging' } },
  { key: 'metrics', label: 'metrics', env: { BENCH_MIDDLEWARE: 'metrics' } },
  // The default observers run tracing, logging and metrics as one; here as three.
  {
    key: 'three',
    label: `three observers, sampling ${samplingRatio}`,
    env: { BENCH_MIDDLEWARE: 'tracing,logging,metrics' },
  },
  { key: 'full', label: `full chain, sampling ${samplingRatio}`, env: {} },
  // The same, exporting over HTTP/1.1: the gRPC exporter's HTTP/2 client runs in the server's process.
  { key: 'fullhttp', label: 'full chain, OTLP http/protobuf', env: { BENCH_OTLP_PROTOCOL: 'http/protobuf' } },
];
// BENCH_VARIANTS=router,full runs only those (the router alone always runs: the rest
// are measured against it). BENCH_COMPARE_DIST=<a copy of dist/ built from other code,
// inside this checkout so it finds node_modules> adds that build's full chain and
// router alone, for an A/B of two versions in the same seconds.
const picked = process.env.BENCH_VARIANTS?.split(',');
const variants = allVariants.filter((v) => v.key === 'router' || !picked || picked.includes(v.key));
const compareDist = process.env.BENCH_COMPARE_DIST;
if (compareDist) {
  for (const v of allVariants.filter((v) => v.key === 'router' || v.key === 'full'))
    variants.push({ ...v, label: `${v.label} (other build)`, env: { ...v.env, BENCH_DIST: compareDist } });
}

let skipped = 0;
/**
 * Loads every server at once for `duration` seconds: the calls each answered, or
 * undefined when h2load left a count out (H2loadNoSummary), and the window is skipped.
 */
async function loadAll(duration) {
  const results = await Promise.allSettled(servers.map((s) => load(s, duration, rate)));
  const failure = results.find((r) => r.status === 'rejected' && !(r.reason instanceof H2loadNoSummary));
  if (failure) throw failure.reason;
  if (results.some((r) => r.status === 'rejected')) {
    skipped++;
    return undefined;
  }
  return results.map((r) => r.value);
}

const sink = await startOtlpSink();
const sinkEnv = (v) => {
  const endpoint = v.env.BENCH_OTLP_PROTOCOL === 'http/protobuf' ? sink.httpEndpoint : sink.endpoint;
  return { BENCH_OTLP_ENDPOINT: endpoint, OTEL_EXPORTER_OTLP_ENDPOINT: endpoint, BENCH_SAMPLING_RATIO: samplingRatio };
};
const servers = [];
try {
  for (const v of variants) {
    const server = await startServer(script, { ...sinkEnv(v), ...v.env });
    servers.push({ ...v, server, url: `http://127.0.0.1:${server.port}/helloworld/world`, cpuUs: [] });
  }
  console.log(
    `tsk observer breakdown: ${variants.length} ${grpc ? 'gRPC' : 'HTTP'} servers side by side, ${rate} req/s each, ${windows} windows of ${windowSeconds}s, servers on node ${serverNodeVersion}`,
  );
  await loadAll(2); // warm-up
  await Promise.all(servers.map((s) => s.server.collectGarbage()));
  for (let w = 0; w < windows; w++) {
    const before = servers.map((s) => cpuMs(s.server.pid));
    const answered = await loadAll(windowSeconds);
    if (!answered) continue;
    servers.forEach((s, i) => {
      const after = cpuMs(s.server.pid);
      if (before[i] !== undefined && after !== undefined) s.cpuUs.push(((after - before[i]) * 1000) / answered[i]);
    });
  }
} finally {
  await Promise.all(servers.map((s) => s.server.stop()));
  sink.close();
}

if (skipped > 0) console.log(`${skipped} window(s) skipped: h2load printed no count of its calls`);
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
