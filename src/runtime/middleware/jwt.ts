// Bearer-token authentication with JSON Web Tokens (RFC 7519), as Kratos's auth/jwt
// middleware does it. jwtServer checks the `authorization: Bearer <token>` of every call
// (an HTTP header or gRPC metadata) and hands the token's claims to the handler
// (`jwtClaims(ctx)`); a call without a valid token is refused with 401 UNAUTHORIZED
// (gRPC UNAUTHENTICATED) before it runs. jwtClient signs a token for every outgoing call.
// node:crypto signs and verifies: HS* (HMAC), RS* and PS* (RSA), ES* (ECDSA) and
// EdDSA (Ed25519). A server accepts only the algorithms it is given (HS256 unless told
// otherwise), so a token cannot pick another one for the server's key, and never "none".
import crypto, { type KeyObject } from 'node:crypto';
import { ErrUnauthorized } from '../errors/catalogue.js';
import type { Context, Middleware } from '../transport/context.js';

export type JwtAlgorithm =
  | 'HS256'
  | 'HS384'
  | 'HS512'
  | 'RS256'
  | 'RS384'
  | 'RS512'
  | 'PS256'
  | 'PS384'
  | 'PS512'
  | 'ES256'
  | 'ES384'
  | 'ES512'
  | 'EdDSA';

/** A token's header, as the key function sees it (to pick a key by `kid`). */
export interface JwtHeader {
  alg: string;
  kid?: string;
  typ?: string;
  [key: string]: unknown;
}

export type JwtClaims = Record<string, unknown>;

/**
 * An HMAC secret (a string's UTF-8 bytes, or bytes), a KeyObject, or a PEM text (for
 * RS*, PS*, ES* and EdDSA). A server needs the public key (a private one also serves).
 */
export type JwtKey = string | Buffer | KeyObject;

export interface JwtServerOptions {
  /**
   * The key tokens are checked with, or a function of the token's header (key rotation
   * by `kid`) that returns undefined or throws when it has none: the token is refused.
   */
  key: JwtKey | ((header: JwtHeader) => JwtKey | undefined | Promise<JwtKey | undefined>);
  /** Algorithms accepted; default `['HS256']`. */
  algorithms?: JwtAlgorithm[] | undefined;
  /** When set, the token's `iss` must be this. */
  issuer?: string | undefined;
  /** When set, the token's `aud` must be (or hold) this. */
  audience?: string | undefined;
  /** Seconds of clock difference allowed on `exp` and `nbf`; default 0. */
  leewaySeconds?: number | undefined;
}

export interface JwtClientOptions {
  /** The signing key: an HMAC secret, or the private key for RS*, PS*, ES* and EdDSA. */
  key: JwtKey;
  /** Default `HS256`. */
  algorithm?: JwtAlgorithm | undefined;
  /** The claims of every token, or a function giving them per call. */
  claims: JwtClaims | ((ctx: Context) => JwtClaims);
  /** When set, each token gets `iat` and an `exp` this many seconds later, unless its claims have one. */
  expiresInSeconds?: number | undefined;
  /** `kid` in the token's header, so the server can pick the key. */
  keyId?: string | undefined;
}

/** The key of a call's verified claims in `ctx.values`. */
const CLAIMS = Symbol.for('tsk.jwt.claims');

/** The claims of the call's token, once jwtServer has verified it; undefined otherwise. */
export function jwtClaims(ctx: Context): JwtClaims | undefined {
  return ctx.values.get(CLAIMS) as JwtClaims | undefined;
}

/**
 * Why a key such as `process.env['JWT_SECRET']!` cannot be used with these algorithms: the
 * variable unset, set to nothing, or an HMAC secret shorter than RFC 7518 §3.2 requires (as
 * long as the hash: a short one can be guessed offline from any token it signed).
 */
function keyProblem(key: unknown, algorithms: Iterable<string>): string | undefined {
  if (key === undefined || key === null) return 'no key given (options.key is undefined)';
  if (typeof key !== 'string' && !(key instanceof Uint8Array)) return undefined;
  if (key.length === 0) return 'the key is empty (options.key has length 0)';
  const bytes = typeof key === 'string' ? Buffer.byteLength(key) : key.length;
  for (const alg of algorithms) {
    const needed = HMAC_KEY_BYTES[alg];
    if (needed !== undefined && bytes < needed)
      return `an ${alg} secret must be at least ${needed} bytes (RFC 7518 section 3.2); this one has ${bytes}: use a random one, such as \`openssl rand -base64 ${needed}\` prints`;
  }
  return undefined;
}

const HMAC_KEY_BYTES: Record<string, number> = { HS256: 32, HS384: 48, HS512: 64 };

/** Refuses calls without a valid `authorization: Bearer <token>`; the handler finds the claims with jwtClaims(ctx). */
export function jwtServer(options: JwtServerOptions): Middleware {
  const accepted = new Set<string>(options.algorithms ?? ['HS256']);
  const leeway = options.leewaySeconds ?? 0;
  const given = options.key;
  const problem = keyProblem(given, accepted);
  if (problem) throw new Error(`jwtServer: ${problem}`);
  // A fixed key is converted once per algorithm, here, so a key that cannot work stops
  // the start rather than every call; a key function's answer is converted per call.
  const converted = new Map<string, KeyObject | undefined>();
  if (typeof given !== 'function') {
    for (const alg of accepted) converted.set(alg, toKey(given, alg as JwtAlgorithm, 'public'));
    if ([...converted.values()].every((k) => k === undefined))
      throw new Error(`jwtServer: the key verifies none of ${[...accepted].join(', ')}`);
  }
  const keyFor = async (header: JwtHeader): Promise<KeyObject | undefined> => {
    const alg = header.alg as JwtAlgorithm;
    if (typeof given === 'function') {
      // A key function that finds no key (an unknown kid) refuses the token, as Kratos's keyFunc error does.
      let found: JwtKey | undefined;
      try {
        found = await given(header);
      } catch {
        return undefined;
      }
      return found === undefined || found === null ? undefined : toKey(found, alg, 'public');
    }
    return converted.get(alg);
  };
  const authenticate = async (token: string | undefined): Promise<JwtClaims> => {
    if (token === undefined) throw ErrUnauthorized('JWT token is missing');
    const { header, claims, signed, signature } = parse(token);
    if (!accepted.has(header.alg)) throw ErrUnauthorized(`JWT signing method ${header.alg} is not accepted`);
    const key = await keyFor(header);
    if (key === undefined || !verify(header.alg as JwtAlgorithm, key, signed, signature))
      throw ErrUnauthorized('JWT token is invalid');
    checkClaims(claims, options, leeway);
    return claims;
  };
  return (next) => async (ctx, req) => {
    const token = bearerToken(ctx.transport.requestHeader.get('authorization'));
    let claims: JwtClaims;
    try {
      claims = await authenticate(token);
    } catch (err) {
      // RFC 6750: an HTTP 401 names the scheme it wants, and says when the token given failed.
      if (ctx.transport.kind === 'http')
        ctx.transport.replyHeader.set(
          'www-authenticate',
          token === undefined ? 'Bearer' : 'Bearer error="invalid_token"',
        );
      throw err;
    }
    ctx.values.set(CLAIMS, claims);
    return next(ctx, req);
  };
}

/** Sends `authorization: Bearer <token>` with every call, the token signed with the options' key and claims. */
export function jwtClient(options: JwtClientOptions): Middleware {
  const alg = options.algorithm ?? 'HS256';
  const problem = keyProblem(options.key, [alg]);
  if (problem) throw new Error(`jwtClient: ${problem}`);
  const key = toKey(options.key, alg, 'private');
  if (key === undefined) throw new Error(`jwtClient: the key is not one ${alg} signs with`);
  const header = base64url(JSON.stringify({ alg, typ: 'JWT', ...(options.keyId ? { kid: options.keyId } : {}) }));
  return (next) => (ctx, req) => {
    const claims = { ...(typeof options.claims === 'function' ? options.claims(ctx) : options.claims) };
    if (options.expiresInSeconds !== undefined && claims['exp'] === undefined) {
      const now = Math.floor(Date.now() / 1000);
      claims['iat'] ??= now;
      claims['exp'] = now + options.expiresInSeconds;
    }
    const signed = `${header}.${base64url(JSON.stringify(claims))}`;
    ctx.transport.requestHeader.set(
      'authorization',
      `Bearer ${signed}.${sign(alg, key, signed).toString('base64url')}`,
    );
    return next(ctx, req);
  };
}

function bearerToken(value: string | undefined): string | undefined {
  const match = value === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(value);
  return match?.[1];
}

function parse(token: string): { header: JwtHeader; claims: JwtClaims; signed: string; signature: Buffer } {
  const parts = token.split('.');
  if (parts.length !== 3) throw ErrUnauthorized('JWT token is malformed');
  const header = decodeJson(parts[0]!);
  const claims = decodeJson(parts[1]!);
  if (typeof header['alg'] !== 'string') throw ErrUnauthorized('JWT token is malformed');
  // Extensions the token says must be understood (RFC 7515 "crit"): tsk understands none.
  if (header['crit'] !== undefined) throw ErrUnauthorized('JWT token is invalid');
  return {
    header: header as JwtHeader,
    claims,
    signed: `${parts[0]}.${parts[1]}`,
    signature: decodePart(parts[2]!),
  };
}

/**
 * A token part's bytes. Node's decoder skips what is not base64url, so one token would have
 * endless spellings (a revocation list keyed on the token misses them): a part is taken only
 * in the one spelling JWS allows, unpadded base64url that encodes its bytes back to itself.
 */
function decodePart(part: string): Buffer {
  const bytes = Buffer.from(part, 'base64url');
  if (bytes.toString('base64url') !== part) throw ErrUnauthorized('JWT token is malformed');
  return bytes;
}

function decodeJson(part: string): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(decodePart(part).toString('utf8'));
  } catch {
    throw ErrUnauthorized('JWT token is malformed');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw ErrUnauthorized('JWT token is malformed');
  return value as Record<string, unknown>;
}

function checkClaims(claims: JwtClaims, options: JwtServerOptions, leeway: number): void {
  const now = Date.now() / 1000;
  const exp = claims['exp'];
  if (exp !== undefined && (typeof exp !== 'number' || now >= exp + leeway))
    throw ErrUnauthorized('JWT token has expired');
  const nbf = claims['nbf'];
  if (nbf !== undefined && (typeof nbf !== 'number' || now < nbf - leeway))
    throw ErrUnauthorized('JWT token is not valid yet');
  if (options.issuer !== undefined && claims['iss'] !== options.issuer)
    throw ErrUnauthorized('JWT token has the wrong issuer');
  if (options.audience !== undefined) {
    const aud = claims['aud'];
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(options.audience)) throw ErrUnauthorized('JWT token is not for this audience');
  }
}

const HASHES: Record<string, string> = { '256': 'sha256', '384': 'sha384', '512': 'sha512' };

function hashOf(alg: JwtAlgorithm): string | null {
  return alg === 'EdDSA' ? null : HASHES[alg.slice(2)]!;
}

/**
 * The KeyObject an algorithm signs or verifies with, or undefined when the key is not
 * of its kind. Strings and bytes are HMAC secrets, unless they are PEM texts: a public
 * key's PEM is never taken as an HMAC secret, which would let anyone who has the
 * public key sign HS256 tokens the server accepts.
 */
function toKey(key: JwtKey, alg: JwtAlgorithm, use: 'public' | 'private'): KeyObject | undefined {
  const hmac = alg.startsWith('HS');
  if (typeof key === 'string' || Buffer.isBuffer(key)) {
    const pem = (typeof key === 'string' ? key : key.toString('latin1')).includes('-----BEGIN ');
    // An empty secret would let anyone sign.
    if (hmac) return pem || key.length === 0 ? undefined : crypto.createSecretKey(Buffer.from(key));
    if (!pem) return undefined;
    return use === 'public' ? crypto.createPublicKey(key) : crypto.createPrivateKey(key);
  }
  if (hmac !== (key.type === 'secret')) return undefined;
  // A private key also verifies: its public half does.
  return use === 'public' && key.type === 'private' ? crypto.createPublicKey(key) : key;
}

function signOptions(alg: JwtAlgorithm, key: KeyObject): crypto.SignKeyObjectInput & crypto.VerifyKeyObjectInput {
  if (alg.startsWith('PS'))
    return {
      key,
      padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
      saltLength: crypto.constants.RSA_PSS_SALTLEN_DIGEST,
    };
  if (alg.startsWith('ES')) return { key, dsaEncoding: 'ieee-p1363' };
  return { key };
}

function sign(alg: JwtAlgorithm, key: KeyObject, signed: string): Buffer {
  if (alg.startsWith('HS')) return crypto.createHmac(hashOf(alg)!, key).update(signed).digest();
  return crypto.sign(hashOf(alg), Buffer.from(signed), signOptions(alg, key));
}

function verify(alg: JwtAlgorithm, key: KeyObject, signed: string, signature: Buffer): boolean {
  try {
    if (alg.startsWith('HS')) {
      const expected = crypto.createHmac(hashOf(alg)!, key).update(signed).digest();
      return expected.length === signature.length && crypto.timingSafeEqual(expected, signature);
    }
    return crypto.verify(hashOf(alg), Buffer.from(signed), signOptions(alg, key), signature);
  } catch {
    return false; // a key of the wrong kind for the algorithm
  }
}

function base64url(text: string): string {
  return Buffer.from(text, 'utf8').toString('base64url');
}
