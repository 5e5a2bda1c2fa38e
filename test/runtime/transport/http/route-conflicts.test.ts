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
});
