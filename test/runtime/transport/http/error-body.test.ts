// What the HTTP client makes of an error answer: the ServiceError the server raised,
// with its code taken from the status line (as Kratos's client does) and only fields
// of the error model's types passed on, whatever the body says; and of a stream that is
// answered with something else than events; of a bare status with no body. A fake server answers.
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../../../src/runtime/transport/http/index.js';
import { whoRoute as route } from '../../../helpers/who-service.js';

/** The body each test has the fake server answer with, by the `who` the client sends. */
const answers: Record<string, { status: number; body: string }> = {
  rewritten: { status: 502, body: '{"code":404,"reason":"USER_NOT_FOUND","message":"no user","metadata":{"id":"7"}}' },
  huge: { status: 409, body: '{"code":1000000000,"reason":"R","message":"m","metadata":{}}' },
  types: {
    status: 409,
    body: '{"code":409,"reason":7,"message":{"a":1},"metadata":{"s":"x","n":5,"o":{"a":1},"z":null}}',
  },
  listMetadata: { status: 400, body: '{"code":400,"reason":"R","message":"m","metadata":[1,2]}' },
  // Not a tsk server: a plain status, with no body or no JSON.
  empty: { status: 503, body: '' },
  blank: { status: 502, body: '\r\n' },
  unnamed: { status: 599, body: '' },
  plain: { status: 503, body: 'upstream connect error' },
};
/** Answered with their status whatever the call accepts, as a proxy would. */
const plainStatus = new Set(['empty', 'blank', 'unnamed', 'plain']);

let client: HttpClient;
let server: http.Server;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (c: Buffer) => (body += c));
    req.on('end', () => {
      const who = (JSON.parse(body) as { who: string }).who;
      if (who === 'notAStream') {
        // What a server whose method is unary (an older API), or a login page, answers.
        return res.writeHead(200, { 'content-type': 'application/json' }).end('{"who":"one answer"}');
      }
      if (plainStatus.has(who)) return res.writeHead(answers[who]!.status).end(answers[who]!.body);
      if (req.headers.accept === 'text/event-stream') {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        return res.end(`event: error\ndata: ${answers[who]!.body}\n\n`);
      }
      res.writeHead(answers[who]!.status, { 'content-type': 'application/json' }).end(answers[who]!.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  client = new HttpClient({ target: `http://127.0.0.1:${(server.address() as AddressInfo).port}` });
});

afterAll(async () => {
  await client.close();
  await new Promise((resolve) => server.close(resolve));
});

const unary = (who: string) =>
  client.invoke(route, { who }).then(
    () => undefined,
    (e: unknown) => (e as { toJSON(): unknown }).toJSON(),
  );
const event = async (who: string) => {
  try {
    for await (const _ of client.stream(route, { who }));
  } catch (e) {
    return (e as { toJSON(): unknown }).toJSON();
  }
  return undefined;
};

describe('an error answer', () => {
  it('has the status line as its code when the body says otherwise (a proxy rewrote the status)', async () => {
    expect(await unary('rewritten')).toEqual({
      code: 502,
      reason: 'USER_NOT_FOUND',
      message: 'no user',
      metadata: { id: '7' },
    });
    expect(await unary('huge')).toMatchObject({ code: 409, reason: 'R' });
  });

  it('keeps only the fields of the types the error model has', async () => {
    expect(await unary('types')).toEqual({ code: 409, reason: '', message: '', metadata: { s: 'x' } });
    expect(await unary('listMetadata')).toEqual({ code: 400, reason: 'R', message: 'm', metadata: {} });
  });

  it("in an event stream, where there is no status, has the body's code when it is an HTTP error code, else 500", async () => {
    expect(await event('rewritten')).toMatchObject({ code: 404, reason: 'USER_NOT_FOUND', metadata: { id: '7' } });
    expect(await event('huge')).toMatchObject({ code: 500, reason: 'R' });
    expect(await event('types')).toEqual({ code: 409, reason: '', message: '', metadata: { s: 'x' } });
  });
});

describe('an error answer with no body', () => {
  it('has the status line as its message and no reason, unary or streamed', async () => {
    expect(await unary('empty')).toEqual({ code: 503, reason: '', message: '503 Service Unavailable', metadata: {} });
    expect(await event('empty')).toEqual({ code: 503, reason: '', message: '503 Service Unavailable', metadata: {} });
    expect(await unary('blank')).toEqual({ code: 502, reason: '', message: '502 Bad Gateway', metadata: {} });
    expect(await unary('unnamed')).toEqual({ code: 599, reason: '', message: 'HTTP status 599', metadata: {} });
  });

  it('but with a body that is not the error JSON, has that body as its message', async () => {
    expect(await unary('plain')).toEqual({ code: 503, reason: '', message: 'upstream connect error', metadata: {} });
  });
});

describe('a stream answered with something other than an event stream', () => {
  it('fails 500 CODEC naming what came, instead of ending as an empty stream', async () => {
    expect(await event('notAStream')).toMatchObject({
      code: 500,
      reason: 'CODEC',
      message: 'response from /t.S/Who is not an event stream (content-type application/json)',
    });
  });
});
