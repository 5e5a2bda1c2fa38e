// google.api.http binding end to end: the edge fixture's generated routes on a real
// HttpServer, called with plain fetch (and with the generated client).
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, HttpServer } from '../../../../src/runtime/transport/http/index.js';
import { Readiness, registerHealthRoutes } from '../../../../src/runtime/health/health.js';
import { newError, isServiceError, ServiceError } from '../../../../src/runtime/errors/errors.js';
import type { Context } from '../../../../src/runtime/transport/context.js';
import { generateFixture } from '../../../helpers/generated.js';
import { waitFor } from '../../../helpers/process.js';

let server: HttpServer;
let base: string;
let seen: { op: string; request: any }[] = [];
let gen: any;
/** The Context of the last getFile call per path. */
const fileContexts = new Map<string, Context>();

beforeAll(async () => {
  const dir = generateFixture('binding', 'edge');
  gen = await import(path.join(dir, 'edge/v1/edge_http.ts'));
  const record = (op: string) => async (_ctx: unknown, request: any) => {
    seen.push({ op, request });
    const readingTime = request.book?.readingTime ?? request.maxAge;
    return {
      id: request.book?.id ?? request.id ?? '0',
      title: 'Dune',
      tags: [],
      labels: {},
      genre: 1,
      ...(readingTime ? { readingTime } : {}),
    };
  };
  const impl = {
    getBook: record('getBook'),
    getByName: record('getByName'),
    getFile: async (ctx: Context, request: any) => {
      seen.push({ op: 'getFile', request });
      fileContexts.set(request.path, ctx);
      // Answers only when the call is aborted (the client goes away, the deadline passes).
      if (request.path === 'hang')
        return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      if (request.path === 'watched') void ctx.signal; // looks at the signal, then answers
      if (request.path === 'missing') throw newError(404, 'FILE_MISSING', 'no such file', { path: request.path });
      if (request.path === 'crash') throw new Error('database password is hunter2');
      if (request.path === 'slow') return new Promise(() => {});
      if (request.path === 'badheader') ctx.transport.replyHeader.set('x-note', 'line one\nline two');
      return { path: request.path, content: Buffer.from('hi') };
    },
    publishBook: record('publishBook'),
    updateBook: record('updateBook'),
    listBooks: async (_ctx: unknown, request: any) => {
      seen.push({ op: 'listBooks', request });
      if (request.tags.includes('none')) return { books: [], nextPageToken: '' };
      return { books: [{ id: '1', title: 'A', tags: ['x'], labels: {}, genre: 0 }], nextPageToken: 'next' };
    },
    searchBooks: async (_ctx: unknown, request: any) => {
      seen.push({ op: 'searchBooks', request });
      return { books: [], nextPageToken: request.tags.join(',') };
    },
    deleteBook: async (_ctx: unknown, request: any) => {
      seen.push({ op: 'deleteBook', request });
      return {};
    },
    ping: async (_ctx: unknown, request: any) => ({
      message: request.message,
      receivedAt: new Date('2024-05-01T00:00:00Z'),
    }),
  };
  server = new HttpServer({ address: '127.0.0.1:0', timeoutMs: 300, bodyLimit: 2048 });
  gen.registerLibraryHTTPServer(server, impl);
  await server.start();
  base = `http://127.0.0.1:${server.listenPort}`;
});

afterAll(async () => {
  await server?.stop({ timeoutMs: 1000 });
});

async function call(method: string, url: string, body?: string, headers: Record<string, string> = {}) {
  seen = [];
  const res = await fetch(base + url, {
    method,
    ...(body !== undefined ? { body } : {}),
    headers: body ? { 'content-type': 'application/json', ...headers } : headers,
  });
  const text = await res.text();
  return {
    status: res.status,
    headers: res.headers,
    text,
    json: text ? JSON.parse(text) : undefined,
    request: seen[0]?.request,
  };
}

/** One request through node:http, for what fetch will not do (a GET with a body, a chosen agent). */
function nodeRequest(url: string, options: http.RequestOptions, body?: string) {
  return new Promise<{ status?: number | undefined; connection?: string | undefined; body: string }>(
    (resolve, reject) => {
      const req = http.request(url, options, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode, connection: res.headers.connection, body: text }));
      });
      req.on('error', reject);
      req.end(body);
    },
  );
}

describe('path, query and body binding', () => {
  it('binds nested path fields and every query form', async () => {
    const q =
      'includeReviews=true&editions=1&editions=2&genre=GENRE_FICTION&big_number=18446744073709551615&rating=4.5&note=hi' +
      '&since=2024-01-02T03:04:05Z&filter.range.min=3&filter.author_name=ann&unknown=ignored';
    const r = await call('GET', `/v1/shelves/s1/books/42?${q}`);
    expect(r.status).toBe(200);
    expect(r.request).toMatchObject({
      shelf: 's1',
      book: { id: '42' },
      includeReviews: true,
      editions: [1, 2],
      genre: 1,
      bigNumber: '18446744073709551615',
      rating: 4.5,
      note: 'hi',
      filter: { range: { min: 3 }, authorName: 'ann' },
    });
    expect(r.request.since.toISOString()).toBe('2024-01-02T03:04:05.000Z');
    expect(r.json).toMatchObject({ id: '42', title: 'Dune', genre: 'GENRE_FICTION' });
  });

  it('takes siblings of a path-bound field from the query, never the bound field itself', async () => {
    const r = await call('GET', '/v1/shelves/s1/books/5?book.title=T&book.id=99&book=x');
    expect(r.status).toBe(200);
    expect(r.request.book).toMatchObject({ id: '5', title: 'T' });
    const client = new gen.LibraryHTTPClient(new HttpClient({ target: base }));
    await client.getBook({ shelf: 's1', book: { id: '7', title: 'Sent' } });
    expect(seen.at(-1)!.request.book).toMatchObject({ id: '7', title: 'Sent' });
  });

  it('serves additional bindings and enums by number', async () => {
    const r = await call('GET', '/v1/books/7?genre=2');
    expect(r.status).toBe(200);
    expect(r.request).toMatchObject({ book: { id: '7' }, genre: 2 });
    // proto3 enums are open: a number the proto does not name is kept, as in a JSON body.
    const open = await call('GET', '/v1/books/7?genre=99');
    expect(open.status).toBe(200);
    expect(open.request).toMatchObject({ genre: 99 });
  });

  it('binds multi-segment variables and ** captures', async () => {
    expect((await call('GET', '/v1/publishers/p1/books/b%202')).request.name).toBe('publishers/p1/books/b 2');
    expect((await call('GET', '/v1/files/a/b/c.txt')).request.path).toBe('a/b/c.txt');
  });

  // google.api.http: a multi-segment variable is decoded "except %2F and %2f are left
  // unchanged", so an encoded slash never adds a segment to a resource name; a
  // single-segment variable is decoded in full.
  it('leaves %2F encoded in multi-segment variables and decodes it in single-segment ones', async () => {
    expect((await call('GET', '/v1/publishers/p%2F1/books/b%2f2%20x')).request.name).toBe(
      'publishers/p%2F1/books/b%2f2 x',
    );
    expect((await call('GET', '/v1/files/a%2Fb/c%3F')).request.path).toBe('a%2Fb/c?');
    expect((await call('GET', '/v1/shelves/a%2Fb/books/7')).request.shelf).toBe('a/b');
    const client = new gen.LibraryHTTPClient(new HttpClient({ target: base }));
    await client.getFile({ path: 'dir/a%2Fb' });
    expect(seen.at(-1)!.request.path).toBe('dir/a%2Fb');
  });

  it('the client refuses a call whose path field is empty, naming the field as the server would', async () => {
    const client = new gen.LibraryHTTPClient(new HttpClient({ target: base }));
    const err = await client.getFile({ path: '' }).catch((e: unknown) => e);
    expect(isServiceError(err)).toBe(true);
    expect((err as ServiceError).toJSON()).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field: 'path' } });
  });

  it('binds body "*" with a custom verb, accepting proto and JSON names', async () => {
    const r = await call(
      'POST',
      '/v1/books/9:publish',
      JSON.stringify({ comment: 'ok', genres: ['GENRE_SCIENCE', 1] }),
    );
    expect(r.status).toBe(200);
    expect(r.request).toMatchObject({ id: '9', comment: 'ok', genres: [2, 1] });
  });

  it('ignores query parameters when the body is "*": every non-path field comes from the body', async () => {
    const r = await call('POST', '/v1/books/9:publish?comment=fromQuery&id=77', JSON.stringify({ genres: [1] }));
    expect(r.status).toBe(200);
    expect(r.request).toMatchObject({ id: '9', comment: '', genres: [1] });
    const bodyWins = await call(
      'POST',
      '/v1/books/9:publish?comment=fromQuery',
      JSON.stringify({ comment: 'fromBody' }),
    );
    expect(bodyWins.request.comment).toBe('fromBody');
  });

  it('binds body "field" with the rest from path and query', async () => {
    const r = await call(
      'PUT',
      '/v1/books/5?updateMask=title',
      JSON.stringify({ title: 'T', publish_time: '2024-01-01T00:00:00Z', tags: ['a'] }),
    );
    expect(r.status).toBe(200);
    expect(r.request).toMatchObject({ book: { id: '5', title: 'T', tags: ['a'] }, updateMask: 'title' });
    expect(r.request.book.publishTime.toISOString()).toBe('2024-01-01T00:00:00.000Z');
  });

  describe('form bodies (application/x-www-form-urlencoded)', () => {
    const form = (method: string, url: string, body: string) =>
      call(method, url, body, { 'content-type': 'application/x-www-form-urlencoded' });

    it('fill the message for body "*": repeated keys make a list, enums by name or number, the path wins', async () => {
      const r = await form(
        'POST',
        '/v1/books/9:publish',
        'comment=hello+there&genres=GENRE_SCIENCE&genres=1&id=77&x=1',
      );
      expect(r.status).toBe(200);
      expect(r.request).toMatchObject({ id: '9', comment: 'hello there', genres: [2, 1] });
    });

    it("fill the body field's message, with nested keys, and leave the query to the rest", async () => {
      const r = await form(
        'PUT',
        '/v1/books/5?updateMask=title',
        'title=T%C3%A9&tags=a&tags=b&author.name=Frank&author.address.city=Oakland',
      );
      expect(r.status).toBe(200);
      expect(r.request).toMatchObject({
        book: { id: '5', title: 'Té', tags: ['a', 'b'], author: { name: 'Frank', address: { city: 'Oakland' } } },
        updateMask: 'title',
      });
    });

    it("that do not convert are a 400 CODEC naming the field; fetch's own form encoding works", async () => {
      const bad = await form('PUT', '/v1/books/5', 'title=ok&genre=NOT_A_GENRE');
      expect(bad.status).toBe(400);
      expect(bad.json).toMatchObject({ reason: 'CODEC' });
      expect(bad.json.message).toMatch(/genre/);
      const res = await fetch(`${base}/v1/books/3:publish`, {
        method: 'POST',
        body: new URLSearchParams({ comment: 'from fetch' }),
      });
      expect(res.status).toBe(200);
      expect(seen[0]?.request).toMatchObject({ id: '3', comment: 'from fetch' });
    });

    it('that hold JSON (curl -d without a content type) are a 400 CODEC saying so, not an empty request', async () => {
      for (const body of ['{"comment":"hi"}', ' [1]']) {
        const r = await form('POST', '/v1/books/9:publish', body);
        expect(r.status).toBe(400);
        expect(r.json).toMatchObject({ reason: 'CODEC' });
        expect(r.json.message).toMatch(/JSON sent as a form.*application\/json/);
      }
    });
  });

  it('writes response_body as the whole reply and binds nested query into other packages', async () => {
    const r = await call('GET', '/v1/books?page.size=10&page.token=t&tags=a&tags=b');
    expect(r.request).toMatchObject({ page: { size: 10, token: 't' }, tags: ['a', 'b'] });
    expect(r.json).toHaveLength(1);
    expect(r.json[0]).toMatchObject({ id: '1', title: 'A', tags: ['x'] });
  });

  it('writes an empty response_body list as [], not null', async () => {
    const r = await call('GET', '/v1/books?tags=none');
    expect(r.status).toBe(200);
    expect(r.json).toEqual([]);
    const client = new gen.LibraryHTTPClient(new HttpClient({ target: base }));
    expect((await client.listBooks({ tags: ['none'] })).books).toEqual([]);
  });

  it('serves a method without a rule at POST /package.Service/Method', async () => {
    const r = await call('POST', '/edge.v1.Library/Ping', JSON.stringify({ message: 'hi' }));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ message: 'hi', receivedAt: '2024-05-01T00:00:00Z' });
  });

  it('routes a custom method, and lists it in Allow', async () => {
    const r = await call('SEARCH', '/v1/books', JSON.stringify({ tags: ['a', 'b'] }));
    expect(r.status).toBe(200);
    expect(r.json).toEqual({ books: [], nextPageToken: 'a,b' });
    const wrong = await call('PATCH', '/v1/books');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toContain('SEARCH');
    const client = new gen.LibraryHTTPClient(new HttpClient({ target: base }));
    expect((await client.searchBooks({ tags: ['c'] })).nextPageToken).toBe('c');
  });

  it('answers HEAD for GET routes and OPTIONS with Allow', async () => {
    const head = await call('HEAD', '/v1/books/1');
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
    const options = await call('OPTIONS', '/v1/books/1');
    expect(options.status).toBe(204);
    expect(options.headers.get('allow')).toContain('DELETE');
  });
});

describe('answers written once per event-loop turn', () => {
  it('answers pipelined requests on one connection in order, each with its own body', async () => {
    const socket = net.connect(server.listenPort!, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    let received = '';
    socket.on('data', (chunk) => (received += chunk));
    // Three requests in one write: their answers are queued in the same turn.
    socket.write(['1', '2', '3'].map((id) => `GET /v1/books/${id} HTTP/1.1\r\nHost: x\r\n\r\n`).join(''));
    await waitFor(async () => (received.match(/HTTP\/1\.1 200/g) ?? []).length === 3, 'three answers', 100, 50);
    socket.destroy();
    const bodies = received
      .split(/HTTP\/1\.1 200 OK\r\n/)
      .slice(1)
      .map((r) => JSON.parse(r.slice(r.indexOf('\r\n\r\n') + 4)));
    expect(bodies.map((b) => b.id)).toEqual(['1', '2', '3']);
  });

  it('answers many concurrent callers, each with its own body, and lives on when some leave before their answer', async () => {
    const ids = Array.from({ length: 64 }, (_, i) => String(i + 1));
    // Callers that hang up right after asking: their answers have nowhere to go.
    for (let i = 0; i < 8; i++) {
      const s = net.connect(server.listenPort!, '127.0.0.1', () =>
        s.end(`GET /v1/books/${i} HTTP/1.1\r\nHost: x\r\n\r\n`, () => s.destroy()),
      );
      s.on('error', () => {});
    }
    const answers = await Promise.all(ids.map((id) => fetch(`${base}/v1/books/${id}`).then((r) => r.json())));
    expect(answers.map((a) => a.id)).toEqual(ids);
  });
});

describe('google.protobuf.Duration in its proto3 JSON form', () => {
  it('binds "1.5s" from the query and the body, and answers with the string form', async () => {
    const q = await call('GET', '/v1/books/5?maxAge=1.5s');
    expect(q.status).toBe(200);
    expect(q.request.maxAge).toEqual({ seconds: '1', nanos: 500_000_000 });
    expect(q.json.readingTime).toBe('1.500s');
    const b = await call('PUT', '/v1/books/5', JSON.stringify({ reading_time: '-0.000001s' }));
    expect(b.request.book.readingTime).toEqual({ seconds: '0', nanos: -1000 });
    expect(b.json.readingTime).toBe('-0.000001s');
    const o = await call('PUT', '/v1/books/5', JSON.stringify({ readingTime: '90s' }));
    expect(o.json.readingTime).toBe('90s');
    // proto3 JSON writes a Duration only as a string; ts-proto's object shape is not JSON's.
    const shape = await call('PUT', '/v1/books/5', JSON.stringify({ readingTime: { seconds: '90' } }));
    expect(shape.json).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field: 'book.readingTime' } });
  });

  it('rejects a malformed duration with 400 CODEC', async () => {
    for (const bad of ['3', '1.5m', '1.1234567891s', '315576000001s']) {
      const r = await call('GET', `/v1/books/5?max_age=${encodeURIComponent(bad)}`);
      expect(r.status).toBe(400);
      expect(r.json).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field: 'max_age' } });
      expect(r.json.message).toContain('max_age');
    }
  });

  it('round-trips through the generated client', async () => {
    const client = new gen.LibraryHTTPClient(new HttpClient({ target: base }));
    const reply = await client.getBook({
      shelf: 's1',
      book: { id: '7' },
      maxAge: { seconds: '3', nanos: 250_000_000 },
    });
    expect(seen[0]!.request.maxAge).toEqual({ seconds: '3', nanos: 250_000_000 });
    expect(reply.readingTime).toEqual({ seconds: '3', nanos: 250_000_000 });
  });
});

describe('bad requests get 4xx error JSON, never a crash', () => {
  const cases: [string, string, string | undefined, number, string][] = [
    ['int64 path value', '/v1/shelves/s/books/abc', undefined, 400, 'CODEC'],
    ['bool query value', '/v1/books/1?includeReviews=maybe', undefined, 400, 'CODEC'],
    ['unknown enum name', '/v1/books/1?genre=HORROR', undefined, 400, 'CODEC'],
    ['enum name Object.prototype has', '/v1/books/1?genre=toString', undefined, 400, 'CODEC'],
    ['enum number beyond 32 bits', '/v1/books/1?genre=2147483648', undefined, 400, 'CODEC'],
    ['int32 out of range', '/v1/books/1?editions=99999999999', undefined, 400, 'CODEC'],
    ['bad percent-encoding', '/v1/files/%E0%A4%A', undefined, 400, 'CODEC'],
    ['unknown route', '/nope', undefined, 404, 'NOT_FOUND'],
  ];
  for (const [what, url, body, status, reason] of cases) {
    it(what, async () => {
      const r = await call('GET', url, body);
      expect(r.status).toBe(status);
      expect(r.json).toMatchObject({ code: status, reason });
      expect(typeof r.json.message).toBe('string');
    });
  }

  it('path and query values name their field path too, as the caller spelled it', async () => {
    const cases: [string, string][] = [
      ['/v1/shelves/s/books/abc', 'book.id'],
      ['/v1/books/1?includeReviews=maybe', 'includeReviews'],
      ['/v1/books/1?include_reviews=maybe', 'include_reviews'],
      // In range for the query's digits-only check, out of range when the message is built.
      ['/v1/books/1?big_number=99999999999999999999', 'big_number'],
      ['/v1/books/1?bigNumber=99999999999999999999', 'bigNumber'],
      ['/v1/books/1?filter.range.min=x', 'filter.range.min'],
      ['/v1/books/1?editions=1&editions=99999999999', 'editions'],
      ['/v1/books/1?since=yesterday', 'since'],
    ];
    for (const [url, field] of cases) {
      const r = await call('GET', url);
      expect(r.json, url).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field } });
      expect(r.json.message).toContain(field);
    }
  });

  // grpc-gateway and Kratos answer "too many values for field": a field that holds one
  // value given twice is ambiguous, never silently the last one.
  it('a single-valued field given twice in the query, under one name or both', async () => {
    const cases: [string, string][] = [
      ['/v1/books/1?genre=1&genre=2', 'genre'],
      ['/v1/books/1?include_reviews=true&includeReviews=false', 'includeReviews'],
      ['/v1/books/1?filter.range.min=1&filter.range.min=1', 'filter.range.min'],
      ['/v1/books/1?since=2024-01-01T00:00:00Z&since=2024-01-02T00:00:00Z', 'since'],
    ];
    for (const [url, field] of cases) {
      const r = await call('GET', url);
      expect(r.json, url).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field } });
      expect(r.json.message).toContain(field);
    }
    expect((await call('GET', '/v1/books/1?editions=1&editions=2')).request.editions).toEqual([1, 2]);
  });

  it('refuses a query or form body that is not percent-encoded UTF-8, as it refuses such a path', async () => {
    for (const query of ['tags=%ff%fe', 'tags=%zz', 'ta%g=1', 'genre=1&tags=%e2%82']) {
      const r = await call('GET', `/v1/books/1?${query}`);
      expect(r.json, query).toMatchObject({ code: 400, reason: 'CODEC' });
      expect(r.json.message).toMatch(/in the query is not percent-encoded UTF-8$/);
    }
    const form = await call('POST', '/v1/books/9:publish', 'comment=%ff', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(form.json).toMatchObject({
      code: 400,
      reason: 'CODEC',
      message: "'%ff' in the form body is not percent-encoded UTF-8",
    });
    // Well-formed escapes, an ignored parameter among them, still bind.
    expect((await call('GET', '/v1/books/1?x=T%C3%A9+a%2Bb&editions=%31')).request.editions).toEqual([1]);
  });

  it('bytes that are not HTTP, and headers past the size limit', async () => {
    const { port } = new URL(base);
    const rawCall = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => socket.end(text));
        let answer = '';
        socket.on('data', (chunk) => (answer += chunk));
        socket.on('close', () => resolve(answer));
        socket.on('error', reject);
      });
    const parse = (answer: string) => ({
      status: Number(answer.split(' ')[1]),
      json: JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)),
    });

    const garbled = parse(await rawCall('GET /v1/books/1 HTTP/1.1\r\nHost: x\r\nno colon here\r\n\r\n'));
    expect(garbled).toEqual({
      status: 400,
      json: { code: 400, reason: 'BAD_REQUEST', message: 'malformed HTTP request', metadata: {} },
    });
    const huge = parse(await rawCall(`GET /v1/books/1 HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`));
    expect(huge).toMatchObject({ status: 431, json: { code: 431, reason: 'HEADERS_TOO_LARGE' } });
  });

  it('body values that are not proto3 JSON, each named by its field path', async () => {
    const bad: [string, string, unknown, string][] = [
      ['PUT', '/v1/books/5', { title: { a: 1 } }, 'book.title'],
      ['PUT', '/v1/books/5', { genre: 1.5 }, 'book.genre'],
      ['PUT', '/v1/books/5', { publishTime: 'not a date' }, 'book.publishTime'],
      ['PUT', '/v1/books/5', { publish_time: 'not a date' }, 'book.publish_time'],
      ['PUT', '/v1/books/5', { tags: 'x' }, 'book.tags'],
      ['PUT', '/v1/books/5', { labels: ['x'] }, 'book.labels'],
      ['PUT', '/v1/books/5', { catalogNumber: '-1' }, 'book.catalogNumber'],
      ['PUT', '/v1/books/5', { catalog_number: '-1' }, 'book.catalog_number'],
      ['PUT', '/v1/books/5', { isbn: '1', catalogNumber: '2' }, 'book.catalogNumber'],
      ['PUT', '/v1/books/5', { author: { address: { city: 5 } } }, 'book.author.address.city'],
      ['POST', '/v1/books/1:publish', { genres: ['GENRE_FICTION', 1.5] }, 'genres[1]'],
      ['SEARCH', '/v1/books', { page: { size: 1.5 } }, 'page.size'],
      ['POST', '/edge.v1.Library/Ping', { message: 7 }, 'message'],
    ];
    for (const [method, url, body, field] of bad) {
      const r = await call(method, url, JSON.stringify(body));
      expect(r.status, `${JSON.stringify(body)}`).toBe(400);
      expect(r.json).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field } });
      expect(r.json.message).toContain(field);
      expect(r.request).toBeUndefined(); // the handler never ran
    }
  });

  it('refuses the map key "__proto__", which a message map (a plain object) cannot hold, instead of dropping it', async () => {
    const r = await call('PUT', '/v1/books/5', '{"labels": {"a": "b", "__proto__": "z"}}');
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field: 'book.labels["__proto__"]' } });
    expect(r.request).toBeUndefined();
  });

  it('a body bound to one field must be an object when the path sets fields inside it', async () => {
    const r = await call('PUT', '/v1/books/5', '"just a string"');
    expect(r.json).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field: 'book' } });
  });

  it('malformed JSON body', async () => {
    const r = await call('POST', '/v1/books/1:publish', '{"comment": ');
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ code: 400, reason: 'CODEC' });
  });

  it('a body that is not an object', async () => {
    const r = await call('POST', '/v1/books/1:publish', '[1,2]');
    expect(r.status).toBe(400);
  });

  it('body too large: the answer names the limit', async () => {
    const r = await call('POST', '/v1/books/1:publish', JSON.stringify({ comment: 'x'.repeat(5000) }));
    expect(r.status).toBe(413);
    expect(r.json).toEqual({
      code: 413,
      reason: 'PAYLOAD_TOO_LARGE',
      message: "request body is larger than the server's limit of 2048 bytes",
      metadata: { limit_bytes: '2048' },
    });
  });

  it('wrong method', async () => {
    const r = await call('PATCH', '/v1/books/1');
    expect(r.status).toBe(405);
    expect(r.json.reason).toBe('METHOD_NOT_ALLOWED');
    expect(r.headers.get('allow')).toContain('GET');
  });

  it('a method no route uses gets the same 404 and 405 error JSON', async () => {
    const missing = await call('PROPFIND', '/nope');
    expect(missing.status).toBe(404);
    expect(missing.json).toMatchObject({ code: 404, reason: 'NOT_FOUND' });
    const wrong = await call('LOCK', '/v1/books/1', '<lockinfo/>', { 'content-type': 'application/xml' });
    expect(wrong.status).toBe(405);
    expect(wrong.json).toMatchObject({ code: 405, reason: 'METHOD_NOT_ALLOWED' });
    expect(wrong.headers.get('allow')).toContain('GET');
  });

  it('refuses a route whose method no server can receive', () => {
    const other = new HttpServer({ address: '127.0.0.1:0' });
    const [route] = gen.LibraryHTTPRoutes.ping;
    for (const method of ['CONNECT', 'FETCH'])
      expect(() => other.route({ ...route, method }, async () => ({}))).toThrow(
        `http route: ${method} is not an HTTP method this server can receive`,
      );
    expect(() => other.route({ ...route, method: 'PROPFIND' }, async () => ({}))).not.toThrow();
  });

  it('handler errors keep code, reason and metadata', async () => {
    const r = await call('GET', '/v1/files/missing');
    expect(r.status).toBe(404);
    expect(r.json).toEqual({
      code: 404,
      reason: 'FILE_MISSING',
      message: 'no such file',
      metadata: { path: 'missing' },
    });
  });

  it('a reply header Node cannot send is a 500, and the server lives on', async () => {
    const r = await call('GET', '/v1/files/badheader');
    expect(r.status).toBe(500);
    expect(r.json).toMatchObject({ code: 500, reason: 'UNKNOWN' });
    expect(r.headers.get('x-note')).toBeNull();
    expect((await call('GET', '/v1/files/after')).status).toBe(200);
  });

  it('a thrown plain Error is a 500 without its message or stack', async () => {
    const r = await call('GET', '/v1/files/crash');
    expect(r.status).toBe(500);
    expect(r.text).not.toContain('hunter2');
    expect(r.text).not.toContain('at ');
  });

  it('a handler that never answers gets 504 at the deadline', async () => {
    const r = await call('GET', '/v1/files/slow');
    expect(r.status).toBe(504);
    expect(r.json.reason).toBe('TIMEOUT');
  });
});

describe('the call context signal', () => {
  it('aborts with CANCELLED when the client goes away mid-call', async () => {
    const client = new AbortController();
    const pending = fetch(`${base}/v1/files/hang`, { signal: client.signal }).catch(() => undefined);
    await waitFor(async () => fileContexts.has('hang'), 'the hanging call to start', 200, 5);
    client.abort();
    await pending;
    const signal = fileContexts.get('hang')!.signal;
    await waitFor(async () => signal.aborted, 'the signal to abort', 200, 5);
    expect(isServiceError(signal.reason) && signal.reason.code).toBe(499);
    expect((signal.reason as ServiceError).reason).toBe('CANCELLED');
  });

  it('aborts with TIMEOUT at the deadline', async () => {
    const r = await call('GET', '/v1/files/hang');
    expect(r.status).toBe(504);
    expect((fileContexts.get('hang')!.signal.reason as ServiceError).reason).toBe('TIMEOUT');
  });

  it('stays quiet once the call is answered, whether or not it was looked at during the call', async () => {
    expect((await call('GET', '/v1/files/watched')).status).toBe(200);
    expect((await call('GET', '/v1/files/unwatched')).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50)); // the responses have closed by now
    expect(fileContexts.get('watched')!.signal.aborted).toBe(false);
    expect(fileContexts.get('unwatched')!.signal.aborted).toBe(false);
  });
});

describe('generated HTTP client', () => {
  it('round-trips path, query, body and response_body', async () => {
    const client = new gen.LibraryHTTPClient(new HttpClient({ target: base }));
    seen = [];
    const book = await client.getBook({
      shelf: 's 1',
      book: { id: '12' },
      includeReviews: true,
      editions: [3],
      genre: 2,
      filter: { authorName: 'x' },
    });
    expect(book).toMatchObject({ id: '12', title: 'Dune' });
    expect(seen[0]!.request).toMatchObject({
      shelf: 's 1',
      book: { id: '12' },
      includeReviews: true,
      editions: [3],
      genre: 2,
      filter: { authorName: 'x' },
    });
    const list = await client.listBooks({ page: { size: 5, token: '' }, tags: ['q'] });
    expect(list.books[0]).toMatchObject({ id: '1', title: 'A' });
    const published = await client.publishBook({ id: '77', comment: 'c', genres: [1] });
    expect(published.id).toBe('77');
  });

  it("decodes responses as strict proto3 JSON: a malformed one is the called service's fault, 500 CODEC naming the field", async () => {
    const answers = [
      ['{"id":"12","title":"Dune"}', undefined],
      ['{"id":"12","genre":"GENRE_ADDED_LATER"}', undefined],
      ['{"id":"abc"}', 'id'],
      ['{"title":{"a":1}}', 'title'],
      ['{"genre":true}', 'genre'],
      ['{"tags":"x"}', 'tags'],
      ['{"isbn":"1","catalogNumber":"2"}', undefined],
      ['[1]', undefined],
    ] as const;
    let next = 0;
    const fake = http.createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(answers[next++]![0]),
    );
    await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
    try {
      const client = new gen.LibraryHTTPClient(
        new HttpClient({ target: `http://127.0.0.1:${(fake.address() as net.AddressInfo).port}` }),
      );
      expect(await client.getBook({ shelf: 's', book: { id: '12' } })).toMatchObject({ id: '12', title: 'Dune' });
      // A newer server's enum value is read as unset, as protojson reads it with DiscardUnknown.
      expect((await client.getBook({ shelf: 's', book: { id: '12' } })).genre).toBe(0);
      for (const [, field] of answers.slice(2)) {
        const err = await client.getBook({ shelf: 's', book: { id: '12' } }).catch((e: unknown) => e);
        expect(isServiceError(err), String(err)).toBe(true);
        expect((err as ServiceError).reason).toBe('CODEC');
        // Not 400: the caller's request was fine; the answer is the called service's fault.
        expect((err as ServiceError).code).toBe(500);
        expect((err as ServiceError).message).toContain('invalid response from /edge.v1.Library/GetBook');
        if (field) expect((err as ServiceError).metadata['field']).toBe(field);
      }
    } finally {
      fake.close();
    }
  });

  it('decodes error JSON back into the ServiceError', async () => {
    const client = new gen.LibraryHTTPClient(new HttpClient({ target: base }));
    const err = await client.getFile({ path: 'missing' }).catch((e: unknown) => e);
    expect(isServiceError(err)).toBe(true);
    expect(err).toBeInstanceOf(ServiceError);
    expect((err as ServiceError).toJSON()).toEqual({
      code: 404,
      reason: 'FILE_MISSING',
      message: 'no such file',
      metadata: { path: 'missing' },
    });
  });
});

describe('graceful stop', () => {
  it('lets in-flight requests finish, closing their connections, then refuses new ones', async () => {
    const { HttpServer: Server } = await import('../../../../src/runtime/transport/http/index.js');
    const s = new Server({ address: '127.0.0.1:0', timeoutMs: 5000 });
    const slowly = <T>(value: T) => new Promise<T>((r) => setTimeout(() => r(value), 300));
    gen.registerLibraryHTTPServer(s, {
      getFile: () => slowly({ path: 'done', content: Buffer.alloc(0) }),
      publishBook: (_ctx: unknown, request: any) =>
        slowly({ id: request.id, title: 'published', tags: [], labels: {}, genre: 0 }),
    } as any);
    await s.start();
    const base = `http://127.0.0.1:${s.listenPort}`;
    // Keep-alive clients, as load balancers are: their connections must not hold the stop open.
    // A GET (answered without fastify) and a POST with a body (through fastify).
    const agent = new http.Agent({ keepAlive: true });
    const send = (method: string, path: string, body?: string) =>
      nodeRequest(
        `${base}${path}`,
        { method, agent, headers: body ? { 'content-type': 'application/json' } : {} },
        body,
      );
    const inFlight = [send('GET', '/v1/files/x'), send('POST', '/v1/books/4:publish', '{}')];
    await new Promise((r) => setTimeout(r, 50));
    await s.stop({ timeoutMs: 3000 });
    const [get, post] = await Promise.all(inFlight);
    expect(get).toMatchObject({ status: 200, connection: 'close' });
    expect(JSON.parse(get!.body).path).toBe('done');
    expect(post).toMatchObject({ status: 200, connection: 'close' });
    expect(JSON.parse(post!.body).title).toBe('published');
    agent.destroy();
    await expect(fetch(`${base}/v1/files/x`)).rejects.toThrow();
  });

  it('answers requests that outlive the drain window 503, which a caller may retry elsewhere, in one warn line', async () => {
    const { HttpServer: Server } = await import('../../../../src/runtime/transport/http/index.js');
    // With a server timeout (the calls are in its deadline queue) and without one.
    for (const timeoutMs of [0, 60_000]) {
      const lines: Record<string, unknown>[] = [];
      const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
      const s = new Server({ address: '127.0.0.1:0', timeoutMs, logger });
      const never = () => new Promise(() => {});
      gen.registerLibraryHTTPServer(s, { getFile: never, publishBook: never } as any);
      await s.start();
      const base = `http://127.0.0.1:${s.listenPort}`;
      // A GET (answered without fastify) and a POST with a body (through fastify).
      const inFlight = [
        fetch(`${base}/v1/files/x`),
        fetch(`${base}/v1/books/4:publish`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: '{}',
        }),
      ];
      await new Promise((r) => setTimeout(r, 50));
      await s.stop({ timeoutMs: 100 });
      for (const res of await Promise.all(inFlight)) {
        expect(res.status, String(timeoutMs)).toBe(503);
        expect(await res.json()).toMatchObject({
          reason: 'SERVICE_UNAVAILABLE',
          message: 'the server stopped before the call finished',
        });
      }
      expect(lines.filter((l) => l['msg'] === 'calls still running at the stop timeout were cut')).toEqual([
        expect.objectContaining({ level: 40, transport: 'http', calls: 2 }),
      ]);
    }
  });
});

// Bodiless calls to tsk's routes are answered without fastify until code asks for the
// engine; these cases hold whichever way a call is served.
describe('fastify underneath', () => {
  const getBook = async (_ctx: unknown, request: any) => ({
    id: request.book?.id ?? request.id,
    title: 'T',
    tags: [],
    labels: {},
    genre: 0,
  });

  it('runs the hooks added through the engine for every call, bodiless or not', async () => {
    const s = new HttpServer({ address: '127.0.0.1:0' });
    gen.registerLibraryHTTPServer(s, { getBook, publishBook: getBook } as any);
    s.engine.addHook('onRequest', async (request, reply) => {
      reply.header('x-seen-by-hook', request.method);
    });
    await s.start();
    try {
      const get = await fetch(`http://127.0.0.1:${s.listenPort}/v1/books/7`);
      expect(get.status).toBe(200);
      expect(get.headers.get('x-seen-by-hook')).toBe('GET');
      expect((await get.json()).id).toBe('7');
      const head = await fetch(`http://127.0.0.1:${s.listenPort}/v1/books/7`, { method: 'HEAD' });
      expect(head.headers.get('x-seen-by-hook')).toBe('HEAD');
    } finally {
      await s.stop();
    }
  });

  it('lets raw routes win over templates that match their path, static or parametric', async () => {
    const s = new HttpServer({ address: '127.0.0.1:0' });
    gen.registerLibraryHTTPServer(s, { getBook } as any);
    s.handleRaw('GET', '/v1/books/healthz', (_request, reply) => reply.send('raw static'));
    await s.start();
    const base = `http://127.0.0.1:${s.listenPort}`;
    try {
      expect(await (await fetch(`${base}/v1/books/healthz`)).text()).toBe('raw static');
      expect((await (await fetch(`${base}/v1/books/8`)).json()).id).toBe('8');
    } finally {
      await s.stop();
    }

    const p = new HttpServer({ address: '127.0.0.1:0' });
    gen.registerLibraryHTTPServer(p, { getBook } as any);
    p.handleRaw('GET', '/v1/books/:anything', (_request, reply) => reply.send('raw parametric'));
    await p.start();
    try {
      expect(await (await fetch(`http://127.0.0.1:${p.listenPort}/v1/books/9`)).text()).toBe('raw parametric');
    } finally {
      await p.stop();
    }
  });

  it('answers HEAD on raw GET routes (the probes, /metrics) and 405 with Allow for other methods', async () => {
    const s = new HttpServer({ address: '127.0.0.1:0' });
    const readiness = new Readiness();
    readiness.markStarted();
    registerHealthRoutes(s, readiness);
    await s.start();
    const base = `http://127.0.0.1:${s.listenPort}`;
    try {
      for (const probe of ['/healthz', '/readyz']) {
        const head = await fetch(`${base}${probe}`, { method: 'HEAD' });
        expect(head.status, probe).toBe(200);
        expect(head.headers.get('content-type')).toMatch(/^application\/json/);
        expect(await head.text()).toBe('');
      }
      const post = await fetch(`${base}/readyz`, { method: 'POST' });
      expect(post.status).toBe(405);
      expect(post.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
      expect(await post.json()).toMatchObject({ code: 405, reason: 'METHOD_NOT_ALLOWED' });
      expect((await fetch(`${base}/healthz`, { method: 'OPTIONS' })).status).toBe(204);
    } finally {
      await s.stop();
    }
  });

  it('binds a GET that carries a body as before (it goes through fastify)', async () => {
    seen = [];
    const answer = await nodeRequest(
      `${base}/v1/books/3?includeReviews=true`,
      { method: 'GET', headers: { 'content-type': 'application/json', 'content-length': '16' } },
      '{"ignored":true}',
    );
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.body).id).toBe('3');
    expect(seen[0]?.request).toMatchObject({ book: { id: '3' }, includeReviews: true });
  });
});
