// What the benchmarks share: server processes pinned apart from the load generator,
// their CPU time from /proc, and an OTLP sink so tracing pays its real export cost.
import { spawn, spawnSync } from 'node:child_process';
import os from 'node:os';
import fs from 'node:fs';
import http from 'node:http';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';

const here = path.dirname(fileURLToPath(import.meta.url));
const clockTicks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;

/**
 * The sum, in ms, of `count` CPU-time fields of /proc/<pid>/stat starting at utime
 * (utime, stime, cutime, cstime), or undefined off Linux.
 */
function statCpuMs(pid, count) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which may itself hold spaces and parentheses.
    const ticks = stat
      .slice(stat.lastIndexOf(')') + 2)
      .split(' ')
      .slice(11, 11 + count)
      .map(Number);
    return (ticks.reduce((a, b) => a + b, 0) * 1000) / clockTicks;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system, ms) a process has used so far, or undefined off Linux. */
export function cpuMs(pid) {
  return statCpuMs(pid, 2);
}

/**
 * CPU time (ms) of the load generator so far: this process, where autocannon and the
 * OTLP sink run, plus its exited children, where h2load's time lands once it is reaped.
 * Servers are reaped only after their measurement, so a window spans load only.
 */
export function loadGeneratorCpuMs() {
  return statCpuMs('self', 4);
}

/**
 * Accepts OTLP exports and answers with an empty response, so tracing pays its real export
 * cost: gRPC at `endpoint`, http/protobuf at `httpEndpoint`.
 */
export async function startOtlpSink() {
  const server = new grpc.Server();
  const passthrough = {
    requestStream: false,
    responseStream: false,
    requestSerialize: (b) => b,
    requestDeserialize: (b) => b,
    responseSerialize: (b) => b,
    responseDeserialize: (b) => b,
  };
  const service = {
    traces: { ...passthrough, path: '/opentelemetry.proto.collector.trace.v1.TraceService/Export' },
    metrics: { ...passthrough, path: '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export' },
  };
  let batches = 0;
  server.addService(service, {
    traces: (_call, cb) => {
      batches += 1;
      cb(null, Buffer.alloc(0));
    },
    metrics: (_call, cb) => cb(null, Buffer.alloc(0)),
  });
  const port = await new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  const httpServer = http.createServer((request, response) => {
    request.resume();
    request.on('end', () => {
      if (request.url === '/v1/traces') batches += 1;
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
    });
  });
  await new Promise((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    httpEndpoint: `http://127.0.0.1:${httpServer.address().port}`,
    batches: () => batches,
    close: () => {
      server.forceShutdown();
      httpServer.close();
    },
  };
}

// On a multi-core machine the server under test gets core 0 and this process (the load
// generator) the other cores, so the two do not steal CPU from each other: otherwise a
// server's helper threads (GC, I/O) slow the load generator and skew the ratios.
export const pin = process.env.BENCH_PIN !== '0' && os.cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0;
if (pin)
  spawnSync('taskset', ['-a', '-p', '-c', `1-${os.cpus().length - 1}`, String(process.pid)], { stdio: 'ignore' });

/**
 * The node that runs the servers under test: BENCH_NODE, else TSK_IMAGE_NODE (the
 * generated image's Node 24), else the one running the benchmark.
 */
export const serverNode = process.env.BENCH_NODE || process.env.TSK_IMAGE_NODE || process.execPath;
export const serverNodeVersion = spawnSync(serverNode, ['-p', 'process.version'], { encoding: 'utf8' }).stdout.trim();

/** Node/V8 flags for every server under test (BENCH_SERVER_FLAGS, space-separated), e.g. to compare GC settings. */
export const serverFlags = (process.env.BENCH_SERVER_FLAGS ?? '').split(' ').filter(Boolean);

/**
 * Node flags a generated service starts with (its `npm start`, image CMD and Deployment):
 * tsk's servers under test run with them, the bare libraries with Node's defaults.
 */
const { SERVICE_NODE_COMMAND } = await import(new URL('../dist/scaffold/package-json.js', import.meta.url).href);
export const serviceFlags = SERVICE_NODE_COMMAND.slice(1);

export async function startServer(script, env) {
  const flags = [...(script.endsWith('-tsk.js') ? serviceFlags : []), ...serverFlags];
  const argv = [serverNode, ...flags, path.join(here, 'servers', script)];
  const [cmd, ...args] = pin ? ['taskset', '-c', '0', ...argv] : argv;
  const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  let buffered = '';
  const port = await new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`${script} exited with ${code} before listening`)));
    child.stdout.on('data', (chunk) => {
      buffered += chunk;
      const match = /LISTENING (\d+)/.exec(buffered);
      if (match) resolve(Number(match[1]));
    });
  });
  return {
    port,
    pid: child.pid,
    /** A full garbage collection in the server (servers/common.js), resolved once it is done. */
    collectGarbage: async () => {
      const done = new Promise((resolve) => {
        const listen = (chunk) => {
          if (!String(chunk).includes('COLLECTED')) return;
          child.stdout.off('data', listen);
          resolve();
        };
        child.stdout.on('data', listen);
      });
      child.kill('SIGUSR2');
      await done;
    },
    stop: async () => {
      child.kill('SIGKILL');
      await once(child, 'exit').catch(() => {});
    },
  };
}

/** The middle value (the lower of the two middle ones), ignoring missing values; undefined if none. */
export function median(values) {
  const sorted = values.filter((v) => v !== undefined && !Number.isNaN(v)).sort((a, b) => a - b);
  return sorted.length ? sorted[Math.floor((sorted.length - 1) / 2)] : undefined;
}

/** The trace sampling ratio generated configs ship with: what a new service runs at. */
export function defaultSamplingRatio() {
  const template = fs.readFileSync(path.join(here, '..', 'templates', 'service', 'configs', 'config.yaml.hbs'), 'utf8');
  return /sampling_ratio:\s*([\d.]+)/.exec(template)?.[1] ?? '1';
}
