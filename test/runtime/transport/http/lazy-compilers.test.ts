// The HTTP server loads fastify's schema compilers only when a route needs them, and
// a user's route with JSON schemas (added through `server.engine`) is validated and
// serialized exactly as on a plain fastify instance: same statuses, same accepted
// (coerced) values, same response filtering, same validation messages.
import { createRequire } from 'node:module';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpServer } from '../../../../src/runtime/transport/http/index.js';

const require = createRequire(import.meta.url);
const loaded = (pkg: string) => Object.keys(require.cache).some((k) => k.includes(`/node_modules/${pkg}/`));

/** Routes with every schema part fastify validates: body, querystring, params, headers (mixed-case keys), response. */
function addSchemaRoutes(app: FastifyInstance): void {
  app.post(
    '/things/:id',
    {
      schema: {
        params: { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] },
        querystring: {
          type: 'object',
          properties: { limit: { type: 'integer', maximum: 50 }, tags: { type: 'array', items: { type: 'string' } } },
        },
        headers: {
          type: 'object',
          properties: { 'X-Api-Key': { type: 'string', minLength: 3 } },
          required: ['X-Api-Key'],
        },
        body: {
          type: 'object',
          properties: { name: { type: 'string', minLength: 1 }, count: { type: 'number' } },
          required: ['name'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              id: { type: 'integer' },
              limit: { type: 'integer' },
              tags: { type: 'array', items: { type: 'string' } },
              key: { type: 'string' },
              body: { type: 'object', properties: { name: { type: 'string' }, count: { type: 'number' } } },
            },
          },
        },
      },
    },
    async (request) => {
      const query = request.query as { limit?: number; tags?: string[] };
      return {
        id: (request.params as { id: number }).id,
        limit: query.limit,
        tags: query.tags,
        key: request.headers['x-api-key'],
        body: request.body,
        secret: 'dropped by the response schema',
      };
    },
  );
}

const cases: { name: string; url: string; headers?: Record<string, string>; body?: unknown }[] = [
  {
    name: 'valid',
    url: '/things/7?limit=5&tags=a&tags=b',
    headers: { 'x-api-key': 'abcd' },
    body: { name: 'n', count: 2 },
  },
  { name: 'coerced numbers', url: '/things/0007?limit=50', headers: { 'X-API-KEY': 'abc' }, body: { name: 'n' } },
  { name: 'bad param', url: '/things/0', headers: { 'x-api-key': 'abcd' }, body: { name: 'n' } },
  { name: 'bad query', url: '/things/1?limit=51', headers: { 'x-api-key': 'abcd' }, body: { name: 'n' } },
  { name: 'missing header', url: '/things/1', body: { name: 'n' } },
  { name: 'short header', url: '/things/1', headers: { 'x-api-key': 'ab' }, body: { name: 'n' } },
  { name: 'missing field', url: '/things/1', headers: { 'x-api-key': 'abcd' }, body: { count: 1 } },
  { name: 'extra field', url: '/things/1', headers: { 'x-api-key': 'abcd' }, body: { name: 'n', extra: true } },
  { name: 'wrong type', url: '/things/1', headers: { 'x-api-key': 'abcd' }, body: { name: 'n', count: 'many' } },
];

async function call(base: string, c: (typeof cases)[number]) {
  const res = await fetch(`${base}${c.url}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...c.headers },
    body: JSON.stringify(c.body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

let server: HttpServer;
let plain: FastifyInstance;
let ours: string;
let theirs: string;
let loadedBeforeSchemas: { ajv: boolean; serializer: boolean };

beforeAll(async () => {
  server = new HttpServer({ address: '127.0.0.1:0' });
  await server.start();
  // Checked before anything in this file adds a schema (the test runs in its own process).
  loadedBeforeSchemas = {
    ajv: loaded('@fastify/ajv-compiler'),
    serializer: loaded('@fastify/fast-json-stringify-compiler'),
  };
  ours = server.endpoint();
  await server.stop();
  server = new HttpServer({ address: '127.0.0.1:0' });
  addSchemaRoutes(server.engine);
  await server.start();
  ours = server.endpoint();
  plain = Fastify();
  addSchemaRoutes(plain);
  await plain.listen({ host: '127.0.0.1', port: 0 });
  const address = plain.server.address();
  theirs = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
});

afterAll(async () => {
  await server?.stop();
  await plain?.close();
});

describe('fastify schema compilers in the HTTP server', () => {
  it('are not loaded by a server whose routes have no schema', () => {
    expect(loadedBeforeSchemas).toEqual({ ajv: false, serializer: false });
    expect(loaded('@fastify/ajv-compiler')).toBe(true); // the schema routes above loaded them
  });

  it.each(cases)('validate and serialize a user route as plain fastify does: $name', async (c) => {
    const [a, b] = await Promise.all([call(ours, c), call(theirs, c)]);
    expect(a.status).toBe(b.status);
    if (b.status === 200) expect(a.body).toEqual(b.body);
    else {
      expect(b.status).toBe(400);
      expect(a.body.message).toBe(b.body.message);
    }
  });
});
