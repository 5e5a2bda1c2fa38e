// Which generated files belong to a proto that is gone, read from their headers: only
// tsk's files beside the proto they name, and never those of protos that still exist
// in some root or come with the compiler.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { orphansBySource } from '../../../src/gen/orphans.js';
import { GENERATED_HEADER } from '../../../src/gen/printer.js';

const dir = fs.realpathSync(fs.mkdtempSync(path.join(os.tmpdir(), 'tsk-orphans-')));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
const api = path.join(dir, 'api');
const vendored = path.join(dir, 'third_party');

function file(rel: string, content: string): string {
  const abs = path.join(dir, rel);
  fs.mkdirSync(path.dirname(abs), { recursive: true });
  fs.writeFileSync(abs, content);
  return abs;
}
const generatedFrom = (source: string, more = '') => `${GENERATED_HEADER}\n${more}// source: ${source}\n\nexport {};\n`;

describe('orphansBySource', () => {
  file('api/shop/v1/greeter.proto', 'syntax = "proto3";\n');
  file('third_party/google/api/http.proto', 'syntax = "proto3";\n');
  const gone = [
    file('api/shop/v1/order.ts', generatedFrom('shop/v1/order.proto', '// Messages by protoc-gen-ts_proto.\n')),
    file('api/shop/v1/order_http.ts', generatedFrom('shop/v1/order.proto')),
    file('api/shop/v1/order_grpc.ts', generatedFrom('shop/v1/order.proto')),
  ];
  const kept = [
    // A live proto's output, and an imported proto's found in another root.
    file('api/shop/v1/greeter_http.ts', generatedFrom('shop/v1/greeter.proto')),
    file('api/google/api/http.ts', generatedFrom('google/api/http.proto')),
    // The compiler's own protos never exist on disk.
    file('api/google/protobuf/timestamp.ts', generatedFrom('google/protobuf/timestamp.proto')),
    // Named after a gone proto, but not beside it: the OpenAPI module names its first proto.
    file('api/openapi.ts', generatedFrom('shop/v1/order.proto')),
    file('api/shop/v1/sub/order_http.ts', generatedFrom('shop/v1/order.proto')),
    // Beside a gone proto, without tsk's header.
    file('api/shop/v1/order_notes.ts', '// source: shop/v1/order.proto\n'),
    file('api/shop/v1/order.openapi.json', '{}'),
  ];
  const missingFile = path.join(api, 'shop/v1/order_fetch.ts');

  it('names the files beside a proto no root holds any more', () => {
    expect(orphansBySource([...gone, ...kept, missingFile], [api, vendored], new Set()).sort()).toEqual(gone.sort());
  });

  it('leaves out what this run generates, and everything when the proto is back', () => {
    expect(orphansBySource(gone, [api, vendored], new Set([gone[0]!]))).toEqual(gone.slice(1));
    file('api/shop/v1/order.proto', 'syntax = "proto3";\n');
    expect(orphansBySource(gone, [api, vendored], new Set())).toEqual([]);
  });
});
