// 64-bit integers written as JSON numbers: proto3 JSON allows them, and protojson reads
// every digit, so a body with {"id": 9007199254740993} must not become ...992 on the way
// through JSON.parse. Sent as raw text with fetch to the kinds fixture's echo route.
// Reading a number's digits needs JSON.parse's source text (Node 21 and later; generated
// services run on Node 24), so that part runs the server in a Node 24 process.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpServer } from '../../../../src/runtime/transport/http/index.js';
import { repoRoot } from '../../../helpers/cli.js';
import { generateFixture } from '../../../helpers/generated.js';
import { nodeBinaryFor } from '../../../helpers/image-node.js';

const BIG = `{
  "int64Value": 9007199254740993,
  "uint64Value": 18446744073709551615,
  "sint64Value": -9223372036854775808,
  "int64List": [9007199254740993, 1],
  "uint64ToInt64": {"1": 9223372036854775807},
  "int64Wrapper": 9007199254740993,
  "any": {"@type": "type.googleapis.com/kinds.v1.AllKinds", "fixed64Value": 18446744073709551615}
}`;

let dir: string;
let server: HttpServer;
let base: string;

beforeAll(async () => {
  dir = generateFixture('exact-integers', 'json');
  const http = await import(path.join(dir, 'kinds/v1/kinds_http.ts'));
  server = new HttpServer({ address: '127.0.0.1:0' });
  const echo = async (_ctx: unknown, request: unknown) => request;
  http.registerKindsHTTPServer(server, { echo, put: echo, get: echo, note: echo });
  await server.start();
  base = `http://127.0.0.1:${server.listenPort}`;
}, 60_000);

afterAll(async () => {
  await server?.stop({ timeoutMs: 1000 });
});

async function echo(body: string): Promise<{ status: number; json: any }> {
  const res = await fetch(`${base}/v1/kinds`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: res.status, json: await res.json() };
}

const node24 = nodeBinaryFor('24');

describe('integers beyond 2^53 sent as JSON numbers', () => {
  // Outside CI a missing Node 24 skips it, as with any other missing tool; in CI it fails.
  it.skipIf(!node24 && !process.env['CI'])(
    'keep every digit in 64-bit fields: scalars, lists, map values, wrappers, inside an Any',
    () => {
      const script = path.join(dir, 'exact-integers.ts');
      fs.writeFileSync(
        script,
        `import { HttpServer } from ${JSON.stringify(path.join(repoRoot, 'src/runtime/transport/http/index.ts'))};
import { registerKindsHTTPServer } from './kinds/v1/kinds_http.ts';
const server = new HttpServer({ address: '127.0.0.1:0' });
const echo = async (_ctx: unknown, request: any) => request;
registerKindsHTTPServer(server, { echo, put: echo, get: echo, note: echo });
await server.start();
const res = await fetch(\`http://127.0.0.1:\${server.listenPort}/v1/kinds\`, {
  method: 'POST', headers: { 'content-type': 'application/json' }, body: ${JSON.stringify(BIG)},
});
console.log(JSON.stringify({ status: res.status, json: await res.json() }));
await server.stop({ timeoutMs: 1000 });
`,
      );
      if (!node24) throw new Error('needs Node 24: set TSK_IMAGE_NODE');
      const r = spawnSync(node24, ['--import', 'tsx', script], { cwd: repoRoot, encoding: 'utf8' });
      expect(r.stderr).toBe('');
      const { status, json } = JSON.parse(r.stdout);
      expect(status, JSON.stringify(json)).toBe(200);
      expect(json).toMatchObject({
        int64Value: '9007199254740993',
        uint64Value: '18446744073709551615',
        sint64Value: '-9223372036854775808',
        int64List: ['9007199254740993', '1'],
        uint64ToInt64: { '1': '9223372036854775807' },
        int64Wrapper: '9007199254740993',
        any: { '@type': 'type.googleapis.com/kinds.v1.AllKinds', fixed64Value: '18446744073709551615' },
      });
    },
    60_000,
  );

  it('are still out of range past 64 bits, and still not strings', async () => {
    const over = await echo('{"int64Value": 9223372036854775808}');
    expect(over.status).toBe(400);
    expect(over.json).toMatchObject({ reason: 'CODEC', metadata: { field: 'int64Value' } });
    const text = await echo('{"stringValue": 9007199254740993}');
    expect(text.status).toBe(400);
    expect(text.json).toMatchObject({ reason: 'CODEC', metadata: { field: 'stringValue' } });
  });

  it('stay numbers where the field is a double or any JSON value', async () => {
    const { status, json } = await echo(
      '{"doubleValue": 9007199254740993, "value": 9007199254740993, "stringValue": "12345678901234567"}',
    );
    expect(status).toBe(200);
    expect(json).toMatchObject({
      doubleValue: 9007199254740992,
      value: 9007199254740992,
      stringValue: '12345678901234567',
    });
  });
});
