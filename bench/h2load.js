// gRPC load from h2load (Debian's nghttp2-client): a grpc-js client in one process
// saturates at about a third of what a bare grpc-js server serves, so with it a
// comparison measures the client. h2load sends the framed request bytes and cannot
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
  const log = path.join(dir, 'requests.log');
  fs.writeFileSync(body, grpcFrame(encodeStringField('world')));
  const expectedReplyBytes = grpcFrame(encodeStringField(`${GREETING_PREFIX}world`)).length;
  const args = [
    '-D',
    String(duration),
    '-c',
    String(clients),
    '-m',
    String(streams),
    '-d',
    body,
    '-H',
    'content-type: application/grpc',
    '-H',
    'te: trailers',
    `--log-file=${log}`,
    ...(rate ? [`--rps=${Math.ceil(rate / clients)}`] : []),
    `http://127.0.0.1:${port}${greeterDefinition.sayHello.path}`,
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
    if (dataBytes !== ok * expectedReplyBytes)
      throw new Error(
        `gRPC load: ${ok} responses carried ${dataBytes} bytes, not ${expectedReplyBytes} each: some calls failed`,
      );
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
