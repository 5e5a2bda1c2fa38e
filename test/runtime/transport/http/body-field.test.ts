// A rule whose body is one non-message field (`body: "string_value"`): both generated
// clients, called with that field unset, send a request the server accepts, as a
// gRPC call leaving the field unset would be. The kinds fixture's Note route.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../../../src/runtime/transport/http/index.js';
import { serveKinds, type KindsService } from '../../../helpers/kinds-service.js';

let kinds: KindsService;

beforeAll(async () => {
  kinds = await serveKinds('body-field');
}, 60_000);

afterAll(async () => {
  await kinds?.server.stop({ timeoutMs: 1000 });
});

describe('body bound to one scalar field', () => {
  it('the Node client sends the field when set, and nothing the server refuses when it is not', async () => {
    const client = new kinds.gen.KindsHTTPClient(new HttpClient({ target: kinds.base }));
    expect((await client.note({ stringValue: 'hi', int32Value: 3 })).stringValue).toBe('hi');
    expect(kinds.seen.at(-1)).toMatchObject({ stringValue: 'hi', int32Value: 3 });
    const reply = await client.note({ int32Value: 4 });
    expect(reply).toMatchObject({ stringValue: '', int32Value: 4 });
  });

  it('so does the fetch client', async () => {
    const client = new kinds.fetchGen.KindsFetchClient({ baseUrl: kinds.base });
    expect(await client.note({ stringValue: 'hi', int32Value: 3 })).toMatchObject({ stringValue: 'hi', int32Value: 3 });
    expect(await client.note({ int32Value: 4 })).toMatchObject({ stringValue: '', int32Value: 4 });
  });
});
