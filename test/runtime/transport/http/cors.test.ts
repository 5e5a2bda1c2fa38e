// A CORS plugin on the server's engine, as docs/openapi-and-clients.md tells: @fastify/cors
// registers (its `OPTIONS *` route beside the server's catch-all), answers preflights, and
// its headers reach every answer, event streams included. Without one, OPTIONS still
// answers 204 with Allow. Plain fetch with an Origin header, as a browser sends it.
import cors from '@fastify/cors';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HttpRoute, MessageSchema } from '../../../../src/runtime/transport/http/route.js';
import { HttpServer } from '../../../../src/runtime/transport/http/server.js';

const schema: MessageSchema = {
  typeName: 't.Req',
  fields: [{ name: 'id', jsonName: 'id', kind: 'scalar', scalar: 'string' }],
};
const Msg = { fromJSON: (o: any) => o, toJSON: (m: unknown) => m };
const binding = (method: string, path: string, operation: string): HttpRoute<unknown, unknown> => ({
  method,
  path,
  operation,
  request: Msg,
  requestSchema: schema,
  response: Msg,
  responseSchema: schema,
});
const APP = 'http://app.example';

function serve(withCors: boolean): HttpServer {
  const server = new HttpServer({ address: '127.0.0.1:0' });
  // Not awaited, as a service's synchronous newHttpServer registers it: fastify loads it as it starts.
  if (withCors)
    void server.engine.register(cors, {
      origin: [APP],
      methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    });
  server.route(binding('GET', '/v1/things/{id}', '/t.S/Get'), async (_ctx, req) => req);
  server.route(binding('POST', '/v1/things', '/t.S/Create'), async (_ctx, req) => req);
  server.streamRoute(binding('GET', '/v1/things/{id}:watch', '/t.S/Watch'), async (_ctx, req, send) => {
    await send(req);
  });
  return server;
}

let withCors: HttpServer;
let without: HttpServer;
const url = (s: HttpServer, path: string) => `http://127.0.0.1:${s.listenPort}${path}`;

beforeAll(async () => {
  withCors = serve(true);
  without = serve(false);
  await withCors.start();
  await without.start();
});
afterAll(async () => {
  await withCors.stop({ timeoutMs: 0 });
  await without.stop({ timeoutMs: 0 });
});

describe('@fastify/cors on the engine', () => {
  it('answers a preflight for an allowed origin', async () => {
    const r = await fetch(url(withCors, '/v1/things'), {
      method: 'OPTIONS',
      headers: {
        origin: APP,
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-origin')).toBe(APP);
  });

  it('approves a DELETE with the methods the docs name', async () => {
    const r = await fetch(url(withCors, '/v1/things/1'), {
      method: 'OPTIONS',
      headers: { origin: APP, 'access-control-request-method': 'DELETE' },
    });
    expect(r.status).toBe(204);
    expect(r.headers.get('access-control-allow-methods')).toContain('DELETE');
  });

  it('adds its headers to answers, errors and event streams', async () => {
    const get = await fetch(url(withCors, '/v1/things/1'), { headers: { origin: APP } });
    expect(await get.json()).toEqual({ id: '1' });
    expect(get.headers.get('access-control-allow-origin')).toBe(APP);
    const missing = await fetch(url(withCors, '/v1/nothing'), { headers: { origin: APP } });
    expect(missing.status).toBe(404);
    expect(missing.headers.get('access-control-allow-origin')).toBe(APP);
    const events = await fetch(url(withCors, '/v1/things/7:watch'), { headers: { origin: APP } });
    expect(events.headers.get('content-type')).toContain('text/event-stream');
    expect(events.headers.get('access-control-allow-origin')).toBe(APP);
    expect(await events.text()).toContain('data: {"id":"7"}');
  });
});

describe('without a CORS plugin', () => {
  it('answers OPTIONS with 204 and Allow, and an unknown path 404', async () => {
    const r = await fetch(url(without, '/v1/things/1'), { method: 'OPTIONS' });
    expect(r.status).toBe(204);
    expect(r.headers.get('allow')).toBe('GET, HEAD, OPTIONS');
    const none = await fetch(url(without, '/v1/nothing'), { method: 'OPTIONS' });
    expect(none.status).toBe(404);
    expect(await none.json()).toMatchObject({ reason: 'NOT_FOUND' });
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
  });
});
