// What a proto marks `deprecated = true` reaches the two places people look: the editor
// (`@deprecated` on the generated clients' and servers' methods, so calls are struck
// through) and the OpenAPI document (`deprecated` on the operation, parameter and schema).
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, tsk } from '../helpers/cli.js';

const PROTO = `syntax = "proto3";
package shelf.v1;
import "google/api/annotations.proto";

service Shelf {
  // Lists the books.
  rpc ListBooks(ListBooksRequest) returns (ListBooksReply) {
    option (google.api.http) = { get: "/v1/books" };
    option deprecated = true;
  }
  rpc GetBook(GetBookRequest) returns (Book) {
    option (google.api.http) = { get: "/v1/books/{id}" };
  }
}
message ListBooksRequest {
  string filter = 1 [deprecated = true];
  int32 page_size = 2;
}
message ListBooksReply { repeated Book books = 1; }
message GetBookRequest { string id = 1; }
message Book {
  option deprecated = true;
  string id = 1;
  // The old code.
  string legacy_code = 2 [deprecated = true];
}
`;

describe('deprecated rpcs, fields and messages', () => {
  const dir = path.join(repoRoot, '.tmp', 'deprecated');
  fs.rmSync(dir, { recursive: true, force: true });
  fs.mkdirSync(path.join(dir, 'shelf', 'v1'), { recursive: true });
  fs.writeFileSync(path.join(dir, 'buf.yaml'), 'version: v2\n');
  fs.writeFileSync(path.join(dir, 'shelf', 'v1', 'shelf.proto'), PROTO);
  const read = (rel: string) => fs.readFileSync(path.join(dir, rel), 'utf8');

  it('marks the generated methods @deprecated, after the rpc comment and the route', () => {
    const r = tsk(['proto', 'client', 'shelf/v1/shelf.proto', '--fetch', '--openapi'], dir);
    expect(r.status, r.stderr).toBe(0);
    const deprecatedDoc = '   * @deprecated The proto marks this rpc deprecated.\n   */\n';
    const http = read('shelf/v1/shelf_http.ts');
    expect(http).toContain(`   * Lists the books.\n   *\n${deprecatedDoc}  listBooks(ctx: Context`);
    expect(http).toContain(`   * GET /v1/books\n   *\n${deprecatedDoc}  listBooks(request`);
    expect(http).toContain('  /** GET /v1/books/{id} */\n  getBook(request');
    const grpc = read('shelf/v1/shelf_grpc.ts');
    expect(grpc).toContain(`${deprecatedDoc}  listBooks(ctx: Context`);
    expect(grpc).toContain(`${deprecatedDoc}  listBooks(request`);
    expect(grpc).not.toMatch(/@deprecated[^/]*\/\n {2}getBook/);
    expect(read('shelf/v1/shelf_fetch.ts')).toContain(`   * GET /v1/books\n   *\n${deprecatedDoc}  listBooks(`);
  });

  it('marks the OpenAPI operation, its parameter and the schemas deprecated', () => {
    const doc = JSON.parse(read('shelf/v1/shelf.Shelf.openapi.json'));
    const list = doc.paths['/v1/books'].get;
    expect(list.deprecated).toBe(true);
    expect(list.parameters.find((p: { name: string }) => p.name === 'filter').deprecated).toBe(true);
    expect(list.parameters.find((p: { name: string }) => p.name === 'pageSize').deprecated).toBeUndefined();
    expect(doc.paths['/v1/books/{id}'].get.deprecated).toBeUndefined();
    const book = doc.components.schemas['shelf.v1.Book'];
    expect(book.deprecated).toBe(true);
    expect(book.properties.legacyCode).toMatchObject({ deprecated: true, description: 'The old code.' });
    expect(book.properties.id.deprecated).toBeUndefined();
  });
});
