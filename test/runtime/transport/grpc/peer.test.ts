// The caller's address of a gRPC server call, from grpc-js's peer string.
import { describe, expect, it } from 'vitest';
import { GrpcPeer, parsePeer } from '../../../../src/runtime/transport/grpc/server.js';

function peerOf(peer: string) {
  let calls = 0;
  const remote = new GrpcPeer({
    getPeer: () => {
      calls++;
      return peer;
    },
    getHost: () => 'greeter.example:9000',
  });
  return { remote, calls: () => calls };
}

describe('GrpcPeer', () => {
  it.each([
    ['127.0.0.1:5678', '127.0.0.1', 5678],
    ['ipv4:10.0.0.7:80', '10.0.0.7', 80],
    ['ipv6:[::1]:5678', '::1', 5678],
    ['::1:5678', '::1', 5678],
    ['[fe80::1]:443', 'fe80::1', 443],
    ['unknown', 'unknown', undefined],
  ])('reads %s as address %s, port %s', (peer, address, port) => {
    const { remote } = peerOf(peer);
    expect(remote.remoteAddress).toBe(address);
    expect(remote.remotePort).toBe(port);
  });

  it('asks grpc-js for the peer once however often it is read, and not before', () => {
    const { remote, calls } = peerOf('ipv4:1.2.3.4:9');
    expect(calls()).toBe(0);
    for (let i = 0; i < 3; i++) {
      expect(remote.remoteAddress).toBe('1.2.3.4');
      expect(remote.remotePort).toBe(9);
    }
    expect(calls()).toBe(1);
  });
});

/** What the peer string means, as a regular expression states it: the reference parsePeer must agree with. */
function referenceParse(peer: string): { address: string; port?: number } | undefined {
  const m = /^(?:ipv[46]:)?\[?([^\]]*?)\]?(?::(\d+))?$/.exec(peer);
  if (!m) return undefined;
  return m[2] === undefined ? { address: m[1]! } : { address: m[1]!, port: Number(m[2]) };
}

describe('parsePeer', () => {
  it('agrees with the reference expression on every short string of the characters that matter', () => {
    const alphabet = ['ipv4:', 'ipv6:', ':', '[', ']', '1', '80', 'a', '.', 'ipv'];
    let checked = 0;
    // Every sequence of up to five pieces: about 111,000 strings.
    const walk = (prefix: string, depth: number) => {
      expect(parsePeer(prefix), prefix).toEqual(referenceParse(prefix));
      checked++;
      if (depth === 5) return;
      for (const piece of alphabet) walk(prefix + piece, depth + 1);
    };
    walk('', 0);
    expect(checked).toBeGreaterThan(100_000);
  });
});
