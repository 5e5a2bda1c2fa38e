// Shared bits of the benchmark servers: the JSON payload, the proto-shaped message
// types a tsk route needs, and how a server tells the parent which port it bound.
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export const GREETING_PREFIX = 'Hello ';

/** Hand-written stand-ins for ts-proto message consts, so the bench needs no codegen. */
export const HelloRequest = {
  fromJSON: (o) => ({ name: typeof o?.name === 'string' ? o.name : '' }),
  toJSON: (m) => ({ name: m.name }),
};
export const HelloReply = {
  fromJSON: (o) => ({ message: typeof o?.message === 'string' ? o.message : '' }),
  toJSON: (m) => ({ message: m.message }),
};
export const HelloRequestSchema = {
  typeName: 'bench.v1.HelloRequest',
  fields: [{ name: 'name', jsonName: 'name', kind: 'scalar', scalar: 'string' }],
};
export const HelloReplySchema = {
  typeName: 'bench.v1.HelloReply',
  fields: [{ name: 'message', jsonName: 'message', kind: 'scalar', scalar: 'string' }],
};

/** gRPC codec: the request/reply carry one string field (tag 1), encoded by hand. */
export function encodeStringField(value) {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > 127) throw new Error('bench payloads stay under 128 bytes');
  return Buffer.concat([Buffer.from([0x0a, bytes.length]), bytes]);
}
export function decodeStringField(buf) {
  if (buf.length === 0) return '';
  return buf.subarray(2, 2 + buf[1]).toString('utf8');
}
export const greeterDefinition = {
  sayHello: {
    path: '/bench.v1.Greeter/SayHello',
    requestStream: false,
    responseStream: false,
    requestSerialize: (m) => encodeStringField(m.name),
    requestDeserialize: (b) => ({ name: decodeStringField(b) }),
    responseSerialize: (m) => encodeStringField(m.message),
    responseDeserialize: (b) => ({ message: decodeStringField(b) }),
  },
};

export function announce(port) {
  process.stdout.write(`LISTENING ${port}\n`);
  process.on('SIGUSR2', () => {
    collectGarbage();
    process.stdout.write('COLLECTED\n');
  });
}

/**
 * A full collection on SIGUSR2, which the harness sends after the warm-up: a server that
 * has run for a while has had one, and gRPC servers are slower after it (bench/RESULTS.md,
 * stop 45), so every server's measurement starts from that state rather than from
 * whichever it happens to be in. The flag only makes gc() callable; it changes nothing in how V8 collects.
 */
function collectGarbage() {
  setFlagsFromString('--expose-gc');
  runInNewContext('gc')();
}

/**
 * The URL of a module of tsk's built runtime: ../../dist, or BENCH_DIST's copy (a
 * build of other code, for side-by-side comparisons of two versions).
 */
export function distModule(relative) {
  const dist = process.env.BENCH_DIST
    ? pathToFileURL(`${path.resolve(process.env.BENCH_DIST)}/`)
    : new URL('../../dist/', import.meta.url);
  return new URL(relative, dist).href;
}
