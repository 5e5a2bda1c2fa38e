// Two bindings that match the same method and paths: the second could never be
// called (routes are tried in order), so the server refuses it when it is registered.
import { describe, expect, it } from 'vitest';
import { HttpServer } from '../../../../src/runtime/transport/http/server.js';
import type { HttpRoute, MessageSchema } from '../../../../src/runtime/transport/http/route.js';

const schema: MessageSchema = {
  typeName: 't.Req',
  fields: [
    { name: 'id', jsonName: 'id', kind: 'scalar', scalar: 'string' },
    { name: 'name', jsonName: 'name', kind: 'scalar', scalar: 'string' },
  ],
};
const Msg = { fromJSON: (o: any) => o, toJSON: (m: unknown) => m };

function binding(method: string, path: string, operation: string): HttpRoute<unknown, unknown> {
  return { method, path, operation, request: Msg, requestSchema: schema, response: Msg, responseSchema: schema };
}

describe('HttpServer routes', () => {
  it('refuses a binding whose method and paths an earlier one takes, naming both', () => {
    const server = new HttpServer({ address: '127.0.0.1:0' });
    server.route(binding('GET', '/v1/things/{id}', '/a.A/Get'), async () => ({}));
    for (const path of ['/v1/things/{name}', '/v1/things/{name=*}']) {
      expect(() => server.route(binding('GET', path, '/b.B/Get'), async () => ({}))).toThrow(
        `http route: GET ${path} (/b.B/Get) matches the same paths as /v1/things/{id} (/a.A/Get), registered before it, so it would never be called`,
      );
    }
  });

  it('takes bindings that differ in method, shape or verb', () => {
    const server = new HttpServer({ address: '127.0.0.1:0' });
    const handler = async () => ({});
    server.route(binding('GET', '/v1/things/{id}', '/a.A/Get'), handler);
    server.route(binding('DELETE', '/v1/things/{id}', '/a.A/Delete'), handler);
    server.route(binding('GET', '/v1/things/{id}:count', '/a.A/Count'), handler);
    server.route(binding('GET', '/v1/things/{name=shelves/*}', '/a.A/Shelf'), handler);
    server.route(binding('GET', '/v1/things/{name=**}', '/a.A/Deep'), handler);
    server.route(binding('GET', '/v1/things', '/a.A/List'), handler);
  });

  it('gives a path ending in a verb to the route with that verb, though a route without one, declared first, matches it too', async () => {
    const server = new HttpServer({ address: '127.0.0.1:0' });
    server.route(binding('GET', '/v1/{name=books/*}', '/a.A/Get'), async (_ctx, req) => ({
      id: 'get',
      ...(req as object),
    }));
    server.route(binding('GET', '/v1/{name=books/*}:title', '/a.A/Title'), async (_ctx, req) => ({
      id: 'title',
      ...(req as object),
    }));
    await server.start();
    try {
      const get = (path: string) => fetch(`http://127.0.0.1:${server.listenPort}${path}`).then((r) => r.json());
      expect(await get('/v1/books/1:title')).toEqual({ id: 'title', name: 'books/1' });
      expect(await get('/v1/books/1')).toEqual({ id: 'get', name: 'books/1' });
      // A colon that is no route's verb stays part of the value.
      expect(await get('/v1/books/1:other')).toEqual({ id: 'get', name: 'books/1:other' });
    } finally {
      await server.stop({ timeoutMs: 0 });
    }
  });
});

describe('routes a service adds on the engine', () => {
  const handler = async () => ({ id: 'binding' });
  const proto = () => {
    const server = new HttpServer({ address: '127.0.0.1:0' });
    server.route(binding('GET', '/v1/public/info', '/a.A/Info'), handler);
    server.route(binding('GET', '/v1/widgets/{id}', '/a.A/Widget'), handler);
    server.route(binding('POST', '/v1/{name=shelves/*}/books', '/a.A/AddBook'), handler);
    return server;
  };

  // fastify matches them before the catch-all that leads to the bindings: the binding would never be called.
  it.each([
    ['GET', '/v1/public/info', 'GET /v1/public/info (/a.A/Info)'],
    ['GET', '/v1/widgets/:widget', 'GET /v1/widgets/{id} (/a.A/Widget)'],
    ['GET', '/v1/widgets/*', 'GET /v1/widgets/{id} (/a.A/Widget)'],
    ['HEAD', '/v1/public/info', 'GET /v1/public/info (/a.A/Info)'],
    ['POST', '/v1/shelves/:shelf/books', 'POST /v1/{name=shelves/*}/books (/a.A/AddBook)'],
  ])('refuses at start one that takes a binding’s paths (%s %s), naming both', async (method, url, named) => {
    const server = proto();
    server.engine.route({ method, url, handler: async () => ({ from: 'engine' }) });
    await expect(server.start()).rejects.toThrow(
      `http route: ${method} ${url}, added on the engine, takes the paths of ${named}`,
    );
    await server.stop({ timeoutMs: 0 });
  });

  it('refuses one a plugin adds under a prefix', async () => {
    const server = proto();
    void server.engine.register(
      async (scope) => {
        scope.get('/info', async () => ({ from: 'plugin' }));
      },
      { prefix: '/v1/public' },
    );
    await expect(server.start()).rejects.toThrow('GET /v1/public/info, added on the engine');
    await server.stop({ timeoutMs: 0 });
  });

  it('serves one on other paths or methods beside the bindings, and answers HEAD on its GET', async () => {
    const server = proto();
    server.engine.get('/v1/public/info/legacy', async () => ({ from: 'engine' }));
    server.engine.post('/v1/widgets/:id', async () => ({ from: 'engine post' }));
    server.engine.get('/.well-known/security.txt', async (_request, reply) =>
      reply.type('text/plain').send('Contact: x'),
    );
    await server.start();
    try {
      const at = (path: string, init?: RequestInit) => fetch(`http://127.0.0.1:${server.listenPort}${path}`, init);
      expect(await (await at('/v1/public/info')).json()).toEqual({ id: 'binding', name: '' });
      expect(await (await at('/v1/public/info/legacy')).json()).toEqual({ from: 'engine' });
      expect(await (await at('/v1/widgets/7', { method: 'POST' })).json()).toEqual({ from: 'engine post' });
      expect(await (await at('/v1/widgets/7')).json()).toEqual({ id: 'binding', name: '' });
      const head = await at('/.well-known/security.txt', { method: 'HEAD' });
      expect(head.status).toBe(200);
      expect(head.headers.get('content-type')).toMatch(/^text\/plain/);
    } finally {
      await server.stop({ timeoutMs: 0 });
    }
  });
});
