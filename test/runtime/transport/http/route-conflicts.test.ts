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
