// A client whose service cannot be reached (no instance registered, or the instance is
// gone) answers 503 SERVICE_UNAVAILABLE naming that service, over both transports and
// for direct and discovery:/// targets. The error survives a further hop unchanged, and a
// 503 the called service raises itself is not mistaken for it. Real servers on loopback;
// the outer callers are plain fetch and a raw grpc-js client.
import * as grpc from '@grpc/grpc-js';
import * as http from 'node:http';
import * as http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrCircuitBreaker } from '../../../src/runtime/errors/catalogue.js';
import { decodeStatus, STATUS_DETAILS_KEY } from '../../../src/runtime/errors/status.js';
import type { Discovery, ServiceInstance } from '../../../src/runtime/registry/registry.js';
import type { ClientOptions } from '../../../src/runtime/transport/client-options.js';
import { GrpcClientConn } from '../../../src/runtime/transport/grpc/index.js';
import { unavailableDetail } from '../../../src/runtime/transport/grpc/client.js';
import { HttpClient } from '../../../src/runtime/transport/http/index.js';
import { MemoryDiscovery, serveWho, whoMethod as who, whoRoute as route } from '../../helpers/who-service.js';

/** An instance of "inventory" that was registered and then stopped: its ports refuse connections. */
let stopped: { http: string; grpc: string; instance: ServiceInstance };
const closers: (() => Promise<void>)[] = [];

beforeAll(async () => {
  const inventory = await serveWho(async () => ({ who: 'inventory' }));
  stopped = {
    http: `http://127.0.0.1:${inventory.http.listenPort}`,
    grpc: `127.0.0.1:${inventory.grpc.listenPort}`,
    instance: inventory.instanceAs('i1', 'inventory'),
  };
  await inventory.http.stop({ timeoutMs: 0 });
  await inventory.grpc.stop({ timeoutMs: 0 });
});

afterAll(async () => {
  for (const close of closers.reverse()) await close();
});

function grpcClient(options: ConstructorParameters<typeof GrpcClientConn>[0]): GrpcClientConn {
  const conn = new GrpcClientConn({ timeoutMs: 3000, ...options });
  closers.push(() => conn.close());
  return conn;
}

function httpClient(options: ConstructorParameters<typeof HttpClient>[0]): HttpClient {
  const client = new HttpClient({ timeoutMs: 3000, ...options });
  closers.push(() => client.close());
  return client;
}

async function failure(
  call: Promise<unknown>,
): Promise<{ code: number; reason: string; message: string; metadata: Record<string, string> }> {
  const err = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, 'the call should fail').toBeDefined();
  return err as never;
}

describe('a called service that cannot be reached: 503 SERVICE_UNAVAILABLE naming it', () => {
  const nobody = new MemoryDiscovery([]);

  /** One call through each transport's client with these options; its failure. */
  const transports = {
    gRPC: { kind: 'grpc', call: (o: ClientOptions) => failure(grpcClient(o).invoke(who, { who: '' })) },
    HTTP: { kind: 'http', call: (o: ClientOptions) => failure(httpClient(o).invoke(route, { who: '' })) },
  };
  for (const [name, { kind, call }] of Object.entries(transports)) {
    it(`${name}, discovery:/// with no instance registered`, async () => {
      const err = await call({ target: 'discovery:///inventory', discovery: nobody });
      expect(err).toMatchObject({
        code: 503,
        reason: 'SERVICE_UNAVAILABLE',
        metadata: { service: 'inventory', target: 'discovery:///inventory' },
      });
      expect(err.message).toMatch(
        new RegExp(
          `^the inventory service is unavailable: no instance with ${kind === 'http' ? 'an' : 'a'} ${kind} endpoint is registered`,
        ),
      );
    });

    it(`${name}, discovery:/// whose only instance is registered but stopped`, async () => {
      const err = await call({ target: 'discovery:///inventory', discovery: new MemoryDiscovery([stopped.instance]) });
      expect(err).toMatchObject({
        code: 503,
        reason: 'SERVICE_UNAVAILABLE',
        metadata: { service: 'inventory', target: 'discovery:///inventory' },
      });
      expect(err.message).toContain('the inventory service is unavailable');
      // HTTP's message also names the instance it tried.
      if (kind === 'http') expect(err.message).toContain(stopped.http);
      if (kind === 'grpc')
        expect(err.message).toMatch(
          /^the inventory service is unavailable: no registered instance could be reached(: connect ECONNREFUSED [\d.]+:\d+)?$/,
        );
    });
  }

  it('gRPC, direct address of a stopped service', async () => {
    const err = await failure(grpcClient({ target: stopped.grpc, service: 'inventory' }).invoke(who, { who: '' }));
    expect(err).toMatchObject({
      code: 503,
      reason: 'SERVICE_UNAVAILABLE',
      metadata: { service: 'inventory', target: stopped.grpc },
    });
    // grpc-js's reason, without its empty resolution note or a doubled "Error:".
    expect(err.message).toMatch(
      /^the inventory service is unavailable: No connection established\. Last error: connect ECONNREFUSED [\d.]+:\d+$/,
    );
  });

  it('gRPC, a service that closes the connection with an error under the call (GOAWAY INTERNAL_ERROR)', async () => {
    // What Node's HTTP/2 does to a connection it judges abusive: in-flight calls lose it.
    const server = http2.createServer();
    server.on('stream', (stream) => stream.session?.goaway(http2.constants.NGHTTP2_INTERNAL_ERROR));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
    const target = `127.0.0.1:${(server.address() as AddressInfo).port}`;
    const err = await failure(grpcClient({ target, service: 'inventory' }).invoke(who, { who: '' }));
    expect(err).toMatchObject({ code: 503, reason: 'SERVICE_UNAVAILABLE', metadata: { service: 'inventory' } });
    expect(err.message).toMatch(/^the inventory service is unavailable: .*Session closed with error code 2/);
  });

  it('gRPC streams, direct address of a stopped service: each kind fails as a unary call does', async () => {
    const conn = grpcClient({ target: stopped.grpc, service: 'inventory' });
    const stream = (requestStream: boolean, responseStream: boolean) => ({ ...who, requestStream, responseStream });
    const drain = async (responses: AsyncIterable<unknown>) => {
      for await (const _ of responses);
    };
    const failures = [
      await failure(drain(conn.serverStream(stream(false, true), { who: '' }))),
      await failure(conn.clientStream(stream(true, false), [{ who: '' }])),
      await failure(drain(conn.bidiStream(stream(true, true), [{ who: '' }]))),
    ];
    for (const err of failures) {
      expect(err).toMatchObject({
        code: 503,
        reason: 'SERVICE_UNAVAILABLE',
        metadata: { service: 'inventory', target: stopped.grpc },
      });
      expect(err.message).toMatch(/^the inventory service is unavailable: No connection established/);
    }
  });

  it('gRPC, direct address and no service name: the target is named', async () => {
    const err = await failure(grpcClient({ target: stopped.grpc }).invoke(who, { who: '' }));
    expect(err).toMatchObject({ code: 503, reason: 'SERVICE_UNAVAILABLE', metadata: { target: stopped.grpc } });
    expect(err.metadata).not.toHaveProperty('service');
    expect(err.message).toContain(`${stopped.grpc} is unavailable`);
  });

  it('HTTP, direct address of a stopped service', async () => {
    const err = await failure(httpClient({ target: stopped.http, service: 'inventory' }).invoke(route, { who: '' }));
    expect(err).toMatchObject({
      code: 503,
      reason: 'SERVICE_UNAVAILABLE',
      metadata: { service: 'inventory', target: stopped.http },
    });
    expect(err.message).toContain('ECONNREFUSED');
  });

  it('HTTP, a registry that fails to answer is 503 too, and asked again on the next call', async () => {
    let asked = 0;
    const broken: Discovery = {
      getService: async () => [],
      watch: async () => {
        asked++;
        throw new Error('connection refused');
      },
    };
    const client = httpClient({ target: 'discovery:///inventory', discovery: broken });
    for (let i = 0; i < 2; i++) {
      const err = await failure(client.invoke(route, { who: '' }));
      expect(err).toMatchObject({ code: 503, reason: 'SERVICE_UNAVAILABLE', metadata: { service: 'inventory' } });
      expect(err.message).toContain('the registry did not answer: connection refused');
    }
    expect(asked).toBe(2);
  });
});

describe('an HTTP instance that drops the connection in the middle of its answer', () => {
  // A reply cut off after its first bytes: the service died or was killed mid-answer,
  // which grpc-js reports as UNAVAILABLE too.
  let target: string;
  beforeAll(async () => {
    const server = http.createServer((req, res) => {
      const sse = req.headers.accept === 'text/event-stream';
      res.writeHead(200, { 'content-type': sse ? 'text/event-stream' : 'application/json' });
      res.write(sse ? 'data: {"who":"first"}\n\n' : '{"who":');
      setTimeout(() => req.socket.destroy(), 20);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    closers.push(() => new Promise((resolve) => server.close(() => resolve())));
  });

  it('a unary call fails 503 SERVICE_UNAVAILABLE naming the service', async () => {
    const err = await failure(httpClient({ target, service: 'inventory' }).invoke(route, { who: '' }));
    expect(err).toMatchObject({ code: 503, reason: 'SERVICE_UNAVAILABLE', metadata: { service: 'inventory', target } });
    expect(err.message).toContain(`the inventory service is unavailable: ${target}`);
  });

  it('a stream fails the same way after the events that came', async () => {
    const seen: string[] = [];
    const read = async () => {
      for await (const m of httpClient({ target, service: 'inventory' }).stream(route, { who: '' })) seen.push(m.who);
    };
    const err = await failure(read());
    expect(seen).toEqual(['first']);
    expect(err).toMatchObject({ code: 503, reason: 'SERVICE_UNAVAILABLE', metadata: { service: 'inventory', target } });
  });
});

describe('across a further hop', () => {
  let front: { http: string; grpc: string };

  beforeAll(async () => {
    // "shop" calls inventory (stopped) over gRPC; its /t.S/Who lets the client's error through.
    const inventory = grpcClient({ target: stopped.grpc, service: 'inventory' });
    // "own503" raises a 503 of its own (an open circuit breaker), which is not about reachability.
    const handler = async (_ctx: unknown, req: { who: string }) => {
      if (req.who === 'own503') throw ErrCircuitBreaker('breaker open');
      return inventory.invoke(who, req);
    };
    const shop = await serveWho(handler, { errorDomain: 'shop' });
    closers.push(
      () => shop.http.stop({ timeoutMs: 200 }),
      () => shop.grpc.stop({ timeoutMs: 200 }),
    );
    front = { http: `http://127.0.0.1:${shop.http.listenPort}`, grpc: `127.0.0.1:${shop.grpc.listenPort}` };
  });

  it('an HTTP caller of the front service gets 503 SERVICE_UNAVAILABLE naming inventory', async () => {
    const res = await fetch(`${front.http}/t.S/Who`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"who":"x"}',
    });
    expect(res.status).toBe(503);
    const body = (await res.json()) as { reason: string; message: string; metadata: Record<string, string> };
    expect(body).toMatchObject({
      code: 503,
      reason: 'SERVICE_UNAVAILABLE',
      metadata: { service: 'inventory', target: stopped.grpc },
    });
    expect(body.message).toContain('the inventory service is unavailable');
  });

  it('a gRPC caller gets UNAVAILABLE with ErrorInfo naming inventory; our client keeps it as sent', async () => {
    const raw = new grpc.Client(front.grpc, grpc.credentials.createInsecure());
    closers.push(async () => raw.close());
    const status = await new Promise<grpc.ServiceError>((resolve) => {
      raw.makeUnaryRequest(
        who.path,
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from('x'),
        (err) => resolve(err!),
      );
    });
    expect(status.code).toBe(grpc.status.UNAVAILABLE);
    const details = decodeStatus(status.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer);
    expect(details.errorInfo).toMatchObject({
      reason: 'SERVICE_UNAVAILABLE',
      domain: 'shop',
      metadata: { service: 'inventory' },
    });

    // The front answered, with details: its client must not rename the error after "shop".
    const err = await failure(grpcClient({ target: front.grpc, service: 'shop' }).invoke(who, { who: 'x' }));
    expect(err).toMatchObject({
      code: 503,
      reason: 'SERVICE_UNAVAILABLE',
      metadata: { service: 'inventory', target: stopped.grpc },
    });
  });

  it('a 503 the called service raises itself keeps its own reason', async () => {
    const viaGrpc = await failure(grpcClient({ target: front.grpc, service: 'shop' }).invoke(who, { who: 'own503' }));
    expect(viaGrpc).toMatchObject({ code: 503, reason: 'CIRCUITBREAKER' });
    const viaHttp = await failure(httpClient({ target: front.http, service: 'shop' }).invoke(route, { who: 'own503' }));
    expect(viaHttp).toMatchObject({ code: 503, reason: 'CIRCUITBREAKER' });
  });
});

describe("grpc-js's reasons, as a 503's message tells them", () => {
  it("keeps a direct target's reason without its empty parts", () => {
    expect(
      unavailableDetail(
        'No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.5:9000. Resolution note: ',
      ),
    ).toBe('No connection established. Last error: connect ECONNREFUSED 10.0.0.5:9000');
  });
  it("says what round_robin's nested message means, and its innermost reason when there is one", () => {
    const refused =
      'round_robin: No connection established. Last error: No connection established. Last error: Error: connect ECONNREFUSED 10.0.0.5:9000';
    const waiting = 'round_robin: No connection established. Last error: No connection established. Last error: null';
    expect(unavailableDetail(refused, true)).toBe(
      'no registered instance could be reached: connect ECONNREFUSED 10.0.0.5:9000',
    );
    expect(unavailableDetail(waiting, true)).toBe('no registered instance could be reached');
    // An address target is balanced round-robin too: its addresses are not registered instances.
    expect(unavailableDetail(refused)).toBe(
      'No connection established. Last error: connect ECONNREFUSED 10.0.0.5:9000',
    );
    expect(unavailableDetail(waiting)).toBe('No connection established');
  });
});
