// Map fields in the query, as grpc-gateway and Kratos bind them: `labels[key]=value`.
// Called with plain fetch, the generated Node client and the generated fetch client,
// which all three send maps that way. The kinds fixture's GET route binds the query.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HttpClient } from '../../../../src/runtime/transport/http/index.js';
import { serveKinds, type KindsService } from '../../../helpers/kinds-service.js';

let kinds: KindsService;

beforeAll(async () => {
  kinds = await serveKinds('query-maps');
}, 60_000);

afterAll(async () => {
  await kinds?.server.stop({ timeoutMs: 1000 });
});

async function get(query: string): Promise<{ status: number; body: any }> {
  const res = await fetch(`${kinds.base}/v1/kinds/7?${query}`);
  return { status: res.status, body: await res.json() };
}

describe('map fields in the query', () => {
  it('bind key[value] entries of string, integer, bool and enum maps, keys and values by their types', async () => {
    const r = await get(
      'stringToInt32[a]=1&stringToInt32[b%20c]=2&int32ToString[-5]=five&boolToString[true]=yes' +
        '&uint32ToColor[1]=COLOR_RED&uint64ToInt64[18446744073709551615]=-9007199254740993&string_to_int32[d]=4',
    );
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({
      stringToInt32: { a: 1, 'b c': 2, d: 4 },
      int32ToString: { '-5': 'five' },
      boolToString: { true: 'yes' },
      uint32ToColor: { '1': 'COLOR_RED' },
      uint64ToInt64: { '18446744073709551615': '-9007199254740993' },
    });
  });

  it.each([
    ['a key that is not of the key type', 'int32ToString[x]=1'],
    ['a value that is not of the value type', 'stringToInt32[a]=one'],
    ['an entry given twice', 'stringToInt32[a]=1&stringToInt32[a]=2'],
    ['an entry of a map of messages', 'int64ToNested[1]=x'],
  ])('refuses %s with 400 CODEC', async (_label, query) => {
    const r = await get(query);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ reason: 'CODEC' });
  });

  it('touch no prototype with a key named __proto__', async () => {
    // A message's map is a plain object, which cannot hold a __proto__ key: refused, never dropped.
    const refused = await get('stringToInt32[__proto__]=1&stringToInt32[a]=2');
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ reason: 'CODEC' });
    expect(refused.body.metadata.field).toContain('__proto__');
    expect(({} as Record<string, unknown>)['1']).toBeUndefined();
    const r = await get('stringToInt32[constructor]=2');
    expect(r.status).toBe(200);
    expect(r.body.stringToInt32).toEqual({ constructor: 2 });
  });

  it('ignore parameters that name no map, as unknown parameters are', async () => {
    expect((await get('nope[a]=1&stringValue[a]=1')).status).toBe(200);
  });

  // What the handler receives: ts-proto's message, enums as numbers.
  const expected = { stringToInt32: { a: 1, 'b&c': 2 }, uint32ToColor: { 3: 1 } };

  it('are sent that way by the generated Node client', async () => {
    const client = new kinds.gen.KindsHTTPClient(new HttpClient({ target: kinds.base }));
    await client.get({ int64Value: '7', stringToInt32: { a: 1, 'b&c': 2 }, uint32ToColor: { 3: 1 } });
    expect(kinds.seen.at(-1)).toMatchObject(expected);
  });

  it('and by the generated fetch client', async () => {
    const client = new kinds.fetchGen.KindsFetchClient({ baseUrl: kinds.base });
    await client.get({ int64Value: '7', stringToInt32: { a: 1, 'b&c': 2 }, uint32ToColor: { 3: 'COLOR_RED' } });
    expect(kinds.seen.at(-1)).toMatchObject(expected);
  });
});
