// The edge fixture's generated HTTP server publishing its OpenAPI document and
// docs page, opened in headless Chromium; and the generated fetch client, bundled
// by esbuild for the browser, calling that server from a page it serves (same
// origin, so no CORS).
import fs from 'node:fs';
import path from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { build } from 'esbuild';
import type { Browser } from 'puppeteer-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpServer } from '../../../../src/runtime/transport/http/index.js';
import { registerOpenApiRoutes } from '../../../../src/runtime/transport/http/openapi.js';
import { newError } from '../../../../src/runtime/errors/errors.js';
import type { Context } from '../../../../src/runtime/transport/context.js';
import { repoRoot, scratchFixture, tsk } from '../../../helpers/cli.js';
import { chromiumAvailable, launchChromium } from '../../../helpers/chromium.js';
import { checkOpenApi } from '../../../helpers/openapi.js';

const BROWSER_APP = `
import { LibraryFetchClient, isFetchServiceError } from './edge/v1/edge_fetch.js';

const client = new LibraryFetchClient({ headers: { 'x-client': 'edge-app' } });
const out: Record<string, unknown> = {};
const failure = (e: any) => ({ isServiceError: isFetchServiceError(e), name: e.name, code: e.code, reason: e.reason, message: e.message, metadata: e.metadata });
try {
  out.getBook = await client.getBook(
    { shelf: 'a b/c', book: { id: '9007199254740993', title: 'T' }, editions: [1, 2], genre: 'GENRE_SCIENCE', filter: { range: { min: 3 } } },
    { headers: { 'x-call': 'get-book' } },
  );
  out.publish = await client.publishBook({ id: '7', comment: 'c', genres: ['GENRE_FICTION'] });
  out.update = await client.updateBook({ book: { id: '5', title: 'New' }, updateMask: 'title' });
  out.list = await client.listBooks({ tags: ['x', 'y'] });
  out.byName = await client.getByName({ name: 'publishers/p1/books/b2' });
  out.ping = await client.ping({ message: 'hi' });
  try { await client.getFile({ path: 'missing' }); } catch (e) { out.missing = failure(e); }
  try { await client.publishBook({ id: 'not-a-number' }); } catch (e) { out.badId = failure(e); }
  const abort = new AbortController();
  const hanging = client.getFile({ path: 'hang' }, { signal: abort.signal });
  setTimeout(() => abort.abort(), 50);
  try { await hanging; } catch (e) { out.aborted = (e as Error).name; }
} catch (e) {
  out.unexpected = String((e as Error)?.stack ?? e);
}
(window as any).results = out;
`;

const APP_PAGE =
  '<!doctype html><html><head><meta charset="utf-8"><title>app</title></head><body><script type="module" src="app.js"></script></body></html>';

let server: HttpServer;
let base: string;
let document: Record<string, unknown>;
let bundle: { text: string; inputs: string[] };
const seen: { op: string; request: any; headers: Record<string, string | undefined> }[] = [];

beforeAll(async () => {
  const dir = scratchFixture('openapi-browser', 'edge');
  const client = tsk(
    ['proto', 'client', '.', '-I', '.', '--fetch', '--runtime', path.join(repoRoot, 'src', 'runtime')],
    dir,
  );
  expect(client.status, client.stderr).toBe(0);
  const openapi = tsk(['proto', 'openapi', '.', '-I', '.', '-o', 'openapi.json'], dir);
  expect(openapi.status, openapi.stderr).toBe(0);
  document = JSON.parse(fs.readFileSync(path.join(dir, 'openapi.json'), 'utf8'));

  fs.writeFileSync(path.join(dir, 'app.ts'), BROWSER_APP);
  const built = await build({
    entryPoints: [path.join(dir, 'app.ts')],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  bundle = { text: built.outputFiles[0]!.text, inputs: Object.keys(built.metafile.inputs) };

  const gen = await import(path.join(dir, 'edge/v1/edge_http.ts'));
  const record = (op: string) => async (ctx: Context, request: any) => {
    seen.push({
      op,
      request,
      headers: { client: ctx.transport.requestHeader.get('x-client'), call: ctx.transport.requestHeader.get('x-call') },
    });
    return {
      id: request.book?.id ?? request.id ?? '0',
      title: request.book?.title ?? 'Dune',
      tags: [],
      labels: {},
      genre: 1,
      cover: 0,
    };
  };
  const impl = {
    getBook: record('getBook'),
    getByName: async (_ctx: Context, request: any) => ({
      id: '1',
      title: request.name,
      tags: [],
      labels: {},
      genre: 0,
      cover: 0,
    }),
    getFile: async (ctx: Context, request: any) => {
      if (request.path === 'missing') throw newError(404, 'FILE_MISSING', 'no such file', { path: request.path });
      if (request.path === 'hang')
        return new Promise((_, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)));
      return { path: request.path, content: Buffer.from('hi') };
    },
    publishBook: record('publishBook'),
    updateBook: record('updateBook'),
    listBooks: async (_ctx: Context, request: any) => ({
      books: [{ id: '1', title: request.tags.join('+'), tags: ['x'], labels: {}, genre: 2, cover: 0 }],
      nextPageToken: 'next',
    }),
    searchBooks: async () => ({ books: [], nextPageToken: '' }),
    deleteBook: async () => ({}),
    ping: async (_ctx: Context, request: any) => ({
      message: request.message,
      receivedAt: new Date('2024-05-01T00:00:00Z'),
    }),
  };
  server = new HttpServer({ address: '127.0.0.1:0', timeoutMs: 3000 });
  gen.registerLibraryHTTPServer(server, impl);
  registerOpenApiRoutes(server, { document, docs: true });
  server.handleRaw('GET', '/app/', (_request, reply) => reply.type('text/html; charset=utf-8').send(APP_PAGE));
  server.handleRaw('GET', '/app/app.js', (_request, reply) =>
    reply.type('text/javascript; charset=utf-8').send(bundle.text),
  );
  await server.start();
  base = `http://127.0.0.1:${server.listenPort}`;
}, 120_000);

afterAll(async () => {
  await server?.stop({ timeoutMs: 1000 });
});

describe('GET /openapi.json', () => {
  it('serves the document tsk proto openapi wrote, and it is valid', async () => {
    const res = await fetch(`${base}/openapi.json`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    const served = await res.json();
    expect(served).toEqual(document);
    await checkOpenApi(served);
  });

  it('redirects /docs to /docs/ so the page finds its files', async () => {
    const res = await fetch(`${base}/docs`, { redirect: 'manual' });
    expect(res.status).toBe(301);
    expect(res.headers.get('location')).toBe('/docs/');
  });
});

describe('the document agrees with the server', () => {
  it('answers match the 200 and error schemas of their operations', async () => {
    const ajv = new Ajv2020({ strict: false, validateFormats: false });
    const paths = document['paths'] as Record<
      string,
      Record<string, { responses: Record<string, { content: { 'application/json': { schema: object } } }> }>
    >;
    let n = 0;
    const check = async (pathKey: string, method: string, url: string, status: string, init: RequestInit = {}) => {
      const res = await fetch(base + url, { method: method.toUpperCase(), ...init });
      const body = await res.json();
      expect(String(res.status === 200 ? 200 : 'default')).toBe(status);
      const schema = paths[pathKey]![method]!.responses[status]!.content['application/json'].schema;
      const validate = ajv.compile({ $id: `urn:tsk:check:${n++}`, components: document['components'], ...schema });
      expect(validate(body), `${method} ${url}: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(body)}`).toBe(
        true,
      );
      return body;
    };
    const book = await check(
      '/v1/shelves/{shelf}/books/{book.id}',
      'get',
      '/v1/shelves/s/books/12?genre=GENRE_FICTION',
      '200',
    );
    expect(book.id).toBe('12');
    await check('/v1/books', 'get', '/v1/books?tags=a', '200');
    await check('/edge.v1.Library/Ping', 'post', '/edge.v1.Library/Ping', '200', {
      body: '{"message":"x"}',
      headers: { 'content-type': 'application/json' },
    });
    await check('/v1/files/{path}', 'get', '/v1/files/missing', 'default');
    await check('/v1/books/{id}:publish', 'post', '/v1/books/abc:publish', 'default', {
      body: '{}',
      headers: { 'content-type': 'application/json' },
    });
  });
});

describe('the fetch client bundle', () => {
  it('holds only the generated client: no runtime, Node or message-codec modules', () => {
    expect(bundle.inputs.map((p) => path.basename(p)).sort()).toEqual(['app.ts', 'edge_fetch.ts']);
  });
});

describe.skipIf(!chromiumAvailable() && !process.env['CI'])('in headless Chromium', () => {
  let browser: Browser;
  let close: () => Promise<void>;

  beforeAll(async () => {
    ({ browser, close } = await launchChromium());
  }, 60_000);

  afterAll(async () => {
    await close?.();
  });

  it('the docs page lists every operation of the document', async () => {
    const page = await browser.newPage();
    const failed: string[] = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    page.on('response', (r) => {
      if (r.status() >= 400 && !r.url().endsWith('/favicon.ico')) failed.push(`${r.status()} ${r.url()}`);
    });
    await page.goto(`${base}/docs/`, { waitUntil: 'load' });
    await page.waitForSelector('.opblock-summary-path', { timeout: 20_000 });
    const listed = await page.$$eval('.opblock-summary', (els) =>
      els.map((e) =>
        [
          e.querySelector('.opblock-summary-method')?.textContent?.trim(),
          e.querySelector('.opblock-summary-path')?.getAttribute('data-path'),
        ].join(' '),
      ),
    );
    const expected = Object.entries(document['paths'] as Record<string, Record<string, unknown>>).flatMap(([p, item]) =>
      Object.keys(item)
        .filter((m) => !m.startsWith('x-'))
        .map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(listed.sort()).toEqual(expected.sort());
    expect(listed).toContain('GET /v1/shelves/{shelf}/books/{book.id}');
    expect(failed).toEqual([]);
    await page.close();
  }, 60_000);

  it('the fetch client calls the service: routes, proto3 JSON, headers, errors and abort', async () => {
    seen.length = 0;
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    await page.goto(`${base}/app/`, { waitUntil: 'load' });
    await page.waitForFunction(() => (window as any).results !== undefined, { timeout: 20_000 });
    const results = await page.evaluate(() => (window as any).results);
    await page.close();
    expect(errors).toEqual([]);
    expect(results.unexpected).toBeUndefined();

    // What the server bound from each call the browser made.
    const getBook = seen.find((s) => s.op === 'getBook')!;
    expect(getBook.request).toMatchObject({
      shelf: 'a b/c',
      book: { id: '9007199254740993' },
      editions: [1, 2],
      genre: 2,
      filter: { range: { min: 3 } },
    });
    expect(getBook.headers).toEqual({ client: 'edge-app', call: 'get-book' });
    // Every field of the answer, unset ones at their defaults (a oneof member stays out).
    expect(results.getBook).toEqual({
      id: '9007199254740993',
      title: 'T',
      genre: 'GENRE_FICTION',
      tags: [],
      labels: {},
      publishTime: null,
      author: null,
      cover: 'COLOR_UNSPECIFIED',
      readingTime: null,
    });
    expect(seen.find((s) => s.op === 'publishBook')!.request).toMatchObject({ id: '7', comment: 'c', genres: [1] });
    expect(seen.find((s) => s.op === 'updateBook')!.request).toMatchObject({
      book: { id: '5', title: 'New' },
      updateMask: 'title',
    });
    expect(results.update).toMatchObject({ id: '5', title: 'New' });
    // response_body: the reply is the books array, handed back as the full response message.
    expect(results.list).toMatchObject({
      books: [{ id: '1', title: 'x+y', tags: ['x'], genre: 'GENRE_SCIENCE', labels: {} }],
    });
    expect(results.byName.title).toBe('publishers/p1/books/b2');
    expect(results.ping).toEqual({ message: 'hi', receivedAt: '2024-05-01T00:00:00Z' });
    expect(results.missing).toEqual({
      isServiceError: true,
      name: 'FetchServiceError',
      code: 404,
      reason: 'FILE_MISSING',
      message: 'no such file',
      metadata: { path: 'missing' },
    });
    expect(results.badId).toMatchObject({ isServiceError: true, code: 400, reason: 'CODEC' });
    expect(results.aborted).toBe('AbortError');
  }, 60_000);
});
