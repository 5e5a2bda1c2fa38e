// `tsk proto openapi` on every fixture, each document checked by a real OpenAPI
// validator (@apidevtools/swagger-parser), and the parts that must match the
// binder checked by hand on the edge fixture.
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { scratchFixture, tsk } from '../helpers/cli.js';
import { checkOpenApi } from '../helpers/openapi.js';

const FIXTURES = ['helloworld', 'user', 'edge'];

type Doc = {
  openapi: string;
  paths: Record<string, Record<string, { operationId: string; parameters?: { name: string; in: string; required?: boolean; schema: Record<string, unknown>; style?: string; explode?: boolean }[]; requestBody?: { content: Record<string, { schema: Record<string, unknown> }> }; responses: Record<string, { content: Record<string, { schema: Record<string, unknown> }> }> }>>;
  components: { schemas: Record<string, Record<string, unknown> & { properties?: Record<string, Record<string, unknown>> }> };
};

function projectDocument(name: string): Doc {
  const dir = scratchFixture('openapi', name);
  const r = tsk(['proto', 'openapi', '.', '-I', '.', '-o', 'openapi.json'], dir);
  expect(r.status, r.stderr).toBe(0);
  return JSON.parse(fs.readFileSync(path.join(dir, 'openapi.json'), 'utf8')) as Doc;
}

describe('tsk proto openapi', () => {
  for (const name of FIXTURES) {
    it(`writes a valid OpenAPI 3.1 document for fixtures/${name}`, async () => {
      const doc = projectDocument(name);
      expect(doc.openapi).toBe('3.1.0');
      await checkOpenApi(doc);
    });
  }

  it('writes one document per service next to its proto, each valid', async () => {
    const dir = scratchFixture('openapi-per-service', 'user');
    const r = tsk(['proto', 'openapi', '.', '-I', '.'], dir);
    expect(r.status, r.stderr).toBe(0);
    const file = path.join(dir, 'user', 'v1', 'user.UserService.openapi.json');
    await checkOpenApi(JSON.parse(fs.readFileSync(file, 'utf8')));
    // Regenerating over its own output is allowed; a file tsk did not write is left alone.
    expect(tsk(['proto', 'openapi', '.', '-I', '.'], dir).status).toBe(0);
    fs.writeFileSync(file, '{"mine": true}');
    const again = tsk(['proto', 'openapi', '.', '-I', '.'], dir);
    expect(again.stdout + again.stderr).toMatch(/not overwritten/);
    expect(fs.readFileSync(file, 'utf8')).toBe('{"mine": true}');
  });

  it('is also written by proto client --openapi', () => {
    const dir = scratchFixture('openapi-client', 'helloworld');
    const r = tsk(['proto', 'client', '.', '-I', '.', '--openapi', '--runtime', 'internal/pkg'], dir);
    expect(r.status, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(dir, 'helloworld', 'v1', 'greeter.Greeter.openapi.json'))).toBe(true);
    expect(fs.existsSync(path.join(dir, 'helloworld', 'v1', 'greeter_http.ts'))).toBe(true);
  });

  it('fails with the rule position and writes nothing for a bad rule', () => {
    const dir = scratchFixture('openapi-broken', 'broken');
    const r = tsk(['proto', 'openapi', 'bad_rule', '-I', '.', '-o', 'out.json'], dir);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/bad_rule\.proto:\d+:\d+: /);
    expect(fs.existsSync(path.join(dir, 'out.json'))).toBe(false);
  });

  describe('edge fixture: what the binder reads', () => {
    const doc = projectDocument('edge');
    const op = (p: string, m: string) => {
      const o = doc.paths[p]?.[m];
      if (!o) throw new Error(`no ${m} ${p} in ${Object.keys(doc.paths).join(', ')}`);
      return o;
    };
    const names = (p: string, m: string, where: string) => (op(p, m).parameters ?? []).filter((x) => x.in === where).map((x) => x.name);

    it('has an operation per binding, additional bindings included, and unruled methods at POST /pkg.Service/Method', () => {
      expect(op('/v1/shelves/{shelf}/books/{book.id}', 'get').operationId).toBe('Library_GetBook');
      expect(op('/v1/books/{book.id}', 'get').operationId).toBe('Library_GetBook_2');
      expect(op('/edge.v1.Library/Ping', 'post').requestBody).toBeDefined();
      expect(Object.values(doc.paths).flatMap((item) => Object.values(item)).some((o) => (o as { operationId?: string }).operationId?.includes('WatchBooks'))).toBe(false);
    });

    it('renders path templates with one parameter per variable and the segment pattern', () => {
      const byName = op('/v1/{name}', 'get').parameters!.find((x) => x.name === 'name')!;
      expect(byName).toMatchObject({ in: 'path', required: true, schema: { type: 'string', pattern: '^publishers/[^/]+/books/[^/]+$' } });
      expect(op('/v1/files/{path}', 'get').parameters![0]!.schema).toEqual({ type: 'string', pattern: '^.*$' });
      expect(op('/v1/books/{id}:publish', 'post').requestBody).toBeDefined();
    });

    it('lists nested and repeated query parameters, never what the path binds', () => {
      const query = names('/v1/shelves/{shelf}/books/{book.id}', 'get', 'query');
      expect(query).toEqual(expect.arrayContaining(['book.title', 'includeReviews', 'editions', 'filter.range.min', 'filter.authorName', 'note', 'since', 'maxAge', 'bigNumber']));
      expect(query).not.toContain('book.id');
      expect(query).not.toContain('shelf');
      expect(query.some((q) => q.startsWith('book.labels'))).toBe(false); // maps cannot be bound from a query
      const editions = op('/v1/shelves/{shelf}/books/{book.id}', 'get').parameters!.find((x) => x.name === 'editions')!;
      expect(editions).toMatchObject({ style: 'form', explode: true, schema: { type: 'array', items: { type: 'integer', format: 'int32' } } });
      // body "book": the body field and what lies in it are not query parameters, the rest is.
      expect(names('/v1/books/{book.id}', 'put', 'query')).toEqual(['updateMask']);
      // body "*": no query parameters; the body omits the path's fields.
      expect(names('/v1/books/{id}:publish', 'post', 'query')).toEqual([]);
      const publishBody = op('/v1/books/{id}:publish', 'post').requestBody!.content['application/json']!.schema;
      expect(Object.keys(publishBody['properties'] as object)).toEqual(['comment', 'genres']);
    });

    it('uses response_body for the 200 schema and the error body for the rest', () => {
      const list = op('/v1/books', 'get').responses;
      expect(list['200']!.content['application/json']!.schema).toMatchObject({ type: 'array', items: { $ref: '#/components/schemas/edge.v1.Book' } });
      expect(list['default']!.content['application/json']!.schema).toEqual({ $ref: '#/components/schemas/tsk.Error' });
      expect(doc.components.schemas['tsk.Error']!['required']).toEqual(['code', 'reason', 'message', 'metadata']);
    });

    it('gives proto3 JSON types: int64 as string, enums by name, well-known types', () => {
      const book = doc.components.schemas['edge.v1.Book']!.properties!;
      expect(book['id']).toMatchObject({ type: 'string', format: 'int64' });
      expect(book['catalogNumber']).toMatchObject({ type: 'string', format: 'uint64' });
      expect(book['genre']).toMatchObject({ $ref: '#/components/schemas/edge.v1.Genre' });
      expect(doc.components.schemas['edge.v1.Genre']).toMatchObject({ type: 'string', enum: ['GENRE_UNSPECIFIED', 'GENRE_FICTION', 'GENRE_SCIENCE'] });
      expect(book['publishTime']).toMatchObject({ type: 'string', format: 'date-time' });
      expect(book['readingTime']).toMatchObject({ type: 'string', pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$' });
      expect(book['labels']).toMatchObject({ type: 'object', additionalProperties: { type: 'string' } });
      expect(book['isbn']!['description']).toMatch(/At most one of `isbn`, `catalogNumber`/);
      const request = doc.components.schemas['edge.v1.GetBookRequest']?.properties;
      if (request) expect(request['note']).toMatchObject({ type: ['string', 'null'] });
    });

    it('carries comments as descriptions', () => {
      expect(op('/v1/{name}', 'get')).toMatchObject({ summary: 'A multi-segment variable.' });
    });
  });
});
