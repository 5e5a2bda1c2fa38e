// Calls the HTTP server answers before they reach a handler: each gets the error
// JSON and is seen by the chain's outer hooks (tracing, access log, metrics) under
// its route's operation or `<unmatched>`. Sent over raw sockets, so nothing fixes
// up the bytes on the way.
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallObserver } from '../../../../src/runtime/transport/observer.js';
import { fromError } from '../../../../src/runtime/errors/errors.js';
import { HttpServer, UNMATCHED_OPERATION } from '../../../../src/runtime/transport/http/server.js';
import type { HttpRoute, MessageSchema } from '../../../../src/runtime/transport/http/route.js';

const schema: MessageSchema = {
  typeName: 't.Text',
  fields: [{ name: 'text', jsonName: 'text', kind: 'scalar', scalar: 'string' }],
};
const Msg = {
  fromJSON: (o: any) => ({ text: String(o?.text ?? '') }),
  toJSON: (m: { text: string }) => ({ text: m.text }),
};
const echo: HttpRoute<{ text: string }, { text: string }> = {
  method: 'POST',
  path: '/v1/echo',
  operation: '/t.Echo/Echo',
  body: '*',
  request: Msg,
  requestSchema: schema,
  response: Msg,
  responseSchema: schema,
};

const seen: string[] = [];
let server: HttpServer;
let port: number;

beforeAll(async () => {
  const record: CallObserver = {
    onStart: () => undefined,
    onEnd: (ctx, _started, { error }) => {
      const e = error === undefined ? undefined : fromError(error);
      seen.push(`${ctx.transport.operation} ${e?.code ?? 200} ${e?.reason ?? ''}`);
    },
  };
  server = new HttpServer({ address: '127.0.0.1:0', observers: [record], bodyLimit: 1024 });
  server.route(echo, async (_ctx, req) => req);
  await server.start();
  port = server.listenPort!;
});
afterAll(async () => {
  await server.stop({ timeoutMs: 1000 });
});

/** Sends raw bytes and returns status and body of the answer (the connection closes after it). */
function raw(bytes: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end(bytes));
    let data = '';
    socket.on('data', (d) => (data += d));
    socket.on('error', reject);
    socket.on('close', () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      const body = data.slice(data.indexOf('\r\n\r\n') + 4);
      resolve({ status, body });
    });
  });
}

const post = (body: string, type = 'application/json', extra = '') =>
  `POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n${extra}\r\n${body}`;

describe('rejections before routing', () => {
  const cases: [string, () => string, number, string, string][] = [
    [
      'an unknown path',
      () => 'GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      404,
      'NOT_FOUND',
      UNMATCHED_OPERATION,
    ],
    [
      'a method the path does not take',
      () => 'GET /v1/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      405,
      'METHOD_NOT_ALLOWED',
      '/t.Echo/Echo',
    ],
    ['malformed JSON', () => post('{"text":'), 400, 'CODEC', '/t.Echo/Echo'],
    // Routed before the body is read: a body no handler would read is not what is wrong.
    [
      'malformed JSON to a method the path does not take',
      () => post('{"text":').replace('POST /v1/echo', 'PUT /v1/echo'),
      405,
      'METHOD_NOT_ALLOWED',
      '/t.Echo/Echo',
    ],
    [
      'malformed JSON to an unknown path',
      () => post('{"text":').replace('POST /v1/echo', 'POST /v1/nope'),
      404,
      'NOT_FOUND',
      UNMATCHED_OPERATION,
    ],
    [
      'a body over the limit to an unknown path',
      () => post(JSON.stringify({ text: 'x'.repeat(2000) })).replace('POST /v1/echo', 'POST /v1/nope'),
      404,
      'NOT_FOUND',
      UNMATCHED_OPERATION,
    ],
    [
      'a body over the limit',
      () => post(JSON.stringify({ text: 'x'.repeat(2000) })),
      413,
      'PAYLOAD_TOO_LARGE',
      '/t.Echo/Echo',
    ],
    ['an unsupported media type', () => post('{}', 'image/png'), 415, 'UNSUPPORTED_MEDIA_TYPE', '/t.Echo/Echo'],
    [
      'a compressed body',
      () => post('{}', 'application/json', 'Content-Encoding: gzip\r\n'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      '/t.Echo/Echo',
    ],
    [
      'a body in another charset',
      () => post('{}', 'application/json; charset=latin1'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      '/t.Echo/Echo',
    ],
    [
      'a form in another charset',
      () => post('text=x', 'application/x-www-form-urlencoded; charset=iso-8859-1'),
      415,
      'UNSUPPORTED_MEDIA_TYPE',
      '/t.Echo/Echo',
    ],
    [
      'headers too large',
      () => `GET /v1/echo HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`,
      431,
      'HEADERS_TOO_LARGE',
      UNMATCHED_OPERATION,
    ],
    [
      'HTTP/1.1 without Host',
      () => 'GET /v1/echo HTTP/1.1\r\nConnection: close\r\n\r\n',
      400,
      'BAD_REQUEST',
      UNMATCHED_OPERATION,
    ],
    ['a malformed request line', () => 'GARBAGE\r\n\r\n', 400, 'BAD_REQUEST', UNMATCHED_OPERATION],
  ];
  for (const [what, bytes, status, reason, operation] of cases) {
    it(`${what}: ${status} ${reason} with the error JSON, observed as ${operation}`, async () => {
      seen.length = 0;
      const res = await raw(bytes());
      expect(res.status).toBe(status);
      expect(JSON.parse(res.body)).toMatchObject({ code: status, reason });
      expect(seen).toEqual([`${operation} ${status} ${reason}`]);
    });
  }

  it('JSON nested deeper than the limit is a clear 400, not a stack overflow', async () => {
    const deep = new HttpServer({ address: '127.0.0.1:0', bodyLimit: 1024 * 1024 });
    deep.route(echo, async (_ctx, req) => req);
    await deep.start();
    try {
      const body = `{"text":"a","x":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
      const res = await fetch(`http://127.0.0.1:${deep.listenPort}/v1/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      expect(res.status).toBe(400);
      expect(await res.json()).toMatchObject({
        reason: 'CODEC',
        message: 'malformed JSON body: nested deeper than 100 levels',
      });
      const ok = await fetch(`http://127.0.0.1:${deep.listenPort}/v1/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: '{"text":"[{\\"quoted\\"}]"}',
      });
      expect(await ok.json()).toEqual({ text: '[{"quoted"}]' });
    } finally {
      await deep.stop({ timeoutMs: 1000 });
    }
  });

  it('reads text/plain bodies as JSON, as Kratos does', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: '{"text":"hi"}',
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ text: 'hi' });
    const bad = await fetch(`http://127.0.0.1:${port}/v1/echo`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain' },
      body: 'hello',
    });
    expect(bad.status).toBe(400);
    expect((await bad.json()).message).toMatch(/^malformed JSON body: /);
  });

  it("names what is wrong with a malformed body without quoting the body's text", async () => {
    const send = async (body: string) => {
      const res = await fetch(`http://127.0.0.1:${port}/v1/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
      return { status: res.status, body: await res.json() };
    };
    expect(await send('{"password":"Hunter2!","a":undefined}')).toMatchObject({
      status: 400,
      body: { reason: 'CODEC', message: "malformed JSON body: Unexpected token 'u'" },
    });
    expect((await send('{"text":NaN}')).body.message).toBe("malformed JSON body: Unexpected token 'N'");
    expect((await send('{"text" "x"}')).body.message).toMatch(/^malformed JSON body: Expected ':' after property name/);
  });

  it('refuses what protojson refuses: bytes that are not UTF-8, null for the request message, a key given twice', async () => {
    const send = (body: Uint8Array<ArrayBuffer> | string) =>
      fetch(`http://127.0.0.1:${port}/v1/echo`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
      });
    const utf8 = await send(new Uint8Array([...Buffer.from('{"text":"'), 0xc3, 0x28, ...Buffer.from('"}')]));
    expect(utf8.status).toBe(400);
    expect(await utf8.json()).toMatchObject({ reason: 'CODEC', message: 'malformed JSON body: not valid UTF-8' });
    const nothing = await send('null');
    expect(nothing.status).toBe(400);
    expect(await nothing.json()).toMatchObject({ reason: 'CODEC', message: 'request body must be a JSON object' });
    const twice = await send('{"text":"a","text":"b"}');
    expect(twice.status).toBe(400);
    expect(await twice.json()).toMatchObject({
      reason: 'CODEC',
      message: 'malformed JSON body: key "text" appears twice in one object',
    });
    const accented = await send('{"text":"café"}');
    expect(await accented.json()).toEqual({ text: 'café' });
  });
});
