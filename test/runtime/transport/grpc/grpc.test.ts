// gRPC end to end: generated registration on a real GrpcServer, called by a
// proto-loader client built from the .proto at run time and by the generated client.
import { getEventListeners, once } from 'node:events';
import http2 from 'node:http2';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { pino } from 'pino';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  GrpcClientConn,
  GrpcServer,
  HealthDefinition,
  ServingStatus,
} from '../../../../src/runtime/transport/grpc/index.js';
import { decodeStatus, STATUS_DETAILS_KEY } from '../../../../src/runtime/errors/status.js';
import { isServiceError, type ServiceError } from '../../../../src/runtime/errors/errors.js';
import type { Context } from '../../../../src/runtime/transport/context.js';
import { repoRoot } from '../../../helpers/cli.js';
import { generateFixture } from '../../../helpers/generated.js';
import { waitFor } from '../../../helpers/process.js';

let server: GrpcServer;
let address: string;
let userErrors: any;
let userGrpc: any;
const seenHeaders: (string | undefined)[] = [];
/** The Context of the last call per user id. */
const contexts = new Map<string, Context>();

beforeAll(async () => {
  const dir = generateFixture('grpc', 'user');
  userGrpc = await import(path.join(dir, 'user/v1/user_grpc.ts'));
  userErrors = await import(path.join(dir, 'user/v1/error_reason_errors.ts'));
  server = new GrpcServer({
    address: '127.0.0.1:0',
    timeoutMs: 300,
    reflection: {
      protoFiles: ['user/v1/user.proto'],
      includeDirs: [path.join(repoRoot, 'fixtures', 'user'), path.join(repoRoot, 'proto')],
    },
  });
  userGrpc.registerUserServiceGRPCServer(server, {
    async getUser(ctx: Context, req: { id: string }) {
      seenHeaders.push(ctx.transport.requestHeader.get('x-request-id'));
      contexts.set(req.id, ctx);
      // Answers only when the call is aborted (caller cancels, deadline passes).
      if (req.id === '777' || req.id === '778')
        return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      if (req.id === '701') void ctx.signal; // looks at the signal, then answers
      if (req.id === '404') throw userErrors.errorUserNotFound('user 404 not found', { id: req.id });
      if (req.id === '999') throw new Error('secret connection string');
      if (req.id === '888') return new Promise(() => {});
      if (req.id === '710') ctx.transport.replyHeader.set('x-note', 'line one\nline two');
      if (req.id === '711') ctx.transport.replyHeader.set('bad key!', 'v');
      return { id: req.id, name: 'ada', email: 'ada@example.com', createTime: new Date('2024-01-01T00:00:00Z') };
    },
    async createUser() {
      throw userErrors.errorUserAlreadyExists();
    },
    async updateUser() {
      throw userErrors.errorUserNotFound();
    },
    async deleteUser() {
      return {};
    },
    async listUsers() {
      return { users: [], nextPageToken: '' };
    },
  });
  await server.start();
  address = `127.0.0.1:${server.listenPort}`;
});

afterAll(async () => {
  await server?.stop({ timeoutMs: 1000 });
});

function loaderClient(target = address) {
  const def = protoLoader.loadSync('user/v1/user.proto', {
    includeDirs: [path.join(repoRoot, 'fixtures', 'user'), path.join(repoRoot, 'proto')],
    longs: String,
    defaults: true,
  });
  const pkg = grpc.loadPackageDefinition(def) as any;
  return new pkg.user.v1.UserService(target, grpc.credentials.createInsecure());
}

function unary(client: any, method: string, req: object, md = new grpc.Metadata(), deadlineMs = 2000): Promise<any> {
  return new Promise((resolve, reject) =>
    client[method](req, md, { deadline: Date.now() + deadlineMs }, (err: any, res: any) =>
      err ? reject(err) : resolve(res),
    ),
  );
}

describe('gRPC server', () => {
  it('serves generated registrations to an independent client, with metadata in the context', async () => {
    const client = loaderClient();
    const md = new grpc.Metadata();
    md.set('x-request-id', 'abc');
    const res = await unary(client, 'GetUser', { id: '42' }, md);
    expect(res).toMatchObject({ id: '42', name: 'ada', email: 'ada@example.com' });
    expect(seenHeaders.at(-1)).toBe('abc');
    client.close();
  });

  it('maps errors to status codes with ErrorInfo details', async () => {
    const client = loaderClient();
    const err = await unary(client, 'GetUser', { id: '404' }).catch((e) => e);
    expect(err.code).toBe(grpc.status.NOT_FOUND);
    expect(err.details).toBe('user 404 not found');
    const status = decodeStatus(err.metadata.get(STATUS_DETAILS_KEY)[0]);
    expect(status.errorInfo).toEqual({ reason: 'USER_NOT_FOUND', domain: '', metadata: { id: '404' } });
    const conflict = await unary(client, 'CreateUser', {}).catch((e) => e);
    expect(conflict.code).toBe(grpc.status.ABORTED);
    client.close();
  });

  it('rejects invalid UTF-8 in a string field as INVALID_ARGUMENT before the handler, keeping valid UTF-8', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const call = (bytes: number[]) =>
      new Promise<grpc.ServiceError | null>((resolve) =>
        client.makeUnaryRequest(
          '/user.v1.UserService/CreateUser',
          (b: Buffer) => b,
          (b: Buffer) => b,
          Buffer.from(bytes),
          (err) => resolve(err),
        ),
      );
    // CreateUserRequest{ user: User{ name: <bytes> } }: field 1 (message) holding field 2 (string).
    const invalid = await call([0x0a, 0x04, 0x12, 0x02, 0xff, 0xfe]);
    expect(invalid?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(invalid?.details).toMatch(/^the request does not decode/);
    const valid = await call([0x0a, 0x05, 0x12, 0x03, 0xc3, 0xa9, 0x61]); // "éa" reaches the handler
    expect(valid?.code).toBe(grpc.status.ABORTED);
    client.close();
  });

  it('refuses a request message over maxReceiveMessageBytes RESOURCE_EXHAUSTED, and takes one at the limit', async () => {
    const s = new GrpcServer({ address: '127.0.0.1:0', maxReceiveMessageBytes: 1024 });
    userGrpc.registerUserServiceGRPCServer(s, {
      createUser: async (_ctx: Context, req: { user: { name: string } }) => ({ name: String(req.user.name.length) }),
    });
    await s.start();
    const client = loaderClient(`127.0.0.1:${s.listenPort}`);
    try {
      // CreateUserRequest{ user: User{ name } }: a tag and two length bytes around each.
      expect(await unary(client, 'CreateUser', { user: { name: 'x'.repeat(1018) } })).toMatchObject({ name: '1018' });
      const refused = await unary(client, 'CreateUser', { user: { name: 'x'.repeat(1019) } }).catch((e) => e);
      expect(refused.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect(refused.details).toMatch(/larger than max \(1025 vs 1024\)/);
    } finally {
      client.close();
      await s.stop({ timeoutMs: 100 });
    }
  });

  it('passes channelOptions to grpc-js: the streams a connection may open', async () => {
    const s = new GrpcServer({ address: '127.0.0.1:0', channelOptions: { 'grpc.max_concurrent_streams': 7 } });
    await s.start();
    const session = http2.connect(`http://127.0.0.1:${s.listenPort}`);
    try {
      await once(session, 'remoteSettings');
      expect(session.remoteSettings.maxConcurrentStreams).toBe(7);
    } finally {
      session.close();
      await s.stop({ timeoutMs: 100 });
    }
  });

  // Node 22+ lets a server set HTTP/2's stream reset limits; on older lines grpc-js keeps nghttp2's.
  it.skipIf(Number(process.versions.node.split('.')[0]) < 22)(
    'keeps the connection of a caller whose calls keep timing out, so each ends DEADLINE_EXCEEDED',
    async () => {
      const s = new GrpcServer({ address: '127.0.0.1:0', timeoutMs: 0 });
      userGrpc.registerUserServiceGRPCServer(s, {
        getUser: () => new Promise((resolve) => setTimeout(() => resolve({ id: '1' }), 1500)),
      });
      await s.start();
      const client = new grpc.Client(`127.0.0.1:${s.listenPort}`, grpc.credentials.createInsecure());
      const outcomes: Record<string, number> = {};
      try {
        // 2000 calls, 800 a second, each given up at 100 ms: past nghttp2's default of a
        // burst of 1000 resets and then 33 a second.
        const calls: Promise<void>[] = [];
        for (let batch = 0; batch < 100; batch++) {
          for (let i = 0; i < 20; i++)
            calls.push(
              new Promise((resolve) =>
                client.makeUnaryRequest(
                  '/user.v1.UserService/GetUser',
                  (b: Buffer) => b,
                  (b: Buffer) => b,
                  Buffer.alloc(0),
                  { deadline: Date.now() + 100 },
                  (err) => {
                    const key = err ? grpc.status[err.code] : 'OK';
                    outcomes[key] = (outcomes[key] ?? 0) + 1;
                    resolve();
                  },
                ),
              ),
            );
          await new Promise((r) => setTimeout(r, 25));
        }
        await Promise.all(calls);
        expect(outcomes).toEqual({ DEADLINE_EXCEEDED: 2000 });
      } finally {
        client.close();
        await s.stop({ timeoutMs: 100 });
      }
    },
    30_000,
  );

  it('hides the message of non-service errors', async () => {
    const client = loaderClient();
    const err = await unary(client, 'GetUser', { id: '999' }).catch((e) => e);
    expect(err.code).toBe(grpc.status.INTERNAL);
    expect(err.details).not.toContain('secret');
    client.close();
  });

  it('answers a reply header gRPC cannot carry with INTERNAL, and lives on', async () => {
    const client = loaderClient();
    for (const id of ['710', '711']) {
      const err = await unary(client, 'GetUser', { id }).catch((e) => e);
      expect(err.code).toBe(grpc.status.INTERNAL);
    }
    expect(await unary(client, 'GetUser', { id: '43' })).toMatchObject({ id: '43' });
    client.close();
  });

  it('enforces the server deadline on a handler that never answers', async () => {
    const client = loaderClient();
    const err = await unary(client, 'GetUser', { id: '888' }).catch((e) => e);
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    client.close();
  });

  it('aborts the call context when the caller cancels', async () => {
    const client = loaderClient();
    const call = client.GetUser({ id: '777' }, (err: grpc.ServiceError) => void err);
    await waitFor(async () => contexts.has('777'), 'the cancelled call to start', 200, 5);
    call.cancel();
    const signal = contexts.get('777')!.signal;
    await waitFor(async () => signal.aborted, 'the signal to abort', 200, 5);
    expect(isServiceError(signal.reason) && (signal.reason as ServiceError).code).toBe(499);
    expect((signal.reason as ServiceError).reason).toBe('CANCELLED');
    client.close();
  });

  it('takes a caller that cancels at its deadline for the deadline passing, as an upstream timer does', async () => {
    const client = loaderClient();
    const call = client.GetUser({ id: '778' }, { deadline: Date.now() + 200 }, (err: grpc.ServiceError) => void err);
    await waitFor(async () => contexts.has('778'), 'the call to start', 200, 5);
    await new Promise((r) => setTimeout(r, 195 - 10));
    call.cancel();
    const signal = contexts.get('778')!.signal;
    await waitFor(async () => signal.aborted, 'the signal to abort', 200, 5);
    expect(signal.reason).toMatchObject({ code: 504, reason: 'TIMEOUT' });
    client.close();
  });

  it('leaves the signal of an answered call alone when its stream closes afterwards', async () => {
    const client = loaderClient();
    await unary(client, 'GetUser', { id: '701' });
    await unary(client, 'GetUser', { id: '702' });
    await new Promise((r) => setTimeout(r, 50)); // grpc-js reports the closed stream as cancelled
    expect(contexts.get('701')!.signal.aborted).toBe(false);
    expect(contexts.get('702')!.signal.aborted).toBe(false);
    client.close();
  });

  it('times out at the caller deadline when it is sooner than the server timeout, with the TIMEOUT reason', async () => {
    const client = loaderClient();
    const sent = Date.now();
    const err = await unary(client, 'GetUser', { id: '888' }, new grpc.Metadata(), 100).catch((e) => e);
    expect(err.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - sent).toBeLessThan(300); // not the server's own 300 ms
    expect(Math.abs(contexts.get('888')!.deadline! - (sent + 100))).toBeLessThan(50);
    const details = err.metadata.get(STATUS_DETAILS_KEY)[0];
    if (details) expect(decodeStatus(details).errorInfo?.reason).toBe('TIMEOUT');
    client.close();
  });

  it('answers the standard health service', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const check = (service: string) =>
      new Promise<any>((resolve, reject) =>
        client.makeUnaryRequest(
          HealthDefinition.check.path,
          HealthDefinition.check.requestSerialize,
          HealthDefinition.check.responseDeserialize,
          { service },
          (err, res) => (err ? reject(err) : resolve(res)),
        ),
      );
    expect((await check('')).status).toBe(ServingStatus.SERVING);
    expect((await check('user.v1.UserService')).status).toBe(ServingStatus.SERVING);
    await expect(check('nope.Service')).rejects.toMatchObject({ code: grpc.status.NOT_FOUND });
    client.close();
  });

  it('lists every service it answers for with its status (Health/List), read as raw protobuf', async () => {
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const bytes = await new Promise<Buffer>((resolve, reject) =>
      client.makeUnaryRequest(
        '/grpc.health.v1.Health/List',
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.alloc(0),
        (err, res) => (err ? reject(err) : resolve(res!)),
      ),
    );
    client.close();
    // HealthListResponse{ map<string, HealthCheckResponse{ status = 1 }> statuses = 1 }
    const statuses: Record<string, number> = {};
    const r = new BinaryReader(bytes);
    while (r.pos < r.len) {
      r.tag();
      const entry = new BinaryReader(r.bytes());
      let key = '';
      let status = 0;
      while (entry.pos < entry.len) {
        const [field] = entry.tag();
        if (field === 1) key = entry.string();
        else {
          const value = new BinaryReader(entry.bytes());
          value.tag();
          status = value.int32();
        }
      }
      statuses[key] = status;
    }
    expect(statuses).toMatchObject({
      '': ServingStatus.SERVING,
      'grpc.health.v1.Health': ServingStatus.SERVING,
      'user.v1.UserService': ServingStatus.SERVING,
    });
  });
});

describe('the health Watch stream', () => {
  it('hears of the drain at once, and is ended UNAVAILABLE when the server stops rather than holding the stop', async () => {
    let ready = true;
    const s = new GrpcServer({ address: '127.0.0.1:0', health: { isServing: () => ready } });
    await s.start();
    const client = new grpc.Client(`127.0.0.1:${s.listenPort}`, grpc.credentials.createInsecure());
    const statuses: number[] = [];
    const stream = client.makeServerStreamRequest(
      HealthDefinition.watch.path,
      HealthDefinition.watch.requestSerialize,
      HealthDefinition.watch.responseDeserialize,
      { service: '' },
    );
    stream.on('data', (res: { status: number }) => statuses.push(res.status));
    const ended = new Promise<grpc.StatusObject>((resolve) => stream.on('status', resolve));
    stream.on('error', () => {});
    await expect.poll(() => statuses).toEqual([ServingStatus.SERVING]);
    ready = false;
    s.drain();
    // Sooner than the stream's once-a-second poll would tell it.
    await expect
      .poll(() => statuses, { timeout: 500, interval: 10 })
      .toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
    // A stop timeout far beyond the test's: the open stream must not hold the stop.
    await s.stop({ timeoutMs: 60_000 });
    expect(await ended).toMatchObject({ code: grpc.status.UNAVAILABLE, details: 'the server is stopping' });
    client.close();
  });
});

describe('services with streaming methods', () => {
  it('register every method; a stream the implementation lacks answers UNIMPLEMENTED', async () => {
    const dir = generateFixture('grpc-stream', 'edge');
    const edge = await import(path.join(dir, 'edge/v1/edge_grpc.ts'));
    const messages = await import(path.join(dir, 'edge/v1/edge.ts'));
    const s = new GrpcServer({ address: '127.0.0.1:0' });
    const ping = async (_ctx: unknown, req: { message: string }) => ({ message: req.message, receivedAt: new Date(0) });
    const unary = Object.fromEntries(
      ['getBook', 'getByName', 'getFile', 'publishBook', 'updateBook', 'listBooks', 'deleteBook', 'searchBooks'].map(
        (k) => [k, async () => ({})],
      ),
    );
    const watchBooks = async (_ctx: unknown, _req: unknown, send: (b: unknown) => Promise<void>) => {
      for (const title of ['a', 'b']) await send(messages.Book.fromPartial({ title }));
    };
    edge.registerLibraryGRPCServer(s, { ...unary, ping, watchBooks });
    // Registered directly, without the generated function: grpc-js answers the missing stream UNIMPLEMENTED.
    const bare = new GrpcServer({ address: '127.0.0.1:0' });
    bare.register(messages.LibraryService, { ...unary, ping });
    await Promise.all([s.start(), bare.start()]);
    const conn = new GrpcClientConn({ target: `127.0.0.1:${s.listenPort}` });
    expect(await new edge.LibraryGRPCClient(conn).ping({ message: 'hi' })).toMatchObject({ message: 'hi' });
    const client = new grpc.Client(`127.0.0.1:${s.listenPort}`, grpc.credentials.createInsecure());
    const stream = client.makeServerStreamRequest(
      '/edge.v1.Library/WatchBooks',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
    );
    const titles: string[] = [];
    stream.on('data', (b: Buffer) => titles.push(messages.Book.decode(b).title));
    const ok = await new Promise((resolve) => stream.on('status', (st: grpc.StatusObject) => resolve(st.code)));
    expect(ok).toBe(grpc.status.OK);
    expect(titles).toEqual(['a', 'b']);
    const bareClient = new grpc.Client(`127.0.0.1:${bare.listenPort}`, grpc.credentials.createInsecure());
    const missing = bareClient.makeServerStreamRequest(
      '/edge.v1.Library/WatchBooks',
      (b: Buffer) => b,
      (b: Buffer) => b,
      Buffer.alloc(0),
    );
    const code = await new Promise((resolve) => missing.on('error', (e: grpc.ServiceError) => resolve(e.code)));
    expect(code).toBe(grpc.status.UNIMPLEMENTED);
    client.close();
    bareClient.close();
    await conn.close();
    await Promise.all([s.stop({ timeoutMs: 200 }), bare.stop({ timeoutMs: 200 })]);
  });
});

describe('server reflection', () => {
  it('lists the registered services to a reflection client', async () => {
    // grpc.reflection.v1.ServerReflectionRequest { list_services = 7 }, answered by
    // ServerReflectionResponse { list_services_response = 6 { service = 1 { name = 1 } } }.
    const client = new grpc.Client(address, grpc.credentials.createInsecure());
    const call = client.makeBidiStreamRequest(
      '/grpc.reflection.v1.ServerReflection/ServerReflectionInfo',
      (req: Buffer) => req,
      (res: Buffer) => res,
    );
    const reply = new Promise<Buffer>((resolve, reject) => {
      call.once('data', resolve);
      call.once('error', reject);
    });
    call.write(Buffer.concat([Buffer.from([0x3a, 1]), Buffer.from('*')]));
    const bytes = await reply;
    call.end();
    client.close();
    const names: string[] = [];
    const r = new BinaryReader(bytes);
    while (r.pos < r.len) {
      const [f, w] = r.tag();
      if (f !== 6) {
        r.skip(w, f);
        continue;
      }
      const list = new BinaryReader(r.bytes());
      while (list.pos < list.len) {
        const [lf, lw] = list.tag();
        if (lf !== 1) {
          list.skip(lw, lf);
          continue;
        }
        const svc = new BinaryReader(list.bytes());
        while (svc.pos < svc.len) {
          const [sf, sw] = svc.tag();
          if (sf === 1) names.push(svc.string());
          else svc.skip(sw, sf);
        }
      }
    }
    expect(names).toContain('user.v1.UserService');
  });
});

describe('generated gRPC client', () => {
  it('returns replies and rebuilds ServiceErrors with reason and metadata', async () => {
    const conn = new GrpcClientConn({ target: address });
    const client = new userGrpc.UserServiceGRPCClient(conn);
    const user = await client.getUser({ id: '7' }, { headers: { 'x-request-id': 'r7' } });
    expect(user).toMatchObject({ id: '7', name: 'ada' });
    expect(seenHeaders.at(-1)).toBe('r7');
    const err = (await client.getUser({ id: '404' }).catch((e: unknown) => e)) as ServiceError;
    expect(isServiceError(err)).toBe(true);
    expect(userErrors.isUserNotFound(err)).toBe(true);
    expect(err.metadata).toEqual({ id: '404' });
    const conflict = await client.createUser({}).catch((e: unknown) => e);
    expect(userErrors.isUserAlreadyExists(conflict)).toBe(true);
    await conn.close();
  });

  it('leaves no listener on a long-lived signal once its calls end, and still cancels through it', async () => {
    const conn = new GrpcClientConn({ target: address });
    const client = new userGrpc.UserServiceGRPCClient(conn);
    const shutdown = new AbortController();
    for (let i = 0; i < 20; i++) await client.getUser({ id: String(i) }, { signal: shutdown.signal });
    await client.getUser({ id: '404' }, { signal: shutdown.signal }).catch(() => undefined);
    expect(getEventListeners(shutdown.signal, 'abort')).toHaveLength(0);
    const hanging = client.getUser({ id: '888' }, { signal: shutdown.signal }).catch((e: unknown) => e);
    await waitFor(
      async () => getEventListeners(shutdown.signal, 'abort').length === 1,
      'the call to listen on the signal',
      200,
      5,
    );
    shutdown.abort();
    expect(((await hanging) as ServiceError).reason).toBe('CANCELLED');
    await conn.close();
  });
});

describe('graceful stop', () => {
  it('lets an in-flight call finish and returns then, though the client keeps its channel open', async () => {
    const s = new GrpcServer({ address: '127.0.0.1:0', timeoutMs: 5000 });
    userGrpc.registerUserServiceGRPCServer(s, {
      async getUser(_ctx: Context, req: { id: string }) {
        await new Promise((r) => setTimeout(r, 300));
        return { id: req.id, name: 'late', email: '', createTime: new Date(0) };
      },
    });
    await s.start();
    const client = loaderClient(`127.0.0.1:${s.listenPort}`);
    try {
      const inFlight = unary(client, 'GetUser', { id: '5' }, new grpc.Metadata(), 10_000);
      await new Promise((r) => setTimeout(r, 50));
      // A window far longer than the test: the stop must end with the call, not with the window.
      const stopped = s.stop({ timeoutMs: 60_000 }).then(() => 'stopped');
      expect(await inFlight).toMatchObject({ id: '5', name: 'late' });
      const settled = await Promise.race([
        stopped,
        new Promise((r) => setTimeout(() => r('still stopping 2 s after the call'), 2000)),
      ]);
      expect(settled).toBe('stopped');
      const refused = await unary(client, 'GetUser', { id: '6' }, new grpc.Metadata(), 1000).catch((e) => e);
      expect(refused.code).toBe(grpc.status.UNAVAILABLE);
    } finally {
      client.close();
    }
  });

  it('answers calls that outlive the stop timeout UNAVAILABLE, which a caller may retry elsewhere, in one warn line', async () => {
    // With a server timeout (the calls are in its deadline queue) and without one.
    for (const timeoutMs of [0, 60_000]) {
      const lines: Record<string, unknown>[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
      const s = new GrpcServer({ address: '127.0.0.1:0', timeoutMs, logger });
      const aborted: unknown[] = [];
      userGrpc.registerUserServiceGRPCServer(s, {
        getUser: (ctx: Context) =>
          new Promise(() => ctx.signal.addEventListener('abort', () => aborted.push(ctx.signal.reason))),
      });
      await s.start();
      const client = loaderClient(`127.0.0.1:${s.listenPort}`);
      try {
        const inFlight = [1, 2].map((id) =>
          unary(client, 'GetUser', { id: String(id) }, undefined, 10_000).catch((e) => e),
        );
        await new Promise((r) => setTimeout(r, 100));
        await s.stop({ timeoutMs: 100 });
        for (const err of await Promise.all(inFlight)) {
          expect(err.code, String(timeoutMs)).toBe(grpc.status.UNAVAILABLE);
          expect(err.details).toBe('the server stopped before the call finished');
        }
        expect(aborted).toHaveLength(2);
        expect(lines.filter((l) => l['msg'] === 'calls still running at the stop timeout were cut')).toEqual([
          expect.objectContaining({ level: 40, transport: 'grpc', calls: 2 }),
        ]);
      } finally {
        client.close();
      }
    }
  });
});
