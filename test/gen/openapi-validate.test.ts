// buf.validate rules in an OpenAPI document. The rules' descriptors come from the
// @bufbuild/protovalidate package (its generated buf/validate/validate.proto), so
// the request message below carries real `buf.validate.field` options, exactly as
// a compiled proto importing buf/validate/validate.proto would.
import {
  create,
  createFileRegistry,
  fromBinary,
  setExtension,
  toBinary,
  type DescFile,
  type MessageInitShape,
} from '@bufbuild/protobuf';
import {
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldOptionsSchema,
  FileDescriptorProtoSchema,
} from '@bufbuild/protobuf/wkt';
import {
  field as fieldRules,
  FieldRulesSchema,
  file_buf_validate_validate,
} from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import { describe, expect, it } from 'vitest';
import { buildOpenApi } from '../../src/gen/openapi.js';
import { checkOpenApi } from '../helpers/openapi.js';

type Rules = MessageInitShape<typeof FieldRulesSchema>;

function withRules(rules: Rules) {
  const options = create(FieldOptionsSchema);
  setExtension(options, fieldRules, create(FieldRulesSchema, rules));
  return options;
}

const { STRING, INT32, DOUBLE, MESSAGE } = FieldDescriptorProto_Type;
const { OPTIONAL, REPEATED } = FieldDescriptorProto_Label;

function shopFile(): DescFile {
  const proto = create(FileDescriptorProtoSchema, {
    name: 'shop/v1/shop.proto',
    package: 'shop.v1',
    syntax: 'proto3',
    dependency: ['buf/validate/validate.proto'],
    messageType: [
      {
        name: 'CreateItemRequest',
        field: [
          {
            name: 'name',
            number: 1,
            type: STRING,
            label: OPTIONAL,
            jsonName: 'name',
            options: withRules({
              required: true,
              type: { case: 'string', value: { minLen: 3n, maxLen: 20n, pattern: '^[a-z ]+$' } },
            }),
          },
          {
            name: 'quantity',
            number: 2,
            type: INT32,
            label: OPTIONAL,
            jsonName: 'quantity',
            options: withRules({
              type: {
                case: 'int32',
                value: { greaterThan: { case: 'gte', value: 1 }, lessThan: { case: 'lte', value: 100 } },
              },
            }),
          },
          {
            name: 'price',
            number: 3,
            type: DOUBLE,
            label: OPTIONAL,
            jsonName: 'price',
            options: withRules({ type: { case: 'double', value: { greaterThan: { case: 'gt', value: 0 } } } }),
          },
          {
            name: 'tags',
            number: 4,
            type: STRING,
            label: REPEATED,
            jsonName: 'tags',
            options: withRules({
              type: {
                case: 'repeated',
                value: { maxItems: 5n, unique: true, items: { type: { case: 'string', value: { minLen: 1n } } } },
              },
            }),
          },
          {
            name: 'contact',
            number: 5,
            type: STRING,
            label: OPTIONAL,
            jsonName: 'contact',
            options: withRules({ type: { case: 'string', value: { wellKnown: { case: 'email', value: true } } } }),
          },
          { name: 'note', number: 6, type: STRING, label: OPTIONAL, jsonName: 'note' },
          {
            name: 'item',
            number: 7,
            type: MESSAGE,
            typeName: '.shop.v1.CreateItemRequest',
            label: OPTIONAL,
            jsonName: 'item',
          },
        ],
      },
    ],
    service: [
      {
        name: 'Shop',
        method: [
          { name: 'CreateItem', inputType: '.shop.v1.CreateItemRequest', outputType: '.shop.v1.CreateItemRequest' },
        ],
      },
    ],
  });
  // Through bytes and back, as `tsk proto openapi` reads buf's output: the rules are then unknown
  // fields of FieldOptions until the typed extension decodes them.
  const parsed = fromBinary(FileDescriptorProtoSchema, toBinary(FileDescriptorProtoSchema, proto));
  const registry = createFileRegistry(parsed, (name) =>
    name === 'buf/validate/validate.proto' ? file_buf_validate_validate : undefined,
  );
  return registry.getFile('shop/v1/shop.proto')!;
}

describe('buf.validate rules as JSON Schema', () => {
  const file = shopFile();
  const doc = buildOpenApi(file.services, { title: 'shop', version: 'v1' }, []);
  const schema = (
    doc['components'] as { schemas: Record<string, { properties: Record<string, unknown>; required?: string[] }> }
  ).schemas['shop.v1.CreateItemRequest']!;

  it('maps required, lengths, ranges, patterns, counts and formats', () => {
    expect(schema.required).toEqual(['name']);
    expect(schema.properties['name']).toEqual({ type: 'string', minLength: 3, maxLength: 20, pattern: '^[a-z ]+$' });
    expect(schema.properties['quantity']).toEqual({ type: 'integer', format: 'int32', minimum: 1, maximum: 100 });
    expect(schema.properties['price']).toEqual({ type: 'number', format: 'double', exclusiveMinimum: 0 });
    expect(schema.properties['tags']).toEqual({
      type: 'array',
      items: { type: 'string', minLength: 1 },
      maxItems: 5,
      uniqueItems: true,
    });
    expect(schema.properties['contact']).toEqual({ type: 'string', format: 'email' });
    expect(schema.properties['note']).toEqual({ type: 'string' });
  });

  it("is a valid document, served at the method's default route", async () => {
    expect(Object.keys(doc.paths)).toEqual(['/shop.v1.Shop/CreateItem']);
    await checkOpenApi(doc);
  });
});

describe('buf.validate rules of parameters and bodies', () => {
  const PROTO = `syntax = "proto3";
package shelf.v1;
import "buf/validate/validate.proto";
import "google/api/annotations.proto";
service Shelf {
  rpc List(ListRequest) returns (Book) { option (google.api.http) = { get: "/v1/shelves/{shelf}/books" }; }
  rpc Put(PutRequest) returns (Book) { option (google.api.http) = { post: "/v1/books", body: "book" }; }
  rpc Note(NoteRequest) returns (Book) { option (google.api.http) = { post: "/v1/notes", body: "book" }; }
}
message ListRequest {
  string shelf = 1 [(buf.validate.field).string = {min_len: 1, max_len: 64}];
  int32 page_size = 2 [(buf.validate.field).int32 = {gte: 0, lte: 100}];
  repeated string tags = 3 [(buf.validate.field).repeated = {max_items: 3, items: {string: {min_len: 2}}}];
  string owner = 4 [(buf.validate.field).required = true];
  Book filter = 5;
}
message PutRequest { Book book = 1 [(buf.validate.field).required = true]; }
message NoteRequest { Book book = 1; }
message Book { string title = 1 [(buf.validate.field).required = true]; }
`;

  it('puts the rules of path and query fields on their parameters, and requires a required body', async () => {
    const { compileInline } = await import('./unit/compile-inline.js');
    const input = await compileInline({ 'shelf/v1/shelf.proto': PROTO });
    const doc = buildOpenApi(
      input.files.flatMap((f) => f.services),
      { title: 'shelf', version: 'v1' },
      [],
    );
    type Operation = {
      parameters?: { name: string; in: string; required?: boolean; schema: unknown }[];
      requestBody?: { required?: boolean; content: { 'application/json': { schema: unknown } } };
    };
    const paths = doc.paths as Record<string, Record<string, Operation>>;
    const list = paths['/v1/shelves/{shelf}/books']!['get']!;
    const parameter = (name: string) => list.parameters!.find((p) => p.name === name)!;
    expect(parameter('shelf')).toMatchObject({ in: 'path', required: true, schema: { minLength: 1, maxLength: 64 } });
    expect(parameter('pageSize').schema).toEqual({ type: 'integer', format: 'int32', minimum: 0, maximum: 100 });
    expect(parameter('pageSize').required).toBeUndefined();
    expect(parameter('tags').schema).toEqual({ type: 'array', items: { type: 'string', minLength: 2 }, maxItems: 3 });
    expect(parameter('owner').required).toBe(true);
    // A nested field's required rule holds only once its message is set.
    expect(parameter('filter.title').required).toBeUndefined();

    const put = paths['/v1/books']!['post']!.requestBody!;
    expect(put.required).toBe(true);
    expect(put.content['application/json'].schema).toEqual({ $ref: '#/components/schemas/shelf.v1.Book' });
    const note = paths['/v1/notes']!['post']!.requestBody!;
    expect(note.required).toBeUndefined();
    expect(note.content['application/json'].schema).toEqual({
      anyOf: [{ $ref: '#/components/schemas/shelf.v1.Book' }, { type: 'null' }],
    });
    await checkOpenApi(doc);
  });
});
