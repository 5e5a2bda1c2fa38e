// JWT bearer authentication over the network. Tokens are made and checked by jose, an
// implementation that shares nothing with tsk's: servers with jwtServer are called with
// plain fetch and a plain grpc-js client carrying jose's tokens, and the tokens tsk's
// jwtClient sends are verified by jose where a plain HTTP server received them.
import crypto from 'node:crypto';
import http from 'node:http';
import * as grpc from '@grpc/grpc-js';
import * as jose from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  jwtClaims,
  jwtClient,
  jwtServer,
  type JwtAlgorithm,
  type JwtServerOptions,
} from '../../../src/runtime/middleware/index.js';
import type { Context } from '../../../src/runtime/transport/context.js';
import { GrpcClientConn, GrpcServer } from '../../../src/runtime/transport/grpc/index.js';
import { HttpClient, HttpServer } from '../../../src/runtime/transport/http/index.js';
import { whoMethod, whoRoute, whoService } from '../../helpers/who-service.js';

const SECRET = 'a secret of at least thirty-two bytes!';
const secretKey = new TextEncoder().encode(SECRET);
const servers: { stop(o: { timeoutMs: number }): Promise<void> }[] = [];

/** The handler answers with the subject of the verified token. */
const whoAmI = async (ctx: unknown) => ({ who: String(jwtClaims(ctx as Context)?.['sub'] ?? 'nobody') });

async function httpServerWith(options: JwtServerOptions): Promise<string> {
  const server = new HttpServer({ address: '127.0.0.1:0', middleware: [jwtServer(options)] });
  server.route(whoRoute, whoAmI);
  await server.start();
  servers.push(server);
  return `http://127.0.0.1:${server.listenPort}`;
}

async function call(base: string, authorization?: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${base}/t.S/Who`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
    body: '{"who":""}',
  });
  return { status: res.status, body: await res.json() };
}

const hs256 = (claims: jose.JWTPayload = { sub: 'ada' }, alg = 'HS256') =>
  new jose.SignJWT(claims).setProtectedHeader({ alg }).sign(secretKey);

let base: string;

beforeAll(async () => {
  base = await httpServerWith({ key: SECRET });
});

afterAll(async () => {
  for (const s of servers) await s.stop({ timeoutMs: 0 });
});

describe('jwtServer over HTTP', () => {
  it('lets a valid token through and hands its claims to the handler', async () => {
    const token = await new jose.SignJWT({ sub: 'ada' })
      .setProtectedHeader({ alg: 'HS256' })
      .setExpirationTime('1m')
      .sign(secretKey);
    expect(await call(base, `Bearer ${token}`)).toEqual({ status: 200, body: { who: 'ada' } });
    expect((await call(base, `bearer ${token}`)).status).toBe(200);
  });

  it.each([
    ['no header', undefined, 'JWT token is missing'],
    ['another scheme', 'Basic YWRhOnB3', 'JWT token is missing'],
    ['not a token', 'Bearer abc', 'JWT token is malformed'],
  ])('refuses %s with 401 UNAUTHORIZED', async (_label, authorization, message) => {
    expect(await call(base, authorization)).toEqual({
      status: 401,
      body: { code: 401, reason: 'UNAUTHORIZED', message, metadata: {} },
    });
  });

  it('refuses a forged, expired, early, unsigned or differently signed token', async () => {
    const forged = await new jose.SignJWT({ sub: 'ada' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode('another secret of thirty-two bytes!!'));
    const expired = await hs256({ sub: 'ada', exp: Math.floor(Date.now() / 1000) - 10 });
    const early = await hs256({ sub: 'ada', nbf: Math.floor(Date.now() / 1000) + 60 });
    const unsigned = new jose.UnsecuredJWT({ sub: 'ada' }).encode();
    const hs512 = await hs256({ sub: 'ada' }, 'HS512');
    const messages = [];
    for (const token of [forged, expired, early, unsigned, hs512]) {
      const r = await call(base, `Bearer ${token}`);
      expect(r.status).toBe(401);
      messages.push(r.body.message);
    }
    expect(messages).toEqual([
      'JWT token is invalid',
      'JWT token has expired',
      'JWT token is not valid yet',
      'JWT signing method none is not accepted',
      'JWT signing method HS512 is not accepted',
    ]);
  });

  it('names the Bearer scheme on a 401 (RFC 6750), and invalid_token when a token was given', async () => {
    const authenticate = async (authorization?: string) =>
      (
        await fetch(`${base}/t.S/Who`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}) },
          body: '{"who":""}',
        })
      ).headers.get('www-authenticate');
    expect(await authenticate()).toBe('Bearer');
    expect(await authenticate('Bearer not.a.token')).toBe('Bearer error="invalid_token"');
    expect(await authenticate(`Bearer ${await hs256()}`)).toBeNull();
  });

  it('takes each part of a token in its one base64url spelling only', async () => {
    const token = await hs256({ sub: 'ada' });
    expect((await call(base, `Bearer ${token}`)).status).toBe(200);
    const [header, claims, signature] = token.split('.') as [string, string, string];
    const standard = Buffer.from(signature, 'base64url').toString('base64');
    const respelled = [
      `${header}.${claims}.${signature}!!!`,
      `${header}.${claims}.${signature.slice(0, 10)}!${signature.slice(10)}`,
      `${header}.${claims}.${signature}=`,
      `${header}.${claims}.${standard}`,
      `${header}.${claims}$.${signature}`,
    ];
    for (const spelling of respelled) {
      const r = await call(base, `Bearer ${spelling}`);
      expect(r, spelling).toEqual({
        status: 401,
        body: expect.objectContaining({ message: 'JWT token is malformed' }),
      });
    }
  });

  it.each<[JwtAlgorithm, string, Record<string, unknown>]>([
    ['RS256', 'rsa', { modulusLength: 2048 }],
    ['PS384', 'rsa', { modulusLength: 2048 }],
    ['ES256', 'ec', { namedCurve: 'P-256' }],
    ['ES512', 'ec', { namedCurve: 'P-521' }],
    ['EdDSA', 'ed25519', {}],
  ])('verifies %s with a public key given as PEM', async (alg, type, params) => {
    const pair = () =>
      (crypto.generateKeyPairSync as (t: string, p: object) => crypto.KeyPairKeyObjectResult)(type, params);
    const { publicKey, privateKey } = pair();
    const server = await httpServerWith({
      key: publicKey.export({ type: 'spki', format: 'pem' }) as string,
      algorithms: [alg],
    });
    const token = await new jose.SignJWT({ sub: `by-${alg}` }).setProtectedHeader({ alg }).sign(privateKey);
    expect(await call(server, `Bearer ${token}`)).toEqual({ status: 200, body: { who: `by-${alg}` } });
    const other = pair().privateKey;
    const wrong = await new jose.SignJWT({ sub: 'x' }).setProtectedHeader({ alg }).sign(other);
    expect((await call(server, `Bearer ${wrong}`)).status).toBe(401);
  });

  it('never takes a public key for an HMAC secret (algorithm confusion)', async () => {
    const { publicKey } = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string;
    const server = await httpServerWith({ key: pem, algorithms: ['RS256', 'HS256'] });
    const confused = await new jose.SignJWT({ sub: 'mallory' })
      .setProtectedHeader({ alg: 'HS256' })
      .sign(new TextEncoder().encode(pem));
    expect(await call(server, `Bearer ${confused}`)).toMatchObject({
      status: 401,
      body: { message: 'JWT token is invalid' },
    });
  });

  it('refuses at construction a key that verifies none of its algorithms (an empty secret, a public key for HS256)', () => {
    const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    // `key: process.env['JWT_SECRET']!` with the variable set to nothing, or unset.
    expect(() => jwtServer({ key: '' })).toThrow('jwtServer: the key is empty (options.key has length 0)');
    expect(() => jwtClient({ key: '', claims: {} })).toThrow('jwtClient: the key is empty');
    expect(() => jwtServer({ key: undefined as unknown as string })).toThrow(
      'jwtServer: no key given (options.key is undefined)',
    );
    expect(() => jwtServer({ key: publicKey, algorithms: ['HS256', 'HS512'] })).toThrow(/none of HS256, HS512/);
  });

  it('refuses an HMAC secret shorter than its hash, as RFC 7518 requires: one could guess it from any token', () => {
    expect(() => jwtServer({ key: 'x' })).toThrow(
      'jwtServer: an HS256 secret must be at least 32 bytes (RFC 7518 section 3.2); this one has 1: use a random one, such as `openssl rand -base64 32` prints',
    );
    expect(() => jwtClient({ key: Buffer.alloc(31, 1), claims: {} })).toThrow(/HS256 secret must be at least 32 bytes/);
    // Counted in bytes, as the HMAC takes it; each algorithm accepted needs its own length.
    expect(() => jwtServer({ key: 'é'.repeat(16) })).not.toThrow();
    expect(() => jwtServer({ key: SECRET, algorithms: ['HS256', 'HS512'] })).toThrow(
      /an HS512 secret must be at least 64 bytes/,
    );
    expect(() => jwtServer({ key: crypto.randomBytes(64), algorithms: ['HS512'] })).not.toThrow();
  });

  it('refuses a token with critical extensions it does not know (RFC 7515 crit)', async () => {
    const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
    const signed = `${part({ alg: 'HS256', crit: ['x-ext'], 'x-ext': 1 })}.${part({ sub: 'ada' })}`;
    const token = `${signed}.${crypto.createHmac('sha256', SECRET).update(signed).digest('base64url')}`;
    expect((await call(base, `Bearer ${token}`)).status).toBe(401);
  });

  it('picks the key by kid, and checks issuer and audience', async () => {
    const keys: Record<string, string> = {
      one: 'first secret, thirty-two bytes long',
      two: 'second secret, thirty-two bytes long',
    };
    const server = await httpServerWith({
      key: (header) => {
        if (header.kid === 'broken') throw new Error('the key store is down');
        return keys[String(header.kid)];
      },
      issuer: 'auth.example',
      audience: 'orders',
    });
    const token = (kid: string, claims: jose.JWTPayload) =>
      new jose.SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode(keys[kid]));
    const good = { sub: 'ada', iss: 'auth.example', aud: ['orders', 'users'] };
    expect((await call(server, `Bearer ${await token('two', good)}`)).body).toEqual({ who: 'ada' });
    expect((await call(server, `Bearer ${await token('one', { ...good, iss: 'elsewhere' })}`)).body.message).toBe(
      'JWT token has the wrong issuer',
    );
    expect((await call(server, `Bearer ${await token('one', { ...good, aud: 'users' })}`)).body.message).toBe(
      'JWT token is not for this audience',
    );
    // A kid with no key, or a key function that fails, refuses the token; an empty secret never signs.
    const unsignedKey = (kid: string) =>
      new jose.SignJWT(good).setProtectedHeader({ alg: 'HS256', kid }).sign(new TextEncoder().encode('x'));
    for (const kid of ['three', 'broken'])
      expect(await call(server, `Bearer ${await unsignedKey(kid)}`)).toMatchObject({
        status: 401,
        body: { message: 'JWT token is invalid' },
      });
  });
});

describe('jwtServer over gRPC', () => {
  it('refuses a call without a token as UNAUTHENTICATED, and serves one with it', async () => {
    const server = new GrpcServer({ address: '127.0.0.1:0', middleware: [jwtServer({ key: SECRET })] });
    server.register(whoService, { who: whoAmI });
    await server.start();
    servers.push(server);
    const Client = grpc.makeGenericClientConstructor(whoService as any, 'Who');
    const client: any = new Client(`127.0.0.1:${server.listenPort}`, grpc.credentials.createInsecure());
    const who = (metadata: grpc.Metadata) =>
      new Promise<{ err?: grpc.ServiceError; res?: { who: string } }>((resolve) =>
        client.who({ who: '' }, metadata, (err: grpc.ServiceError | null, res: { who: string }) =>
          resolve(err ? { err } : { res }),
        ),
      );
    const missing = await who(new grpc.Metadata());
    expect(missing.err?.code).toBe(grpc.status.UNAUTHENTICATED);
    const metadata = new grpc.Metadata();
    metadata.set('authorization', `Bearer ${await hs256({ sub: 'grace' })}`);
    expect((await who(metadata)).res).toEqual({ who: 'grace' });
    client.close();
  });
});

describe('jwtClient', () => {
  it('signs every call: jose verifies what a plain server received, and a jwtServer lets it through', async () => {
    const received: string[] = [];
    const plain = http.createServer((req, res) => {
      received.push(String(req.headers['authorization']));
      res.setHeader('content-type', 'application/json');
      res.end('{"who":"plain"}');
    });
    await new Promise<void>((resolve) => plain.listen(0, '127.0.0.1', resolve));
    const port = (plain.address() as { port: number }).port;
    const signing = jwtClient({ key: SECRET, claims: { sub: 'orders-service' }, expiresInSeconds: 60, keyId: 'k1' });
    const toPlain = new HttpClient({ target: `http://127.0.0.1:${port}`, middleware: [signing] });
    await toPlain.invoke(whoRoute, { who: 'x' });
    await toPlain.close();
    plain.close();
    const token = received[0]!.replace(/^Bearer /, '');
    const { payload, protectedHeader } = await jose.jwtVerify(token, secretKey, { algorithms: ['HS256'] });
    expect(protectedHeader).toEqual({ alg: 'HS256', typ: 'JWT', kid: 'k1' });
    expect(payload).toMatchObject({ sub: 'orders-service' });
    expect(payload.exp! - payload.iat!).toBe(60);

    const viaHttp = new HttpClient({ target: base, middleware: [signing] });
    expect(await viaHttp.invoke(whoRoute, { who: '' })).toEqual({ who: 'orders-service' });
    await viaHttp.close();
  });

  it('signs gRPC calls with an asymmetric key', async () => {
    const { publicKey, privateKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const server = new GrpcServer({
      address: '127.0.0.1:0',
      middleware: [jwtServer({ key: publicKey, algorithms: ['ES256'] })],
    });
    server.register(whoService, { who: whoAmI });
    await server.start();
    servers.push(server);
    const conn = new GrpcClientConn({
      target: `127.0.0.1:${server.listenPort}`,
      middleware: [
        jwtClient({ key: privateKey, algorithm: 'ES256', claims: (ctx) => ({ sub: ctx.transport.operation }) }),
      ],
    });
    expect(await conn.invoke(whoMethod, { who: '' })).toEqual({ who: '/t.S/Who' });
    await conn.close();
  });

  it('refuses at construction a key its algorithm cannot sign with', () => {
    expect(() => jwtClient({ key: SECRET, algorithm: 'RS256', claims: {} })).toThrow(/not one RS256 signs with/);
    expect(() => jwtClient({ key: Buffer.alloc(0), algorithm: 'RS256', claims: {} })).toThrow(/the key is empty/);
  });
});
