// Streaming gRPC methods (fixtures/stream) through the server's default middleware:
// called over the network by a @grpc/proto-loader client that shares no generated
// code, and by tsk's generated client. One server span per stream, active for the
// handler, as the OTLP receiver gets it; middleware sees one call that ends with the
// stream; errors leave as mapped status + ErrorInfo; the caller's deadline ends a
// stream DEADLINE_EXCEEDED and aborts ctx.signal.
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { context, ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultClientObservers } from '../../../src/runtime/middleware/index.js';
import { requestHistograms } from '../../../src/runtime/telemetry/request-metrics.js';
import { GrpcClientConn, GrpcServer } from '../../../src/runtime/transport/grpc/index.js';
import { decodeStatus, STATUS_DETAILS_KEY } from '../../../src/runtime/errors/status.js';
import { reason } from '../../../src/runtime/errors/errors.js';
import { repoRoot } from '../../helpers/cli.js';
import { FeedService, type Item } from '../../helpers/feed-service.js';
import { generateFixture } from '../../helpers/generated.js';
import { waitFor } from '../../helpers/process.js';

const svc = new FeedService();
const { ended, sizes, wrapped, aborted, handlerSpan, receiver } = svc;
let server: GrpcServer;
let conn: GrpcClientConn;
let plain: any;
let generated: any;
/** proto-loader's serializers of each Feed method, to size messages without our code. */
let methods: Record<string, grpc.MethodDefinition<object, object>>;

beforeAll(async () => {
  await svc.start();
  const dir = generateFixture('grpc-streaming', 'stream');
  generated = await import(path.join(dir, 'feed/v1/feed_grpc.ts'));
  server = new GrpcServer({ address: '127.0.0.1:0', observers: svc.observers, middleware: svc.middleware });
  generated.registerFeedGRPCServer(server, svc.feed);
  await server.start();
  const definition = protoLoader.loadSync('feed/v1/feed.proto', {
    includeDirs: [path.join(repoRoot, 'fixtures', 'stream'), path.join(repoRoot, 'proto')],
    longs: String,
  });
  methods = definition['feed.v1.Feed'] as unknown as typeof methods;
  const Feed = (grpc.loadPackageDefinition(definition) as any).feed.v1.Feed;
  plain = new Feed(`127.0.0.1:${server.listenPort}`, grpc.credentials.createInsecure());
  conn = new GrpcClientConn({
    target: `127.0.0.1:${server.listenPort}`,
    observers: defaultClientObservers({ logger: svc.logger }),
    timeoutMs: 5000,
  });
}, 60_000);

afterAll(async () => {
  plain?.close();
  await conn?.close();
  await server?.stop({ timeoutMs: 500 });
  await svc.stop();
});

/** Reads a proto-loader server stream to its end: the messages, and the error it ended with. */
function collect(call: grpc.ClientReadableStream<Item>): Promise<{ items: Item[]; error?: grpc.ServiceError }> {
  return new Promise((resolve) => {
    const items: Item[] = [];
    call.on('data', (m: Item) => items.push(m));
    call.on('error', (error: grpc.ServiceError) => resolve({ items, error }));
    call.on('status', (s: grpc.StatusObject) => {
      if (s.code === grpc.status.OK) resolve({ items });
    });
  });
}

describe('server streaming over gRPC', () => {
  it('sends every message in order through the middleware, as one call that ends with the stream', async () => {
    ended.length = 0;
    wrapped.length = 0;
    const { items, error } = await collect(plain.watch({ topic: 'news', count: 5, intervalMs: 5 }));
    expect(error).toBeUndefined();
    expect(items.map((i) => i.id)).toEqual(['news-0', 'news-1', 'news-2', 'news-3', 'news-4']);
    expect(items[4]).toMatchObject({ topic: 'news', text: 'line 4\nnext', seq: '4' });
    await waitFor(async () => ended.length === 1, 'the call to end', 50, 20);
    expect(ended).toEqual([{ operation: '/feed.v1.Feed/Watch', failed: false, reason: '' }]);
    expect(wrapped).toEqual(['in /feed.v1.Feed/Watch', 'out /feed.v1.Feed/Watch']);
    // Counted, not timed: a stream's duration is no latency.
    const watch = { kind: 'grpc', operation: '/feed.v1.Feed/Watch' };
    expect(requestHistograms.server.duration.cell('grpc\u0000/feed.v1.Feed/Watch', watch).count).toBe(0);
    expect(requestHistograms.server.responseSize.cell('grpc\u0000/feed.v1.Feed/Watch', watch).count).toBeGreaterThan(0);
  });

  it('ends a stream that fails mid-way with the mapped status and ErrorInfo, after the messages sent', async () => {
    ended.length = 0;
    const { items, error } = await collect(plain.watch({ topic: 'closing', count: 2, failReason: 'TOPIC_CLOSED' }));
    expect(items.map((i) => i.id)).toEqual(['closing-0', 'closing-1']);
    expect(error?.code).toBe(grpc.status.ABORTED);
    expect(error?.details).toBe('the topic closed');
    const status = decodeStatus(error!.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer);
    expect(JSON.stringify(status)).toContain('TOPIC_CLOSED');
    await waitFor(async () => ended.length === 1, 'the call to end', 50, 20);
    expect(ended[0]).toEqual({ operation: '/feed.v1.Feed/Watch', failed: true, reason: 'TOPIC_CLOSED' });
  });

  it("ends a stream past the caller's deadline DEADLINE_EXCEEDED, aborting ctx.signal", async () => {
    ended.length = 0;
    const started = Date.now();
    const { items, error } = await collect(
      plain.watch({ topic: 'endless', count: 0, intervalMs: 20 }, { deadline: Date.now() + 300 }),
    );
    expect(error?.code).toBe(grpc.status.DEADLINE_EXCEEDED);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(items.length).toBeGreaterThan(2);
    await waitFor(async () => ended.length === 1 && aborted.has('endless'), 'the call to end', 50, 20);
    expect(ended[0]).toEqual({ operation: '/feed.v1.Feed/Watch', failed: true, reason: 'TIMEOUT' });
    expect(reason(aborted.get('endless'))).toBe('TIMEOUT');
  });

  it('aborts ctx.signal when the caller cancels', async () => {
    ended.length = 0;
    const call: grpc.ClientReadableStream<Item> = plain.watch({ topic: 'cancelled', count: 0, intervalMs: 10 });
    await new Promise<void>((resolve) => call.once('data', () => resolve()));
    call.on('error', () => undefined);
    call.cancel();
    await waitFor(async () => ended.length === 1 && aborted.has('cancelled'), 'the call to end', 50, 20);
    expect(ended[0]).toMatchObject({ failed: true, reason: 'CANCELLED' });
    expect(reason(aborted.get('cancelled'))).toBe('CANCELLED');
  });

  it('ends a stream open at the stop timeout UNAVAILABLE with its ErrorInfo, which the caller receives', async () => {
    const stopping = new GrpcServer({ address: '127.0.0.1:0' });
    generated.registerFeedGRPCServer(stopping, svc.feed);
    await stopping.start();
    const Feed = plain.constructor as new (target: string, credentials: grpc.ChannelCredentials) => any;
    const client = new Feed(`127.0.0.1:${stopping.listenPort}`, grpc.credentials.createInsecure());
    try {
      const streams = [1, 2, 3].map(() => {
        const call: grpc.ClientReadableStream<Item> = client.watch({ topic: 'at-stop', count: 0, intervalMs: 20 });
        return { first: new Promise((resolve) => call.once('data', resolve)), done: collect(call) };
      });
      await Promise.all(streams.map((s) => s.first));
      await stopping.stop({ timeoutMs: 100 });
      for (const { done } of streams) {
        const { items, error } = await done;
        expect(items.length).toBeGreaterThan(0);
        expect(error?.code).toBe(grpc.status.UNAVAILABLE);
        expect(error?.details).toBe('the server stopped before the call finished');
        const details = JSON.stringify(decodeStatus(error!.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer));
        expect(details).toContain('SERVICE_UNAVAILABLE');
      }
    } finally {
      client.close();
    }
  });

  it('is traced: one server span for the stream, active for the handler, under the caller trace', async () => {
    const traceId = '5bf92f3577b34da6a3ce929d0e0e4736';
    const md = new grpc.Metadata();
    md.set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`);
    const { items } = await collect(plain.watch({ topic: 'traced', count: 3, intervalMs: 5 }, md));
    expect(items).toHaveLength(3);
    await svc.telemetry.forceFlush();
    await waitFor(async () => receiver.spans.some((s) => s.traceId === traceId), 'the stream span', 100, 50);
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    expect(spans).toHaveLength(1);
    const span = spans[0]!;
    expect(span).toMatchObject({ name: '/feed.v1.Feed/Watch', kind: 2, parentSpanId: '00f067aa0ba902b7' });
    expect(span.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.service': 'feed.v1.Feed',
      'rpc.method': 'Watch',
      'rpc.grpc.status_code': 0,
    });
    expect(handlerSpan.get('traced')).toBe(span.spanId);
  });
});

/** Sends `items` to Echo with the proto-loader client and reads the stream to its end. */
async function echo(items: Partial<Item>[]): Promise<Item[]> {
  const call = plain.echo();
  const got: Item[] = [];
  const done = new Promise<void>((resolve, reject) => {
    call.on('data', (m: Item) => got.push(m));
    call.on('end', () => resolve());
    call.on('error', reject);
  });
  for (const item of items) call.write(item);
  call.end();
  await done;
  return got;
}

describe('client streaming and bidi over gRPC', () => {
  it('reads every request and answers once', async () => {
    ended.length = 0;
    const reply = await new Promise<any>((resolve, reject) => {
      const call = plain.publish((err: Error | null, res: unknown) => (err ? reject(err) : resolve(res)));
      for (const id of ['a', 'b', 'c']) call.write({ id, topic: 't', text: id });
      call.end();
    });
    expect(reply).toEqual({ count: 3, ids: ['a', 'b', 'c'] });
    expect(ended).toEqual([{ operation: '/feed.v1.Feed/Publish', failed: false, reason: '' }]);
  });

  it('answers a failed client stream with the mapped status and reason', async () => {
    const error = await new Promise<grpc.ServiceError>((resolve) => {
      const call = plain.publish((err: grpc.ServiceError) => resolve(err));
      call.write({ id: 'bad' });
      call.end();
    });
    expect(error.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(JSON.stringify(decodeStatus(error.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer))).toContain('BAD_ITEM');
  });

  it('echoes a bidi stream', async () => {
    const got = await echo(['x', 'y'].map((text) => ({ id: text, text })));
    expect(got.map((m) => m.text)).toEqual(['X', 'Y']);
  });
});

describe('stream message sizes', () => {
  const total = (serialize: grpc.serialize<object>, messages: object[]) =>
    messages.reduce<number>((sum, m) => sum + serialize(m).length, 0);

  it('a server stream: its request, and the total of the messages sent', async () => {
    sizes.length = 0;
    const request = { topic: 'sizes', count: 3, intervalMs: 1 };
    const { items, error } = await collect(plain.watch(request));
    expect(error).toBeUndefined();
    await waitFor(async () => sizes.length === 1, 'the call to end', 50, 20);
    expect(sizes).toEqual([
      {
        operation: '/feed.v1.Feed/Watch',
        requestBytes: methods['Watch']!.requestSerialize(request).length,
        responseBytes: total(methods['Watch']!.responseSerialize, items),
      },
    ]);
  });

  it('a client stream: the total of the requests read, and the answer', async () => {
    sizes.length = 0;
    const sent = ['a', 'bb', 'ccc'].map((id) => ({ id, topic: 't', text: id.repeat(10) }));
    const reply = await new Promise<object>((resolve, reject) => {
      const call = plain.publish((err: Error | null, res: object) => (err ? reject(err) : resolve(res)));
      for (const item of sent) call.write(item);
      call.end();
    });
    await waitFor(async () => sizes.length === 1, 'the call to end', 50, 20);
    expect(sizes).toEqual([
      {
        operation: '/feed.v1.Feed/Publish',
        requestBytes: total(methods['Publish']!.requestSerialize, sent),
        responseBytes: methods['Publish']!.responseSerialize(reply).length,
      },
    ]);
  });

  it('a bidi stream: both totals', async () => {
    sizes.length = 0;
    const sent = ['x', 'yy'].map((text) => ({ id: text, text }));
    const got = await echo(sent);
    await waitFor(async () => sizes.length === 1, 'the call to end', 50, 20);
    expect(sizes).toEqual([
      {
        operation: '/feed.v1.Feed/Echo',
        requestBytes: total(methods['Echo']!.requestSerialize, sent),
        responseBytes: total(methods['Echo']!.responseSerialize, got),
      },
    ]);
  });
});

describe("tsk's generated gRPC client", () => {
  it('iterates a server stream, sends a client stream and a bidi stream through the client middleware', async () => {
    const client = new generated.FeedGRPCClient(conn);
    const ids: string[] = [];
    for await (const item of client.watch({ topic: 'gen', count: 4, intervalMs: 0, failReason: '' })) ids.push(item.id);
    expect(ids).toEqual(['gen-0', 'gen-1', 'gen-2', 'gen-3']);
    async function* items() {
      for (const id of ['p', 'q']) yield { id, topic: 't', text: id, seq: 0 };
    }
    expect(await client.publish(items())).toEqual({ count: 2, ids: ['p', 'q'] });
    const echoed: string[] = [];
    for await (const item of client.echo([{ id: '1', topic: '', text: 'hi', seq: 0 }])) echoed.push(item.text);
    expect(echoed).toEqual(['HI']);
  });

  it("outlives the client's default timeout, which is for unary calls; a call's own timeoutMs covers the stream", async () => {
    const quick = new GrpcClientConn({ target: `127.0.0.1:${server.listenPort}`, timeoutMs: 100 });
    try {
      const client = new generated.FeedGRPCClient(quick);
      const ids: string[] = [];
      for await (const item of client.watch({ topic: 'long', count: 6, intervalMs: 40, failReason: '' }))
        ids.push(item.id);
      expect(ids).toHaveLength(6);
      const late = await (async () => {
        for await (const _ of client.watch(
          { topic: 'cut', count: 0, intervalMs: 40, failReason: '' },
          { timeoutMs: 100 },
        ));
      })().catch((err: unknown) => err);
      expect(late).toMatchObject({ code: 504 });
    } finally {
      await quick.close();
    }
  });

  it('raises the server error from the iterator, with its reason', async () => {
    const client = new generated.FeedGRPCClient(conn);
    const ids: string[] = [];
    const error = await (async () => {
      for await (const item of client.watch({ topic: 'genfail', count: 1, intervalMs: 0, failReason: 'TOPIC_CLOSED' }))
        ids.push(item.id);
    })().catch((err: unknown) => err);
    expect(ids).toEqual(['genfail-0']);
    expect(reason(error)).toBe('TOPIC_CLOSED');
  });

  it('cancels the call when the reader stops early, and propagates trace context', async () => {
    aborted.delete('early');
    const client = new generated.FeedGRPCClient(conn);
    const tracer = trace.getTracer('test');
    const parent = tracer.startSpan('caller', undefined, ROOT_CONTEXT);
    const traceId = parent.spanContext().traceId;
    await context.with(trace.setSpan(ROOT_CONTEXT, parent), async () => {
      for await (const item of client.watch({ topic: 'early', count: 0, intervalMs: 10, failReason: '' })) {
        if (item.seq === '2' || item.seq === 2) break;
      }
    });
    parent.end();
    await waitFor(async () => aborted.has('early'), 'the server to see the cancel', 100, 20);
    expect(reason(aborted.get('early'))).toBe('CANCELLED');
    await svc.telemetry.forceFlush();
    await waitFor(
      async () => receiver.spans.filter((s) => s.traceId === traceId).length >= 3,
      'caller, client and server spans',
      100,
      50,
    );
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    const client_ = spans.find((s) => s.kind === 3)!;
    const server_ = spans.find((s) => s.kind === 2)!;
    expect(client_.parentSpanId).toBe(parent.spanContext().spanId);
    expect(server_.parentSpanId).toBe(client_.spanId);
  });
});
