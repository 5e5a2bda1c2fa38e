// protovalidate rules from a proto (fixtures/rules), enforced by the validate middleware
// before the handler: over HTTP (plain fetch) and over gRPC (a proto-loader client that
// does not share tsk's generated code), every violation reported with its field path.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { BinaryReader } from '@bufbuild/protobuf/wire';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RequestRules, validate, violationError } from '../../../src/runtime/middleware/validate.js';
import { HttpServer } from '../../../src/runtime/transport/http/index.js';
import { GrpcServer } from '../../../src/runtime/transport/grpc/index.js';
import { decodeStatus, STATUS_DETAILS_KEY } from '../../../src/runtime/errors/status.js';
import { repoRoot } from '../../helpers/cli.js';
import { generateFixture } from '../../helpers/generated.js';
import { nodeBinaryFor } from '../../helpers/image-node.js';

let dir: string;
let http: HttpServer;
let rpc: GrpcServer;
let base: string;
let client: any;
let rules: RequestRules;
const handled: string[] = [];

const GOOD = { customer: 'ada', email: 'ada@example.com', items: [{ sku: 'ABC-1', quantity: 2 }] };
const BAD = { customer: '', email: 'not-an-email', items: [{ sku: 'abc', quantity: 0 }] };
const EXPECTED = [
  { field: 'customer', rule: 'string.min_len' },
  { field: 'email', rule: 'string.email' },
  { field: 'items[0].sku', rule: 'string.pattern' },
  { field: 'items[0].quantity', rule: 'int32.gt' },
];

beforeAll(async () => {
  dir = generateFixture('validate-rules', 'rules');
  const { ShopRules } = await import(path.join(dir, 'shop/v1/shop_rules.ts'));
  rules = ShopRules;
  const httpGen = await import(path.join(dir, 'shop/v1/shop_http.ts'));
  const grpcGen = await import(path.join(dir, 'shop/v1/shop_grpc.ts'));
  const impl = {
    createOrder: async (_ctx: unknown, req: any) => {
      handled.push(`create ${req.customer}`);
      return { id: '1', customer: req.customer };
    },
    updateItem: async (_ctx: unknown, req: any) => {
      handled.push(`update ${req.orderId}`);
      return { id: req.orderId, customer: '' };
    },
    getOrder: async (_ctx: unknown, req: any) => {
      handled.push(`get ${req.id}`);
      return { id: req.id, customer: '' };
    },
    importItems: async (_ctx: unknown, items: AsyncIterable<any>) => {
      let count = 0;
      for await (const item of items) {
        handled.push(`import ${item.sku}`);
        count++;
      }
      return { count };
    },
    syncOrders: async (_ctx: unknown, orders: AsyncIterable<any>, send: (o: unknown) => Promise<void>) => {
      for await (const order of orders) {
        handled.push(`sync ${order.customer}`);
        await send({ id: String(handled.length), customer: order.customer });
      }
    },
  };
  // No rules given: registering the service through its generated functions hands them over.
  const middleware = [validate()];
  http = new HttpServer({ address: '127.0.0.1:0', middleware });
  httpGen.registerShopHTTPServer(http, impl);
  rpc = new GrpcServer({ address: '127.0.0.1:0', middleware });
  grpcGen.registerShopGRPCServer(rpc, impl);
  await Promise.all([http.start(), rpc.start()]);
  base = `http://127.0.0.1:${http.listenPort}`;
  const definition = protoLoader.loadSync('shop/v1/shop.proto', {
    includeDirs: [path.join(repoRoot, 'fixtures', 'rules'), path.join(repoRoot, 'proto')],
  });
  const Shop = (grpc.loadPackageDefinition(definition) as any).shop.v1.Shop;
  client = new Shop(`127.0.0.1:${rpc.listenPort}`, grpc.credentials.createInsecure());
}, 60_000);

afterAll(async () => {
  client?.close();
  await Promise.all([http?.stop({ timeoutMs: 1000 }), rpc?.stop({ timeoutMs: 1000 })]);
});

describe('protovalidate rules over HTTP', () => {
  it('answers 400 VALIDATOR with every violation, and never runs the handler', async () => {
    handled.length = 0;
    const res = await fetch(`${base}/v1/orders`, {
      method: 'POST',
      body: JSON.stringify(BAD),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    expect(body).toMatchObject({ code: 400, reason: 'VALIDATOR', metadata: { field: 'customer' } });
    const violations = JSON.parse(body.metadata.violations);
    expect(violations.map((v: any) => ({ field: v.field, rule: v.rule }))).toEqual(EXPECTED);
    for (const v of violations) expect(v.message).toBeTruthy();
    expect(body.message).toContain('items[0].sku');
    expect(handled).toEqual([]);
  });

  it('lets a valid request through, and a request without rules', async () => {
    handled.length = 0;
    const ok = await fetch(`${base}/v1/orders`, {
      method: 'POST',
      body: JSON.stringify(GOOD),
      headers: { 'content-type': 'application/json' },
    });
    expect(ok.status).toBe(200);
    expect((await fetch(`${base}/v1/orders/7`)).status).toBe(200);
    expect(handled).toEqual(['create ada', 'get 7']);
  });
});

// UpdateItem's rules all have generated plain checks: the same errors, without protovalidate.
const BAD_UPDATE = { item: { sku: 'abc', quantity: 0 }, tags: ['ok', 'Bad', 'x', 'y'], discount: 1, priority: 7 };
const EXPECTED_UPDATE = [
  { field: 'item.sku', rule: 'string.pattern', message: 'does not match regex pattern `^[A-Z]{3}-[0-9]+$`' },
  { field: 'item.quantity', rule: 'int32.gt', message: 'must be greater than 0' },
  { field: 'tags', rule: 'repeated.max_items', message: 'must contain no more than 3 item(s)' },
  { field: 'tags[1]', rule: 'repeated.items.string.pattern', message: 'does not match regex pattern `^[a-z]+$`' },
  { field: 'discount', rule: 'double.gte', message: 'must be greater than or equal to 0 and less than 1' },
  { field: 'priority', rule: 'enum.defined_only', message: 'value must be one of the defined enum values' },
];

describe('generated plain checks over HTTP', () => {
  it('answers 400 VALIDATOR with the violations protovalidate would report', async () => {
    handled.length = 0;
    const res = await fetch(`${base}/v1/orders/${'x'.repeat(65)}/items`, {
      method: 'PATCH',
      body: JSON.stringify(BAD_UPDATE),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(400);
    const body = await res.json();
    const expected = [
      { field: 'order_id', rule: 'string.max_len', message: 'must be at most 64 characters' },
      ...EXPECTED_UPDATE,
    ];
    expect(body).toMatchObject({ code: 400, reason: 'VALIDATOR', metadata: { field: 'order_id' } });
    expect(JSON.parse(body.metadata.violations)).toEqual(expected);
    expect(body.message).toBe(`invalid request: ${expected.map((v) => `${v.field}: ${v.message}`).join('; ')}`);
    expect(handled).toEqual([]);
  });

  it('lets a valid request through', async () => {
    handled.length = 0;
    const res = await fetch(`${base}/v1/orders/o1/items`, {
      method: 'PATCH',
      body: JSON.stringify({
        item: { sku: 'ABC-1', quantity: 1 },
        tags: ['a'],
        discount: 0,
        priority: 'PRIORITY_HIGH',
      }),
      headers: { 'content-type': 'application/json' },
    });
    expect(res.status).toBe(200);
    expect(handled).toEqual(['update o1']);
  });
});

// module.registerHooks, which the check below records loads with: Node 22.15 and later.
const node24 = nodeBinaryFor('24');

// Outside CI a missing Node 24 skips it, as with any other missing tool; in CI it fails.
describe.skipIf(!node24 && !process.env['CI'])('loading protovalidate', () => {
  it('happens for the first request that needs it, never for requests with plain checks', () => {
    // A fresh Node process on the generated file, recording every module it resolves.
    const hook = path.join(dir, 'record-modules.mjs');
    fs.writeFileSync(
      hook,
      `import { registerHooks } from 'node:module';
globalThis.resolved = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); globalThis.resolved.push(r.url); return r; } });
`,
    );
    const script = path.join(dir, 'load-order.ts');
    fs.writeFileSync(
      script,
      `import { ShopRules } from './shop/v1/shop_rules.ts';
const loaded = () => (globalThis as any).resolved.some((u: string) => u.includes('protovalidate'));
const plain = await ShopRules.violations('/shop.v1.Shop/UpdateItem', ${JSON.stringify(BAD_UPDATE)});
const before = loaded();
const viaProtovalidate = await ShopRules.violations('/shop.v1.Shop/CreateOrder', ${JSON.stringify(BAD)});
console.log(JSON.stringify({ plain: plain?.length, before, viaProtovalidate: viaProtovalidate?.length, after: loaded() }));
`,
    );
    if (!node24) throw new Error('needs Node 24: set TSK_IMAGE_NODE');
    const r = spawnSync(node24, ['--import', hook, '--import', 'tsx', script], { cwd: repoRoot, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual({ plain: 7, before: false, viaProtovalidate: 4, after: true });
  }, 60_000);
});

describe('RequestRules.prepare (run after the start)', () => {
  it('builds the checks ahead, and the same violations come back after it', async () => {
    await rules.prepare();
    const operation = Object.keys(rules.methods).find((o) => o.endsWith('/CreateOrder'))!;
    const violations = await rules.violations(operation, BAD);
    expect(violations?.map(({ field, rule }) => ({ field, rule }))).toEqual(EXPECTED);
    expect(await rules.violations(operation, GOOD)).toBeUndefined();
  });

  it('settles without throwing when the descriptors cannot be read; the first call reports it', async () => {
    const broken = new RequestRules(
      { '/x.v1.X/Y': { message: 'x.v1.Y', type: { encode: () => ({ finish: () => new Uint8Array() }) } } },
      'bm90IGEgZGVzY3JpcHRvciBzZXQ=',
    );
    await expect(broken.prepare()).resolves.toBeUndefined();
    await expect(broken.violations('/x.v1.X/Y', {})).rejects.toThrow();
  });
});

describe('protovalidate rules over gRPC', () => {
  const call = (req: unknown) =>
    new Promise<{ err?: grpc.ServiceError | undefined; res?: any }>((resolve) =>
      client.CreateOrder(req, (err: grpc.ServiceError | null, res: any) => resolve({ err: err ?? undefined, res })),
    );

  it('answers INVALID_ARGUMENT with ErrorInfo VALIDATOR and a google.rpc.BadRequest listing every violation', async () => {
    handled.length = 0;
    const { err } = await call(BAD);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const details = err!.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer;
    const status = decodeStatus(details);
    expect(status.errorInfo).toMatchObject({ reason: 'VALIDATOR', metadata: { field: 'customer' } });
    // The BadRequest detail, read with the wire reader rather than tsk's decoder.
    const anys = readDetails(details);
    const badRequest = anys.find((a) => a.typeUrl === 'type.googleapis.com/google.rpc.BadRequest');
    expect(badRequest).toBeDefined();
    expect(readFieldViolations(badRequest!.value).map((v) => ({ field: v.field, rule: v.reason }))).toEqual(EXPECTED);
    expect(handled).toEqual([]);
  });

  it('answers INVALID_ARGUMENT for a request with plain checks, missing a required field', async () => {
    handled.length = 0;
    const { err } = await new Promise<{ err?: grpc.ServiceError | undefined }>((resolve) =>
      client.UpdateItem(
        { orderId: 'o1', tags: ['ok', 'Bad', 'x', 'y'], discount: 1, priority: 7 },
        (e: grpc.ServiceError | null) => resolve({ err: e ?? undefined }),
      ),
    );
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const details = err!.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer;
    const badRequest = readDetails(details).find((a) => a.typeUrl === 'type.googleapis.com/google.rpc.BadRequest');
    expect(readFieldViolations(badRequest!.value)).toEqual([
      { field: 'item', reason: 'required', description: 'value is required' },
      ...EXPECTED_UPDATE.slice(2).map((v) => ({ field: v.field, reason: v.rule, description: v.message })),
    ]);
    expect(handled).toEqual([]);
  });

  it('lets a valid request through', async () => {
    const { err, res } = await call(GOOD);
    expect(err).toBeUndefined();
    expect(res).toMatchObject({ id: '1', customer: 'ada' });
  });
});

describe('rules on a stream of requests over gRPC', () => {
  /** Streams `items` to ImportItems: the reply, or the error the call ended with. */
  const importItems = (items: unknown[]) =>
    new Promise<{ err?: grpc.ServiceError | undefined; res?: any }>((resolve) => {
      const call = client.ImportItems((err: grpc.ServiceError | null, res: any) =>
        resolve({ err: err ?? undefined, res }),
      );
      for (const item of items) call.write(item);
      call.end();
    });

  it('checks each message as the handler reads it: the first broken one ends the call INVALID_ARGUMENT', async () => {
    handled.length = 0;
    const { err } = await importItems([
      { sku: 'ABC-1', quantity: 1 },
      { sku: 'ABC-2', quantity: 2 },
      { sku: 'abc', quantity: 0 },
      { sku: 'ABC-4', quantity: 4 },
    ]);
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const details = err!.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer;
    expect(decodeStatus(details).errorInfo).toMatchObject({ reason: 'VALIDATOR', metadata: { field: 'sku' } });
    const badRequest = readDetails(details).find((a) => a.typeUrl === 'type.googleapis.com/google.rpc.BadRequest');
    expect(readFieldViolations(badRequest!.value).map((v) => `${v.field} ${v.reason}`)).toEqual([
      'sku string.pattern',
      'quantity int32.gt',
    ]);
    // The messages before it reached the handler; none after it did.
    expect(handled).toEqual(['import ABC-1', 'import ABC-2']);
  });

  it('lets a stream of valid messages through', async () => {
    handled.length = 0;
    const { err, res } = await importItems([
      { sku: 'ABC-1', quantity: 1 },
      { sku: 'XYZ-9', quantity: 3 },
    ]);
    expect(err).toBeUndefined();
    expect(res).toEqual({ count: 2 });
    expect(handled).toEqual(['import ABC-1', 'import XYZ-9']);
  });

  it('checks a bidi stream with protovalidate: answers to the valid messages, then INVALID_ARGUMENT', async () => {
    handled.length = 0;
    const call = client.SyncOrders();
    const got: any[] = [];
    const ended = new Promise<grpc.ServiceError | undefined>((resolve) => {
      call.on('data', (order: any) => got.push(order));
      call.on('error', (err: grpc.ServiceError) => resolve(err));
      call.on('end', () => resolve(undefined));
    });
    call.write(GOOD);
    call.write(BAD);
    call.end();
    const err = await ended;
    expect(err?.code).toBe(grpc.status.INVALID_ARGUMENT);
    const details = err!.metadata.get(STATUS_DETAILS_KEY)[0] as Buffer;
    const badRequest = readDetails(details).find((a) => a.typeUrl === 'type.googleapis.com/google.rpc.BadRequest');
    expect(readFieldViolations(badRequest!.value).map((v) => ({ field: v.field, rule: v.reason }))).toEqual(EXPECTED);
    expect(got.map((o) => o.customer)).toEqual(['ada']);
    expect(handled).toEqual(['sync ada']);
  });
});

function readDetails(bytes: Uint8Array): { typeUrl: string; value: Uint8Array }[] {
  const r = new BinaryReader(bytes);
  const out: { typeUrl: string; value: Uint8Array }[] = [];
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field !== 3) {
      r.skip(wire);
      continue;
    }
    const any = new BinaryReader(r.bytes());
    const item: { typeUrl: string; value: Uint8Array } = { typeUrl: '', value: new Uint8Array() };
    while (any.pos < any.len) {
      const [f, w] = any.tag();
      if (f === 1) item.typeUrl = any.string();
      else if (f === 2) item.value = any.bytes();
      else any.skip(w);
    }
    out.push(item);
  }
  return out;
}

function readFieldViolations(bytes: Uint8Array): { field: string; description: string; reason: string }[] {
  const r = new BinaryReader(bytes);
  const out: { field: string; description: string; reason: string }[] = [];
  while (r.pos < r.len) {
    const [field, wire] = r.tag();
    if (field !== 1) {
      r.skip(wire);
      continue;
    }
    const v = new BinaryReader(r.bytes());
    const item = { field: '', description: '', reason: '' };
    while (v.pos < v.len) {
      const [f, w] = v.tag();
      if (f === 1) item.field = v.string();
      else if (f === 2) item.description = v.string();
      else if (f === 3) item.reason = v.string();
      else v.skip(w);
    }
    out.push(item);
  }
  return out;
}

describe('the violations error', () => {
  it('names the field of each violation, and states a rule on the whole message (CEL) on its own', () => {
    const err = violationError([
      { field: '', rule: 'cel', message: 'end must be after start' },
      { field: 'name', rule: 'string.min_len', message: 'value length must be at least 1 characters' },
    ]);
    expect(err.message).toBe(
      'invalid request: end must be after start; name: value length must be at least 1 characters',
    );
  });
});
