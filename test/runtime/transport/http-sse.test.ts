// A server-streaming method with an HTTP rule (fixtures/stream: GET /v1/topics/{topic}:watch)
// served as Server-Sent Events through the server's default middleware, read with plain
// fetch and node:http (no generated code): one proto3 JSON `data:` line per message, an
// error mid-stream as `event: error`, an error before the first message as a normal
// error answer, one traced call per stream (OTLP receiver), cancel on disconnect.
import http from 'node:http';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestHistograms } from '../../../src/runtime/telemetry/request-metrics.js';
import { HttpClient, HttpServer } from '../../../src/runtime/transport/http/index.js';
import { isServiceError, reason } from '../../../src/runtime/errors/errors.js';
import type { CallObserver } from '../../../src/runtime/transport/observer.js';
import { repoRoot, scratchFixture, tsk } from '../../helpers/cli.js';
import { FeedService } from '../../helpers/feed-service.js';
import { waitFor } from '../../helpers/process.js';

const svc = new FeedService();
const { ended, wrapped, aborted, handlerSpan, receiver } = svc;
let server: HttpServer;
let base: string;
let fetchClient: any;
let generated: any;

beforeAll(async () => {
  await svc.start();
  const dir = scratchFixture('http-sse', 'stream');
  const r = tsk(
    ['proto', 'client', '.', '-I', '.', '--fetch', '--runtime', path.join(repoRoot, 'src', 'runtime')],
    dir,
  );
  if (r.status !== 0) throw new Error(r.stderr);
  generated = await import(path.join(dir, 'feed/v1/feed_http.ts'));
  fetchClient = await import(path.join(dir, 'feed/v1/feed_fetch.ts'));
  // A short server timeout: it applies to unary calls, not to streams.
  server = new HttpServer({
    address: '127.0.0.1:0',
    timeoutMs: 200,
    observers: svc.observers,
    middleware: svc.middleware,
  });
  generated.registerFeedHTTPServer(server, svc.feed);
  await server.start();
  base = `http://127.0.0.1:${server.listenPort}`;
}, 60_000);

afterAll(async () => {
  await server?.stop({ timeoutMs: 500 });
  await svc.stop();
});

/** The events of an SSE body: each blank-line-separated block as {event, data}. */
function parseEvents(text: string): { event: string; data: string }[] {
  return text
    .split('\n\n')
    .filter((block) => block.trim() !== '')
    .map((block) => {
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event: ')) event = line.slice(7);
        else if (line.startsWith('data: ')) data.push(line.slice(6));
      }
      return { event, data: data.join('\n') };
    });
}

describe('server streaming over HTTP as Server-Sent Events', () => {
  it('sends one data line of proto3 JSON per message, outliving the unary timeout, as one call through the middleware', async () => {
    const unary = await (await fetch(`${base}/v1/items/x`)).json();
    ended.length = 0;
    wrapped.length = 0;
    const res = await fetch(`${base}/v1/topics/news:watch?count=4&intervalMs=80`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('text/event-stream');
    const events = parseEvents(await res.text());
    expect(events.map((e) => e.event)).toEqual(['message', 'message', 'message', 'message']);
    // Each message is encoded as the unary answer would be; a newline in a value stays escaped on its one line.
    expect(JSON.parse(events[3]!.data)).toEqual({
      id: 'news-3',
      topic: 'news',
      text: 'line 3\nnext',
      seq: typeof unary.seq === 'string' ? '3' : 3,
    });
    await waitFor(async () => ended.length === 1, 'the call to end', 50, 20);
    expect(ended).toEqual([{ operation: '/feed.v1.Feed/Watch', failed: false, reason: '' }]);
    // Counted, not timed: a stream's duration is no latency.
    const watch = { kind: 'http', operation: '/feed.v1.Feed/Watch' };
    expect(requestHistograms.server.duration.cell('http\u0000/feed.v1.Feed/Watch', watch).count).toBe(0);
    expect(wrapped).toEqual(['in /feed.v1.Feed/Watch', 'out /feed.v1.Feed/Watch']);
  });

  it('sends an error after the first message as `event: error` with the error JSON, then closes', async () => {
    ended.length = 0;
    const res = await fetch(`${base}/v1/topics/closing:watch?count=2&failReason=TOPIC_CLOSED`);
    expect(res.status).toBe(200);
    const events = parseEvents(await res.text());
    expect(events.map((e) => e.event)).toEqual(['message', 'message', 'error']);
    expect(JSON.parse(events[2]!.data)).toEqual({
      code: 409,
      reason: 'TOPIC_CLOSED',
      message: 'the topic closed',
      metadata: { topic: 'closing' },
    });
    await waitFor(async () => ended.length === 1, 'the call to end', 50, 20);
    expect(ended[0]).toEqual({ operation: '/feed.v1.Feed/Watch', failed: true, reason: 'TOPIC_CLOSED' });
  });

  it('answers an error before the first message, and a malformed request, as ordinary error JSON', async () => {
    const sizes = requestHistograms.server.responseSize.cell('http\u0000/feed.v1.Feed/Watch', {
      kind: 'http',
      operation: '/feed.v1.Feed/Watch',
    });
    const [countBefore, sumBefore] = [sizes.count, sizes.sum];
    ended.length = 0;
    const forbidden = await fetch(`${base}/v1/topics/forbidden:watch`);
    expect(forbidden.status).toBe(403);
    expect(forbidden.headers.get('content-type')).toContain('application/json');
    const body = await forbidden.text();
    expect(JSON.parse(body)).toMatchObject({ code: 403, reason: 'TOPIC_FORBIDDEN' });
    // The error JSON is the answer's body, and its size is recorded as any answer's is.
    await waitFor(async () => ended.length === 1, 'the call to end', 50, 20);
    expect([sizes.count - countBefore, sizes.sum - sumBefore]).toEqual([1, Buffer.byteLength(body)]);
    const malformed = await fetch(`${base}/v1/topics/x:watch?count=abc`);
    expect(malformed.status).toBe(400);
    expect(await malformed.json()).toMatchObject({ code: 400, reason: 'CODEC' });
  });

  it('aborts ctx.signal when the client disconnects', async () => {
    ended.length = 0;
    await new Promise<void>((resolve, reject) => {
      const req = http.get(`${base}/v1/topics/leaving:watch?intervalMs=10`, (res) => {
        res.once('data', () => {
          req.destroy();
          resolve();
        });
      });
      req.on('error', (err) => (req.destroyed ? undefined : reject(err)));
    });
    await waitFor(
      async () => ended.length === 1 && aborted.has('leaving'),
      'the server to see the disconnect',
      100,
      20,
    );
    expect(ended[0]).toMatchObject({ failed: true, reason: 'CANCELLED' });
    expect(reason(aborted.get('leaving'))).toBe('CANCELLED');
  });

  it('streams the same way when fastify receives the call (a GET with a body)', async () => {
    const text = await new Promise<string>((resolve, reject) => {
      const req = http.request(
        `${base}/v1/topics/engine:watch?count=2`,
        { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': '2' } },
        (res) => {
          expect(res.headers['content-type']).toBe('text/event-stream');
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve(body));
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(parseEvents(text).map((e) => JSON.parse(e.data).id)).toEqual(['engine-0', 'engine-1']);
  });

  it('is traced: one server span for the stream, active for the handler, under the caller trace', async () => {
    const traceId = '6bf92f3577b34da6a3ce929d0e0e4736';
    const res = await fetch(`${base}/v1/topics/traced:watch?count=3`, {
      headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` },
    });
    expect(parseEvents(await res.text())).toHaveLength(3);
    await svc.telemetry.forceFlush();
    await waitFor(async () => receiver.spans.some((s) => s.traceId === traceId), 'the stream span', 100, 50);
    const spans = receiver.spans.filter((s) => s.traceId === traceId);
    expect(spans).toHaveLength(1);
    const span = spans[0]!;
    expect(span).toMatchObject({ kind: 2, parentSpanId: '00f067aa0ba902b7' });
    expect(span.attributes).toMatchObject({
      'http.request.method': 'GET',
      'http.route': '/v1/topics/{topic}:watch',
      'http.response.status_code': 200,
      'url.path': '/v1/topics/traced:watch',
    });
    expect(handlerSpan.get('traced')).toBe(span.spanId);
  });

  it("is read by the generated fetch client's async iterator, an error event raised as FetchServiceError", async () => {
    const client = new fetchClient.FeedFetchClient({ baseUrl: base });
    const ids: string[] = [];
    for await (const item of client.watch({ topic: 'browser', count: 3 })) ids.push(item.id);
    expect(ids).toEqual(['browser-0', 'browser-1', 'browser-2']);
    const seen: string[] = [];
    const err = await (async () => {
      for await (const item of client.watch({ topic: 'fails', count: 1, failReason: 'TOPIC_CLOSED' }))
        seen.push(item.id);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['fails-0']);
    expect(fetchClient.isFetchServiceError(err)).toBe(true);
    expect(err).toMatchObject({ code: 409, reason: 'TOPIC_CLOSED', message: 'the topic closed' });
    const forbidden = await client
      .watch({ topic: 'forbidden' })
      .next()
      .catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ code: 403, reason: 'TOPIC_FORBIDDEN' });
    // Leaving the loop early cancels the response: the server sees the client go.
    aborted.delete('early');
    for await (const item of client.watch({ topic: 'early', intervalMs: 10 })) if (item.id === 'early-1') break;
    await waitFor(async () => aborted.has('early'), 'the server to see the cancel', 100, 20);
    expect(reason(aborted.get('early'))).toBe('CANCELLED');
  });

  it("fetch client: a 200 that is not an event stream is 500 CODEC; an error's code is its status, an event's the body's", async () => {
    const fake = http.createServer((req, res) => {
      const error = '{"code":404,"reason":"GONE","message":"m","metadata":{"s":"x","n":5}}';
      if (req.url?.includes('rewritten')) return res.writeHead(502, { 'content-type': 'application/json' }).end(error);
      if (req.url?.includes('event'))
        return res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`event: error\ndata: ${error}\n\n`);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"id":"one answer"}');
    });
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const client = new fetchClient.FeedFetchClient({ baseUrl: `http://127.0.0.1:${(fake.address() as any).port}` });
      const err = await client
        .watch({ topic: 'news' })
        .next()
        .catch((e: unknown) => e);
      expect(fetchClient.isFetchServiceError(err)).toBe(true);
      expect(err).toMatchObject({
        code: 500,
        reason: 'CODEC',
        message: 'the answer is not an event stream (content-type application/json)',
      });
      // An error answer's code is its status (rewritten by a proxy here); an event's is the body's.
      // Metadata values that are not strings are left out.
      const first = (topic: string) =>
        client
          .watch({ topic })
          .next()
          .catch((e: unknown) => e);
      expect(await first('rewritten')).toMatchObject({ code: 502, reason: 'GONE', metadata: { s: 'x' } });
      expect((await first('rewritten')).metadata).toEqual({ s: 'x' });
      expect(await first('event')).toMatchObject({ code: 404, reason: 'GONE', metadata: { s: 'x' } });
    } finally {
      fake.close();
    }
  });

  it('is read by the generated Node HTTP client: one observed call per stream, errors as ServiceErrors, cancel on break', async () => {
    const calls: {
      operation: string;
      reason: string;
      responseBytes?: number | undefined;
      stream?: boolean | undefined;
    }[] = [];
    const recorder: CallObserver = {
      onStart: () => undefined,
      onEnd: (ctx, _started, { error }) =>
        calls.push({
          operation: ctx.transport.operation,
          reason: error === undefined ? '' : reason(error),
          responseBytes: ctx.responseBytes,
          stream: ctx.transport.stream,
        }),
    };
    const http = new HttpClient({ target: base, observers: [recorder], timeoutMs: 5000 });
    const client = new generated.FeedHTTPClient(http);
    const items: { id: string; text: string }[] = [];
    for await (const item of client.watch({ topic: 'node', count: 3, intervalMs: 0, failReason: '' })) items.push(item);
    expect(items.map((i) => i.id)).toEqual(['node-0', 'node-1', 'node-2']);
    expect(items[2]!.text).toBe('line 2\nnext');
    await waitFor(async () => calls.length === 1, 'the client call to end', 50, 20);
    expect(calls[0]).toMatchObject({ operation: '/feed.v1.Feed/Watch', reason: '', stream: true });
    expect(calls[0]!.responseBytes).toBeGreaterThan(100);

    const seen: string[] = [];
    const closed = await (async () => {
      for await (const item of client.watch({ topic: 'shut', count: 1, intervalMs: 0, failReason: 'TOPIC_CLOSED' }))
        seen.push(item.id);
    })().catch((e: unknown) => e);
    expect(seen).toEqual(['shut-0']);
    expect(isServiceError(closed)).toBe(true);
    expect(closed).toMatchObject({ code: 409, reason: 'TOPIC_CLOSED', metadata: { topic: 'shut' } });
    const forbidden = await client
      .watch({ topic: 'forbidden', count: 0, intervalMs: 0, failReason: '' })
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(forbidden).toMatchObject({ code: 403, reason: 'TOPIC_FORBIDDEN' });

    // Leaving the loop cancels the request: the server sees the client go, the client call ends CANCELLED.
    aborted.delete('gone');
    calls.length = 0;
    for await (const item of client.watch({ topic: 'gone', count: 0, intervalMs: 10, failReason: '' }))
      if (item.id === 'gone-1') break;
    await waitFor(async () => aborted.has('gone') && calls.length === 1, 'both ends to see the cancel', 100, 20);
    expect(reason(aborted.get('gone'))).toBe('CANCELLED');
    expect(calls[0]!.reason).toBe('CANCELLED');

    // The client's default timeout is for unary calls: a stream outlives it. A call's own timeoutMs covers the stream.
    const slow = new generated.FeedHTTPClient(new HttpClient({ target: base, timeoutMs: 150 }));
    let read = 0;
    for await (const _ of slow.watch({ topic: 'long', count: 8, intervalMs: 40, failReason: '' })) read++;
    expect(read).toBe(8);
    const late = await (async () => {
      for await (const _ of slow.watch(
        { topic: 'slow', count: 0, intervalMs: 40, failReason: '' },
        { timeoutMs: 150 },
      ));
    })().catch((e: unknown) => e);
    expect(late).toMatchObject({ code: 504 });
  });
});

describe('a stream still running when its server stops', () => {
  it('ends with an `event: error` 503 SERVICE_UNAVAILABLE at the stop timeout, seen by the observers', async () => {
    const stopping = new HttpServer({ address: '127.0.0.1:0', observers: svc.observers });
    generated.registerFeedHTTPServer(stopping, svc.feed);
    await stopping.start();
    ended.length = 0;
    const res = await fetch(`http://127.0.0.1:${stopping.listenPort}/v1/topics/endless:watch?intervalMs=10`);
    const reader = res.body!.getReader();
    let text = new TextDecoder().decode((await reader.read()).value);
    await stopping.stop({ timeoutMs: 100 });
    for (let chunk = await reader.read(); !chunk.done; chunk = await reader.read())
      text += new TextDecoder().decode(chunk.value);
    const last = parseEvents(text).at(-1)!;
    expect(last.event).toBe('error');
    expect(JSON.parse(last.data)).toMatchObject({ code: 503, reason: 'SERVICE_UNAVAILABLE' });
    // (A stream of an earlier test may end meanwhile.)
    expect(ended.filter((call) => call.reason === 'SERVICE_UNAVAILABLE')).toEqual([
      { operation: '/feed.v1.Feed/Watch', failed: true, reason: 'SERVICE_UNAVAILABLE' },
    ]);
  });
});
