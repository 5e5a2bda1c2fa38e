#!/usr/bin/env node
// Runtime benchmark: a JSON endpoint through tsk's full default chain versus bare
// fastify, and a unary gRPC method versus bare grpc-js, measured in the same run.
// Each server runs in its own process; this process generates the load. Prints a
// table and the ratios; asserts nothing about absolute time.
import autocannon from 'autocannon';
import * as grpc from '@grpc/grpc-js';
import { greeterDefinition } from './servers/common.js';
import { h2loadGreeter, h2loadHttp1Greeting, h2loadInstalled, percentile } from './h2load.js';
import {
  cpuMs,
  defaultSamplingRatio,
  loadGeneratorCpuMs,
  median,
  pin,
  serverNodeVersion,
  serverFlags,
  serviceFlags,
  startOtlpSink,
  startServer,
} from './harness.js';

const seconds = Number(process.env.BENCH_SECONDS ?? 6);
// Servers are measured in rounds (default 5), bare / router / full chain in turn, and each figure is the
// median over the rounds: on a shared machine throughput drifts by 20-30% within minutes, and
// interleaving puts every server through the same drift.
const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const warmupSeconds = Number(process.env.BENCH_WARMUP_SECONDS ?? 2);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 32);
// A second HTTP run at a fixed request rate every server sustains, measuring the server's
// CPU time per request: on a small machine throughput also reflects how often the load
// generator idles (a saturated server pays for waking it), CPU per request does not.
const fixedRate = Number(process.env.BENCH_FIXED_RATE ?? 15000);
const grpcFixedRate = Number(process.env.BENCH_GRPC_FIXED_RATE ?? 6000);

/** HTTP load from h2load when installed (native code), else autocannon in this process. */
function loadHttp(port, duration, rate) {
  return h2load ? h2loadHttp1Greeting(port, { duration, connections, rate }) : loadHttpAutocannon(port, duration, rate);
}
loadHttp.fixedRate = fixedRate;

async function loadHttpAutocannon(port, duration, rate) {
  const result = await autocannon({
    url: `http://127.0.0.1:${port}/helloworld/world`,
    connections,
    duration,
    pipelining: 1,
    ...(rate ? { overallRate: rate } : {}),
  });
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`HTTP load saw ${result.non2xx} non-2xx and ${result.errors} errors`);
  return {
    rps: result.requests.average,
    p99: result.latency.p99,
    p999: result.latency.p99_9,
    requests: result.requests.total,
  };
}

const h2load = h2loadInstalled;
const H2LOAD_CLIENTS = 4; // connections; 8 concurrent calls on each keeps `connections` calls in flight
function loadGrpcH2load(port, duration, rate) {
  return h2loadGreeter(port, {
    duration,
    clients: H2LOAD_CLIENTS,
    streams: Math.ceil(connections / H2LOAD_CLIENTS),
    rate,
  });
}
loadGrpcH2load.fixedRate = grpcFixedRate;

/**
 * The fallback without h2load: `connections` calls kept in flight from a grpc-js client
 * in this process. It saturates before the servers do, so its figures measure the
 * client; no fixed-rate run either, as the client cannot hold a rate it barely reaches.
 */
async function loadGrpcClient(port, duration) {
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  const method = greeterDefinition.sayHello;
  const latencies = [];
  const until = Date.now() + duration * 1000;
  const call = () =>
    new Promise((resolve, reject) => {
      const started = performance.now();
      client.makeUnaryRequest(
        method.path,
        method.requestSerialize,
        method.responseDeserialize,
        { name: 'world' },
        (err) => {
          if (err) return reject(err);
          latencies.push(performance.now() - started);
          resolve();
        },
      );
    });
  const started = Date.now();
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        while (Date.now() < until) await call();
      }),
    );
  } finally {
    client.close();
  }
  latencies.sort((a, b) => a - b);
  return {
    rps: latencies.length / ((Date.now() - started) / 1000),
    p99: percentile(latencies, 0.99),
    p999: percentile(latencies, 0.999),
    requests: latencies.length,
  };
}

async function measure(script, load, env) {
  const server = await startServer(script, env);
  try {
    await load(server.port, warmupSeconds);
    await server.collectGarbage();
    const clientBefore = loadGeneratorCpuMs();
    const started = performance.now();
    const result = await load(server.port, seconds);
    const clientAfter = loadGeneratorCpuMs();
    // Near 100% the load generator, not the server, limits the saturated figure.
    if (clientBefore !== undefined && clientAfter !== undefined)
      result.clientBusy = (clientAfter - clientBefore) / (performance.now() - started);
    if (load.fixedRate > 0) {
      const before = cpuMs(server.pid);
      const steady = await load(server.port, seconds, load.fixedRate);
      const after = cpuMs(server.pid);
      if (before !== undefined && after !== undefined) result.cpuUs = ((after - before) * 1000) / steady.requests;
      // Tail latency at a rate every server sustains: stalls show here, not in saturated runs' queues.
      result.steadyP99 = steady.p99;
      result.steadyP999 = steady.p999;
    }
    return result;
  } finally {
    await server.stop();
  }
}

const sink = await startOtlpSink();
// A generated service samples at the ratio its config ships with; measure at that default.
const samplingRatio = process.env.BENCH_SAMPLING_RATIO ?? defaultSamplingRatio();
const env = {
  BENCH_OTLP_ENDPOINT: sink.endpoint,
  OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
  BENCH_SAMPLING_RATIO: samplingRatio,
};
const rows = [];
const compare = async (label, bareScript, tskScript, load) => {
  // The router alone (no middleware) separates transport overhead from what the chain costs.
  const servers = [
    { label: `${label} bare`, script: bareScript, env },
    { label: `${label} tsk (no middleware)`, script: tskScript, env: { ...env, BENCH_MIDDLEWARE: '' } },
    { label: `${label} tsk (full chain)`, script: tskScript, env },
  ];
  const runs = servers.map(() => []);
  for (let round = 0; round < rounds; round++) {
    for (const [i, server] of servers.entries()) runs[i].push(await measure(server.script, load, server.env));
  }
  const [bare, , tsk] = runs.map((results, i) => {
    const med = (key) => median(results.map((r) => r[key]));
    const summary = {
      label: servers[i].label,
      rps: med('rps'),
      p99: med('p99'),
      clientBusy: med('clientBusy'),
      cpuUs: med('cpuUs'),
      steadyP99: med('steadyP99'),
      steadyP999: med('steadyP999'),
    };
    rows.push(summary);
    return summary;
  });
  // Ratios within a round compare servers measured minutes apart at most; their median and range are reported.
  const ratio = (of, key) => {
    const perRound = runs[0].map((b, round) => runs[of][round][key] / b[key]).filter(Number.isFinite);
    return { median: median(perRound), min: Math.min(...perRound), max: Math.max(...perRound) };
  };
  return {
    bareClientBusy: bare.clientBusy,
    rps: ratio(2, 'rps'),
    routerRps: ratio(1, 'rps'),
    cpu: ratio(2, 'cpuUs'),
    routerCpu: ratio(1, 'cpuUs'),
    p99Ratio: bare.p99 > 0 ? tsk.p99 / bare.p99 : undefined,
  };
};
const fmt = (r) =>
  r.median === undefined
    ? 'n/a'
    : rounds > 1
      ? `${r.median.toFixed(2)}x (${r.min.toFixed(2)}-${r.max.toFixed(2)})`
      : `${r.median.toFixed(2)}x`;

console.log(
  `tsk runtime benchmark: ${rounds} round(s) of ${seconds}s per server after ${warmupSeconds}s warm-up and a full garbage collection, medians shown, ${connections} concurrent callers, servers on node ${serverNodeVersion}${serverFlags.length ? ` ${serverFlags.join(' ')}` : ''} (tsk's with the service's ${serviceFlags.join(' ')}) (load from ${process.version}), context ${process.env.BENCH_CONTEXT_PROPAGATION || 'async-local-storage'}, trace sampling ratio ${samplingRatio}, ${pin ? 'server pinned to core 0, load generator to the others' : 'no CPU pinning'}`,
);
// BENCH_ONLY=http or grpc measures one transport.
const only = process.env.BENCH_ONLY;
const http =
  only === 'grpc' ? undefined : await compare('HTTP GET /helloworld/{name}', 'http-bare.js', 'http-tsk.js', loadHttp);
if (!h2load)
  console.log(
    'h2load not found (apt-get install nghttp2-client): HTTP load from autocannon and gRPC load from a grpc-js client, both in this process, which saturate before the servers do',
  );
const grpcRatio =
  only === 'http'
    ? undefined
    : await compare('gRPC SayHello', 'grpc-bare.js', 'grpc-tsk.js', h2load ? loadGrpcH2load : loadGrpcClient);
sink.close();

const pad = (s, n) => String(s).padEnd(n);
const p99Text = (x) => (x === undefined ? 'n/a' : `${x.toFixed(2)}x`);
const num = (x, digits) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(digits));
console.log(`\n${pad('', 50)}${pad('saturated', 36)}at a fixed rate (HTTP ${fixedRate}/s, gRPC ${grpcFixedRate}/s)`);
console.log(
  `${pad('server', 50)}${pad('req/s', 12)}${pad('p99 (ms)', 12)}${pad('load gen', 12)}${pad('CPU us/req', 12)}${pad('p99 (ms)', 12)}p99.9 (ms)`,
);
const percent = (x) => (x === undefined || Number.isNaN(x) ? '-' : `${(x * 100).toFixed(0)}%`);
for (const r of rows) {
  console.log(
    `${pad(r.label, 50)}${pad(r.rps.toFixed(0), 12)}${pad(r.p99.toFixed(2), 12)}${pad(percent(r.clientBusy), 12)}${pad(num(r.cpuUs, 1), 12)}${pad(num(r.steadyP99, 2), 12)}${num(r.steadyP999, 2)}`,
  );
}
console.log('load gen: CPU the load generator used during the saturated run, as a share of one core');
for (const [name, result] of [
  ['HTTP', http],
  ['gRPC', grpcRatio],
]) {
  if (result?.bareClientBusy > 0.9)
    console.log(
      `${name}: the load generator was ${percent(result.bareClientBusy)} busy against the bare server, which then served what one client core could ask for: its req/s understates it, and the ratios overstate tsk`,
    );
}
if (http) {
  console.log(
    `\nHTTP: tsk/bare throughput ${fmt(http.rps)}, router alone ${fmt(http.routerRps)}; p99 ${p99Text(http.p99Ratio)} (target throughput >= 0.90x)`,
  );
  if (http.cpu.median !== undefined)
    console.log(
      `HTTP: CPU per request at ${fixedRate} req/s, tsk/bare ${fmt(http.cpu)}, router alone ${fmt(http.routerCpu)}`,
    );
}
if (grpcRatio) {
  console.log(
    `gRPC: tsk/bare throughput ${fmt(grpcRatio.rps)}, router alone ${fmt(grpcRatio.routerRps)}; p99 ${p99Text(grpcRatio.p99Ratio)} (target throughput >= 0.85x)`,
  );
  if (grpcRatio.cpu.median !== undefined)
    console.log(
      `gRPC: CPU per request at ${grpcFixedRate} req/s, tsk/bare ${fmt(grpcRatio.cpu)}, router alone ${fmt(grpcRatio.routerCpu)}`,
    );
}
console.log(`OTLP trace export batches received during the run: ${sink.batches()}`);
