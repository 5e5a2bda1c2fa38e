// A client on an address target (not discovery:///) calls every address the target resolves
// to in turn, as Kratos balances any target: two plain grpc-js servers behind one `ipv4:`
// target, standing in for the pods a headless Kubernetes Service's DNS name resolves to.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesMethod } from '../../../helpers/bytes-method.js';
import { GrpcClientConn } from '../../../../src/runtime/transport/grpc/index.js';

const WHO = bytesMethod('/test.Who/Who');

const servers: grpc.Server[] = [];
const ports: number[] = [];

beforeAll(async () => {
  for (const name of ['a', 'b']) {
    const server = new grpc.Server();
    server.addService({ Who: WHO } as grpc.ServiceDefinition, {
      Who: (_call: unknown, done: grpc.sendUnaryData<Buffer>) => done(null, Buffer.from(name)),
    });
    ports.push(
      await new Promise<number>((resolve, reject) =>
        server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, port) =>
          err ? reject(err) : resolve(port),
        ),
      ),
    );
    servers.push(server);
  }
});

afterAll(() => {
  for (const s of servers) s.forceShutdown();
});

async function answers(conn: GrpcClientConn, calls: number): Promise<Record<string, number>> {
  const seen: Record<string, number> = {};
  for (let i = 0; i < calls; i++) {
    const who = (await conn.invoke(WHO, Buffer.alloc(0))).toString();
    seen[who] = (seen[who] ?? 0) + 1;
  }
  return seen;
}

describe('an address target resolving to several addresses', () => {
  const target = () => `ipv4:127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}`;

  it('spreads calls over all of them, round-robin', async () => {
    const conn = new GrpcClientConn({ target: target() });
    try {
      // The first calls may all land on the first address to connect; once both are up, each takes its turn.
      await answers(conn, 10);
      expect(await answers(conn, 10)).toEqual({ a: 5, b: 5 });
    } finally {
      conn.close();
    }
  });

  it('keeps a service config given in channelOptions (pick_first: one address takes every call)', async () => {
    const conn = new GrpcClientConn({
      target: target(),
      channelOptions: { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ pick_first: {} }] }) },
    });
    try {
      expect(Object.values(await answers(conn, 10))).toEqual([10]);
    } finally {
      conn.close();
    }
  });
});
