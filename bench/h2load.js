// Load from h2load (Debian's nghttp2-client), for gRPC and HTTP/1.1: a grpc-js client in
// one process saturates at about a third of what a bare grpc-js server serves, so with it
// a comparison measures the client. h2load sends the framed request bytes and cannot
// read grpc-status trailers; every response is instead checked to carry exactly the
// expected reply message, which an error response would not.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeStringField, greeterDefinition, GREETING_PREFIX } from './servers/common.js';

/** Whether h2load is installed. */
export const h2loadInstalled = spawnSync('h2load', ['--version']).status === 0;

/**
 * h2load ended without error but printed no summary: on a saturated machine it now and
 * then stops right after connecting. Nothing says how many calls it made, so the run
 * cannot be counted; the calls themselves did not fail.
 */
export class H2loadNoSummary extends Error {}

/** A gRPC length-prefixed message: uncompressed flag, 4-byte big-endian length, bytes. */
function grpcFrame(message) {
  const header = Buffer.alloc(5);
  header.writeUInt32BE(message.length, 1);
  return Buffer.concat([header, message]);
}

/** The latency below which a share `q` of the sorted latencies falls. */
export function percentile(sorted, q) {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))] ?? NaN;
}

/**
 * Calls SayHello on `port` for `duration` seconds from `clients` connections with
 * `streams` calls in flight on each, at `rate` calls/s in all when given (else as fast
 * as the server answers). Throws unless every call got exactly the expected reply.
 */
export async function h2loadGreeter(port, { duration, clients, streams, rate }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-bench-'));
  const body = path.join(dir, 'request.bin');
  try {
    fs.writeFileSync(body, grpcFrame(encodeStringField('world')));
    return await runH2load({
      url: `http://127.0.0.1:${port}${greeterDefinition.sayHello.path}`,
      args: ['-d', body, '-H', 'content-type: application/grpc', '-H', 'te: trailers'],
      replyBytes: grpcFrame(encodeStringField(`${GREETING_PREFIX}world`)).length,
      duration,
      clients,
      streams,
      rate,
    });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * GET /helloworld/world over HTTP/1.1 from `connections` keep-alive connections, one
 * request in flight on each (no pipelining), at `rate` requests/s in all when given.
 * h2load is native code: a Node load generator (autocannon) saturates its core before
 * bare fastify does on a small machine, and then measures itself.
 */
export function h2loadHttp1Greeting(port, { duration, connections, rate }) {
  return runH2load({
    url: `http://127.0.0.1:${port}/helloworld/world`,
    args: ['--h1'],
    replyBytes: Buffer.byteLength(JSON.stringify({ message: `${GREETING_PREFIX}world` })),
    duration,
    clients: connections,
    streams: 1,
    rate,
  });
}

/**
 * One h2load run. h2load cannot check answers, so every response must have carried exactly
 * `replyBytes` of body (an error answer would not) and a 2xx status.
 */
async function runH2load({ url, args: extra, replyBytes, duration, clients, streams, rate }) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-bench-'));
  const log = path.join(dir, 'requests.log');
  const args = [
    '-D',
    String(duration),
    '-c',
    String(clients),
    '-m',
    String(streams),
    ...extra,
    `--log-file=${log}`,
    ...(rate ? [`--rps=${Math.ceil(rate / clients)}`] : []),
    url,
  ];
  const child = spawn('h2load', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (chunk) => {
    out += chunk;
  });
  child.stderr.on('data', (chunk) => {
    out += chunk;
  });
  const code = await new Promise((resolve) => child.once('exit', resolve));
  try {
    if (code === 0 && !/finished in /.test(out)) throw new H2loadNoSummary(`h2load printed no summary:\n${out}`);
    const ok = Number(/status codes: (\d+) 2xx/.exec(out)?.[1]);
    const failed = /(\d+) failed, (\d+) errored, (\d+) timeout/.exec(out);
    const dataBytes = Number(/\((\d+)\) data/.exec(out)?.[1]);
    if (code !== 0 || !ok || !failed || failed.slice(1).some((n) => n !== '0') || /[1-9]\d* [345]xx/.test(out)) {
      throw new Error(`h2load failed (exit ${code}):\n${out}`);
    }
    // Responses cut off by the end of the run are not counted, though their body may have arrived.
    const replies = dataBytes / replyBytes;
    if (!Number.isInteger(replies) || replies < ok || replies > ok + clients * streams)
      throw new Error(`h2load: ${ok} responses carried ${dataBytes} bytes, not ${replyBytes} each: some calls failed`);
    const latencies = fs
      .readFileSync(log, 'utf8')
      .trim()
      .split('\n')
      .map((line) => Number(line.split('\t')[2]) / 1000)
      .sort((a, b) => a - b);
    return {
      rps: Number(/finished in [\d.]+s, ([\d.]+) req\/s/.exec(out)?.[1]),
      p99: percentile(latencies, 0.99),
      p999: percentile(latencies, 0.999),
      requests: ok,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
