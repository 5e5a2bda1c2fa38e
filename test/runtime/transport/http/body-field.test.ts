// A rule whose body is one non-message field (`body: "string_value"`): both generated
// clients, called with that field unset, send a request the server accepts, as a
// gRPC call leaving the field unset would be. The kinds fixture's Note route.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient, HttpServer } from '../../../../src/runtime/transport/http/index.js';
import { repoRoot, scratchFixture, tsk } from '../../../helpers/cli.js';

let server: HttpServer;
let base: string;
let gen: any;
let fetchGen: any;
const seen: any[] = [];

beforeAll(async () => {
  const dir = scratchFixture('body-field', 'json');
  const r = tsk(
    ['proto', 'client', '.', '-I', '.', '--fetch', '--runtime', path.join(repoRoot, 'src', 'runtime')],
    dir,
  );
  if (r.status !== 0) throw new Error(r.stderr);
  gen = await import(path.join(dir, 'kinds/v1/kinds_http.ts'));
  fetchGen = await import(path.join(dir, 'kinds/v1/kinds_fetch.ts'));
  server = new HttpServer({ address: '127.0.0.1:0' });
  const echo = async (_ctx: unknown, request: any) => {
    seen.push(request);
    return request;
  };
  gen.registerKindsHTTPServer(server, { echo, put: echo, get: echo, note: echo });
  await server.start();
  base = `http://127.0.0.1:${server.listenPort}`;
}, 60_000);

afterAll(async () => {
  await server?.stop({ timeoutMs: 1000 });
});

describe('body bound to one scalar field', () => {
  it('the Node client sends the field when set, and nothing the server refuses when it is not', async () => {
    const client = new gen.KindsHTTPClient(new HttpClient({ target: base }));
    expect((await client.note({ stringValue: 'hi', int32Value: 3 })).stringValue).toBe('hi');
    expect(seen.at(-1)).toMatchObject({ stringValue: 'hi', int32Value: 3 });
    const reply = await client.note({ int32Value: 4 });
    expect(reply).toMatchObject({ stringValue: '', int32Value: 4 });
  });

  it('so does the fetch client', async () => {
    const client = new fetchGen.KindsFetchClient({ baseUrl: base });
    expect(await client.note({ stringValue: 'hi', int32Value: 3 })).toMatchObject({ stringValue: 'hi', int32Value: 3 });
    expect(await client.note({ int32Value: 4 })).toMatchObject({ stringValue: '', int32Value: 4 });
  });
});
