// Clients of servers that speak TLS, with certificates signed by a test CA (test/fixtures/tls).
// gRPC (`grpcs://`): a plain grpc-js server, called with that CA given in code, with the CA
// trusted through NODE_EXTRA_CA_CERTS as a deployment would, and refused (503, naming the
// reason) by a client that trusts neither, or speaks plaintext. HTTP: a node:https server that
// asks for a client certificate, called through an undici Agent of the client's own.
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import tls from 'node:tls';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { Agent } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bytesMethod } from '../../helpers/bytes-method.js';
import { GrpcClientConn } from '../../../src/runtime/transport/grpc/index.js';
import { HttpClient } from '../../../src/runtime/transport/http/index.js';
import { repoRoot } from '../../helpers/cli.js';
import { whoRoute } from '../../helpers/who-service.js';

const fixtures = path.join(repoRoot, 'test', 'fixtures', 'tls');
const ca = fs.readFileSync(path.join(fixtures, 'ca.pem'));
const fixture = (name: string) => fs.readFileSync(path.join(fixtures, name));

const ECHO = bytesMethod('/test.Echo/Echo');

let server: grpc.Server;
let port = 0;

beforeAll(async () => {
  server = new grpc.Server();
  server.addService({ Echo: ECHO } as grpc.ServiceDefinition, {
    Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
      done(null, Buffer.from(`tls:${call.request.toString()}`)),
  });
  const credentials = grpc.ServerCredentials.createSsl(null, [
    {
      cert_chain: fs.readFileSync(path.join(fixtures, 'server.pem')),
      private_key: fs.readFileSync(path.join(fixtures, 'server.key')),
    },
  ]);
  port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => (err ? reject(err) : resolve(p))),
  );
});

afterAll(() => server.forceShutdown());

async function call(conn: GrpcClientConn): Promise<string> {
  try {
    return (await conn.invoke(ECHO, Buffer.from('hi'), { timeoutMs: 3000 })).toString();
  } finally {
    await conn.close();
  }
}

describe('grpcs:// targets', () => {
  it('speak TLS, checking the server against the CA given', async () => {
    const conn = new GrpcClientConn({
      target: `grpcs://localhost:${port}`,
      service: 'echo',
      credentials: grpc.credentials.createSsl(ca),
    });
    expect(await call(conn)).toBe('tls:hi');
  });

  it('refuse a server whose certificate no trusted CA signed, and a plaintext client gets no answer', async () => {
    const untrusted = new GrpcClientConn({ target: `grpcs://localhost:${port}`, service: 'echo' });
    await expect(call(untrusted)).rejects.toMatchObject({
      code: 503,
      reason: 'SERVICE_UNAVAILABLE',
      message: expect.stringMatching(/^the echo service is unavailable: .*certificate/i),
    });
    const plaintext = new GrpcClientConn({ target: `localhost:${port}`, service: 'echo' });
    await expect(call(plaintext)).rejects.toMatchObject({ code: 503, reason: 'SERVICE_UNAVAILABLE' });
  });

  // Node's own list with NODE_EXTRA_CA_CERTS in it is there to read from Node 22.15 and 23.10 on.
  it.skipIf(!('getCACertificates' in tls))('trust the CAs of NODE_EXTRA_CA_CERTS, as fetch does', async () => {
    const client = pathToFileURL(path.join(repoRoot, 'dist/runtime/transport/grpc/client.js')).href;
    const script = `
      const { GrpcClientConn } = await import(${JSON.stringify(client)});
      const echo = { path: '/test.Echo/Echo', requestStream: false, responseStream: false,
        requestSerialize: (b) => b, requestDeserialize: (b) => b, responseSerialize: (b) => b, responseDeserialize: (b) => b };
      const conn = new GrpcClientConn({ target: 'grpcs://localhost:${port}', service: 'echo' });
      console.log((await conn.invoke(echo, Buffer.from('env'))).toString());
      await conn.close();`;
    // Not execFileSync: the server answering it runs in this process.
    const { stdout } = await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, NODE_EXTRA_CA_CERTS: path.join(fixtures, 'ca.pem') },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(stdout.trim()).toBe('tls:env');
  });
});

describe('an HTTP client with a dispatcher of its own', () => {
  let server: https.Server;
  let base = '';
  beforeAll(async () => {
    // Mutual TLS: the server asks for a client certificate its CA signed, and refuses others.
    server = https.createServer(
      { key: fixture('server.key'), cert: fixture('server.pem'), ca, requestCert: true, rejectUnauthorized: true },
      (req, res) => {
        const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ who: peer.subject.CN }));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `https://localhost:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => server.close());

  it('presents its client certificate and trusts its own CA, for this client alone', async () => {
    const agent = new Agent({ connect: { ca, key: fixture('client.key'), cert: fixture('client.pem') } });
    const client = new HttpClient({ target: base, service: 'partner', dispatcher: agent });
    try {
      expect(await client.invoke(whoRoute, { who: '' })).toEqual({ who: 'tsk-test-client' });
    } finally {
      await client.close();
      await agent.close();
    }
    // Without it, fetch's own connections trust neither the CA nor present a certificate.
    const plain = new HttpClient({ target: base, service: 'partner' });
    try {
      await expect(plain.invoke(whoRoute, { who: '' })).rejects.toMatchObject({
        code: 503,
        reason: 'SERVICE_UNAVAILABLE',
      });
    } finally {
      await plain.close();
    }
  });
});
