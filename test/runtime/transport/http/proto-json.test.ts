// Differential test of strict proto3 JSON: a corpus of request bodies for a proto with
// every field kind, decoded by tsk's binder and by @bufbuild/protobuf's fromJson (a
// strict implementation of the mapping). Both must accept and reject the same bodies,
// and what they accept must be the same message on the wire.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { createRegistry, fromJson, toBinary, type DescMessage, type Registry } from '@bufbuild/protobuf';
import { beforeAll, describe, expect, it } from 'vitest';
import { compileProtos } from '../../../../src/proto/compile.js';
import {
  bindRequest,
  compileRoute,
  encodeRequest,
  encodeResponse,
  type CompiledRoute,
} from '../../../../src/runtime/transport/http/binding.js';
import { isServiceError } from '../../../../src/runtime/errors/errors.js';
import { generateFixture } from '../../../helpers/generated.js';

let echo: CompiledRoute;
let put: CompiledRoute;
let get: CompiledRoute;
let AllKinds: any;
let PutRequest: any;
let Nested: any;
let allKindsDesc: DescMessage;
let putDesc: DescMessage;
let registry: Registry;
let dir: string;

beforeAll(async () => {
  dir = generateFixture('proto-json', 'json');
  const http = await import(path.join(dir, 'kinds/v1/kinds_http.ts'));
  ({ AllKinds, PutRequest, Nested } = await import(path.join(dir, 'kinds/v1/kinds.ts')));
  echo = compileRoute(http.KindsHTTPRoutes.echo[0]);
  put = compileRoute(http.KindsHTTPRoutes.put[0]);
  get = compileRoute(http.KindsHTTPRoutes.get[0]);
  const compiled = await compileProtos({ inputs: ['kinds/v1/kinds.proto'], importPaths: ['.'], cwd: dir });
  allKindsDesc = compiled.registry.getMessage('kinds.v1.AllKinds')!;
  putDesc = compiled.registry.getMessage('kinds.v1.PutRequest')!;
  // What an Any may hold: the messages the service's routes mention, as tsk resolves them.
  registry = createRegistry(allKindsDesc, putDesc, compiled.registry.getMessage('kinds.v1.Nested')!);
}, 60_000);

type Outcome = { ok: true; wire: unknown } | { ok: false; error: string };

/** tsk: the body through the binder of `POST /v1/kinds` (body "*"). */
function viaTsk(body: unknown): Outcome {
  try {
    const message = bindRequest(echo, [], undefined, structuredClone(body));
    return { ok: true, wire: AllKinds.decode(AllKinds.encode(message).finish()) };
  } catch (err) {
    if (!isServiceError(err)) throw err; // anything but a ServiceError is a bug
    expect(err.code).toBe(400);
    expect(err.reason).toBe('CODEC');
    expect(err.metadata.field).toBeTruthy();
    return { ok: false, error: err.message };
  }
}

function viaProtobufEs(body: unknown): Outcome {
  try {
    const message = fromJson(allKindsDesc, structuredClone(body) as any, { registry, ignoreUnknownFields: true });
    // Through ts-proto's encoder too, as tsk's side goes: its own losses (it skips -0) cancel out.
    const decoded = AllKinds.decode(toBinary(allKindsDesc, message));
    return { ok: true, wire: AllKinds.decode(AllKinds.encode(decoded).finish()) };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

// ------------------------------------------------------------------ the corpus

const NUMBERS: unknown[] = [
  0,
  1,
  -1,
  1.5,
  -0,
  1e3,
  2147483647,
  2147483648,
  -2147483648,
  -2147483649,
  4294967295,
  4294967296,
  9007199254740993,
  1e20,
  3.4e38,
  3.5e38,
  1e308,
  '0',
  '1',
  '-1',
  '1.5',
  '1e3',
  '1.0',
  '-0',
  '+1',
  '01',
  '0x10',
  ' 1',
  '1 ',
  '',
  'abc',
  '1e400',
  '2147483648',
  '-2147483649',
  '4294967296',
  '9223372036854775807',
  '9223372036854775808',
  '-9223372036854775808',
  '-9223372036854775809',
  '18446744073709551615',
  '18446744073709551616',
  'NaN',
  'Infinity',
  '-Infinity',
  'nan',
  'infinity',
  true,
  null,
  [],
  {},
  [1],
];
const BOOLS: unknown[] = [true, false, 'true', 'false', 0, 1, null, [], {}];
const STRINGS: unknown[] = ['x', '', 'ünï©ødé', '\ud800', 5, true, null, ['a'], {}];
const BYTES: unknown[] = [
  '',
  'AQID',
  'AQI=',
  'AQI',
  'AQ==',
  'AQ',
  'A',
  '-_-_',
  '+/+/',
  'AQ==AQ==',
  'AQ ID',
  'YQ==\n',
  '!!!',
  'AQI==',
  5,
  null,
  [1],
  {},
];
const ENUMS: unknown[] = [
  'COLOR_RED',
  'COLOR_BLUE',
  1,
  2,
  0,
  7,
  -1,
  2147483648,
  1.5,
  '1',
  'COLOR_NOPE',
  'color_red',
  'constructor',
  true,
  null,
  [],
  {},
];
const TIMESTAMPS: unknown[] = [
  '2024-01-02T03:04:05Z',
  '2024-01-02T03:04:05.1Z',
  '2024-01-02T03:04:05.123456789Z',
  '2024-01-02T03:04:05.1234567891Z',
  '2024-01-02T03:04:05+01:00',
  '2024-01-02T03:04:05-23:59',
  '2024-01-02T03:04:05z',
  '2024-01-02 03:04:05Z',
  '2024-01-02T03:04:05',
  '0000-12-31T23:59:59Z',
  '0001-01-01T00:00:00Z',
  '9999-12-31T23:59:59.999999999Z',
  '1969-12-31T23:59:59.5Z',
  '2024-02-30T00:00:00Z',
  '2024-13-01T00:00:00Z',
  '2024-01-01T24:00:00Z',
  '2024-01-01T23:60:00Z',
  'not a date',
  1700000000,
  null,
  {},
  [],
];
const DURATIONS: unknown[] = [
  '1s',
  '0s',
  '-0s',
  '1.5s',
  '-0.5s',
  '1.000000001s',
  '1.123456789s',
  '1.1234567891s',
  '01s',
  '315576000000s',
  '-315576000000s',
  '315576000001s',
  '-315576000001s',
  '1m',
  '1',
  '.5s',
  '1.s',
  '+1s',
  1,
  null,
  {},
  { seconds: '1' },
];
const MASKS: unknown[] = ['', 'a', 'fooBar,baz.quxQuux', 'foo_bar', 'a,,b', 5, null, ['a'], { paths: ['a'] }];
const STRUCTS: unknown[] = [{}, { a: 1, b: [null, { c: 'd' }], e: true }, [], 'x', 5, null];
const VALUES: unknown[] = [null, 1, 1.5, 'x', true, [], {}, [1, [2, { a: null }]], { deep: { er: [null] } }];
const LISTS: unknown[] = [[], [1, 'a', null, { b: [] }], {}, 'x', null];
const ANYS: unknown[] = [
  {},
  { '@type': 'type.googleapis.com/kinds.v1.Nested', name: 'a', count: '2' },
  { '@type': 'kinds.v1.Nested' },
  { '@type': 'example.com/x/kinds.v1.Nested', child: { name: 'c' } },
  { '@type': 'type.googleapis.com/kinds.v1.AllKinds', colorList: [7, 'COLOR_RED'], value: null, int64Value: '0x10' },
  { '@type': 'type.googleapis.com/kinds.v1.Nested', count: 'x' },
  { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1s' },
  { '@type': 'type.googleapis.com/kinds.v1.Missing' },
  { '@type': '' },
  { '@type': 'type.googleapis.com/' },
  { '@type': 5 },
  { name: 'no type' },
  'x',
  [],
  null,
];
const NESTED: unknown[] = [
  {},
  { name: 'a', count: 3 },
  { count: '5' },
  { count: 1.5 },
  { child: { child: { name: 'deep' } } },
  { child: null },
  'x',
  [],
  5,
  null,
];

const WRAPPER_VALUES: Record<string, unknown[]> = {
  doubleWrapper: NUMBERS,
  floatWrapper: NUMBERS,
  int64Wrapper: NUMBERS,
  uint64Wrapper: NUMBERS,
  int32Wrapper: NUMBERS,
  uint32Wrapper: NUMBERS,
  boolWrapper: BOOLS,
  stringWrapper: STRINGS,
  bytesWrapper: BYTES,
};

function list(items: unknown[]): unknown[] {
  return [[], items.slice(0, 3), ...items.map((i) => [i]), null, 'x', {}, [null]];
}

function map(keys: string[], values: unknown[]): unknown[] {
  return [{}, null, [], 'x', ...keys.map((k) => ({ [k]: values[0] })), ...values.map((v) => ({ [keys[0]!]: v }))];
}

const INT_KEYS = [
  '1',
  '-1',
  '01',
  '0',
  '-0',
  '00',
  '1.0',
  '1e2',
  '0x1',
  ' 1',
  '',
  'a',
  'true',
  '2147483648',
  '4294967295',
  '4294967296',
  '18446744073709551615',
  '-9223372036854775808',
];

function corpus(): [string, unknown][] {
  const cases: [string, unknown][] = [];
  const each = (field: string, values: unknown[]) =>
    values.forEach((v) => cases.push([`${field} = ${JSON.stringify(v)}`, { [field]: v }]));
  for (const f of [
    'doubleValue',
    'floatValue',
    'int32Value',
    'int64Value',
    'uint32Value',
    'uint64Value',
    'sint32Value',
    'sint64Value',
    'fixed32Value',
    'fixed64Value',
    'sfixed32Value',
    'sfixed64Value',
    'maybeInt',
  ])
    each(f, NUMBERS);
  each('boolValue', BOOLS);
  each('stringValue', STRINGS);
  each('maybeText', STRINGS);
  each('bytesValue', BYTES);
  each('color', ENUMS);
  each('nullValue', [null, 'NULL_VALUE', 0, 1, 'x', true]);
  each('nested', NESTED);
  each('int32List', list(NUMBERS.slice(0, 12)));
  each('int64List', list(NUMBERS.slice(17, 40)));
  each('doubleList', list(['NaN', 1.5, '1e3', 'x']));
  each('stringList', list(STRINGS));
  each('bytesList', list(BYTES));
  each('colorList', list(ENUMS));
  each('nestedList', list(NESTED));
  each('boolList', list(BOOLS));
  each('uint64List', list(['1', -1, '18446744073709551615', 1.5]));
  each('stringToInt32', map(['a', '', '__proto__'], [1, '2', 1.5, 'x', null]));
  each('int32ToString', map(INT_KEYS, ['x', 5, null]));
  each('int64ToNested', map(INT_KEYS, [{ name: 'n' }, null, 'x', { count: 'y' }]));
  each('boolToString', [...map(['true', 'false', 'True', '1', ''], ['x', null]), { true: 'a', false: 'b' }]);
  each('uint32ToColor', map(['1', '-1', '4294967295', '4294967296'], ['COLOR_RED', 7, 'NOPE', null]));
  each('stringToBytes', map(['k'], ['AQID', '!!!', null]));
  each('uint64ToInt64', map(['18446744073709551615', '-1', '007'], ['9223372036854775807', '9223372036854775808', 5]));
  each('sint32ToDouble', map(['-5', '2147483647', '-2147483649'], ['NaN', 1.5, 'x']));
  cases.push(['int32 keys equal after parsing', { int32ToString: { '1': 'a', '01': 'b' } }]);
  cases.push(['int64 keys equal after parsing', { int64ToNested: { '1': {}, '01': {} } }]);
  each('timestamp', TIMESTAMPS);
  each('duration', DURATIONS);
  each('fieldMask', MASKS);
  each('struct', STRUCTS);
  each('value', VALUES);
  each('listValue', LISTS);
  each('any', ANYS);
  each('empty', [{}, null, 5, [], 'x']);
  for (const [f, values] of Object.entries(WRAPPER_VALUES)) each(f, values);
  each('timestampList', list(TIMESTAMPS.slice(0, 6)));
  each('durationList', list(DURATIONS.slice(0, 6)));
  each('valueList', list(VALUES));
  each('int64WrapperList', list(['1', 2, 'x']));
  each('stringToValue', map(['a'], VALUES));
  each('stringToTimestamp', map(['a'], TIMESTAMPS.slice(0, 4)));
  each('anyList', list(ANYS.slice(0, 4)));

  // oneof: at most one member; a null scalar member does not count, other nulls do.
  const oneofs: Record<string, unknown>[] = [
    { choiceText: 'a' },
    { choiceNumber: '9' },
    { choiceNested: {} },
    { choiceColor: 'COLOR_BLUE' },
    { choiceColor: 7 },
    { choiceWrapped: 5 },
    { choiceText: 'a', choiceNumber: '1' },
    { choiceText: null, choiceNumber: '1' },
    { choiceNumber: null, choiceText: null },
    { choiceColor: null, choiceText: 'a' },
    { choiceNested: null, choiceText: 'a' },
    { choiceWrapped: null, choiceText: 'a' },
    { choiceWrapped: null },
    { choiceNested: null },
    { choice_text: 'a', choiceNumber: '2' },
    { choiceText: '', choiceNested: {} },
  ];
  oneofs.forEach((o) => cases.push([`oneof ${JSON.stringify(o)}`, o]));

  // proto names, JSON names, json_name.
  cases.push(['proto names', { double_value: 1, int64_list: ['1'], string_to_int32: { a: 1 } }]);
  cases.push(['json_name', { customName: 'x' }]);
  cases.push(['json_name field by proto name', { renamed: 'x' }]);
  cases.push(['both names of one field', { renamed: 'x', customName: 'y' }]);
  cases.push(['both names of one field, one null', { int32_value: null, int32Value: 5 }]);
  cases.push([
    'everything at once',
    {
      doubleValue: 'NaN',
      floatValue: -1.5,
      int32Value: '-7',
      int64Value: 9007199254740991,
      uint64Value: '18446744073709551615',
      sint64Value: '-9223372036854775808',
      fixed64Value: 1,
      bytesValue: 'AQID',
      color: 2,
      nested: { name: 'n', child: { count: 1 } },
      maybeInt: 0,
      maybeText: '',
      int32List: [1, '2'],
      colorList: ['COLOR_RED', 9],
      nestedList: [{}, { name: 'x' }],
      int64ToNested: { '-5': { name: 'neg' } },
      boolToString: { false: 'no', true: 'yes' },
      uint32ToColor: { 3: 5 },
      choiceNested: { name: 'c' },
      timestamp: '2024-01-02T03:04:05.5+02:00',
      duration: '-1.5s',
      fieldMask: 'a.bC,d',
      struct: { k: [1, 'two', null] },
      value: null,
      listValue: [true],
      any: { '@type': 'type.googleapis.com/kinds.v1.Nested', name: 'packed' },
      empty: {},
      nullValue: null,
      int64Wrapper: '-1',
      bytesWrapper: '-_8',
      stringToValue: { n: null, o: { p: 1 } },
    },
  ]);

  // Nesting at and past the limit @bufbuild/protobuf enforces (100).
  for (const depth of [98, 99, 100]) {
    let nested: Record<string, unknown> = {};
    for (let i = 0; i < depth; i++) nested = { child: nested };
    cases.push([`Nested ${depth} deep`, { nested }]);
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = [value];
    cases.push([`Value ${depth} deep`, { value }]);
  }
  return cases;
}

describe('strict proto3 JSON, differential against @bufbuild/protobuf fromJson', () => {
  it('accepts and rejects the same bodies, and what both accept is the same message', () => {
    const cases = corpus();
    const disagreements: string[] = [];
    let accepted = 0;
    for (const [label, body] of cases) {
      const ours = viaTsk(body);
      const theirs = viaProtobufEs(body);
      if (ours.ok !== theirs.ok) {
        disagreements.push(
          `${label}: tsk ${ours.ok ? 'accepts' : `rejects (${(ours as any).error})`}, protobuf-es ${theirs.ok ? 'accepts' : `rejects (${(theirs as any).error})`}`,
        );
      } else if (ours.ok && theirs.ok) {
        accepted++;
        try {
          expect(ours.wire).toEqual(theirs.wire);
        } catch {
          disagreements.push(
            `${label}: different values\n  tsk:          ${fmt(ours.wire)}\n  protobuf-es:  ${fmt(theirs.wire)}`,
          );
        }
      }
    }
    // The one known difference: a map keyed "__proto__", which both libraries' messages hold as
    // plain objects and so cannot keep. protobuf-es drops the entry; tsk refuses it with a 400.
    const proto = disagreements.filter((d) => d.startsWith('stringToInt32 = {"__proto__"'));
    for (const d of proto) expect(d).toMatch(/tsk rejects \(.*"__proto__" cannot be held.*\), protobuf-es accepts$/);
    expect(proto.length).toBeGreaterThan(0);
    // And a timestamp whose day or hour does not exist (Feb 30th, 24:00), which protobuf-es rolls
    // over to the next day and tsk refuses, as Go's protojson (Kratos, grpc-gateway) does.
    const calendar = disagreements.filter((d) => /^timestamp = "2024-(02-30|01-01T24)/.test(d));
    for (const d of calendar) expect(d).toMatch(/tsk rejects \(.*not an RFC 3339 timestamp.*\), protobuf-es accepts$/);
    expect(calendar.length).toBe(2);
    // And numbers in strings that JSON does not spell so (`"0x10"`, `"+1"`, `"01"`, whitespace),
    // which protobuf-es reads with Number() or BigInt() and Go's protojson refuses; map keys,
    // which protojson reads with strconv.ParseInt, only in other bases or with a fraction.
    const notJson = disagreements.filter((d) =>
      /tsk rejects \(.*got \\?"(\+1|01|0x10| 1|1 |0x1|1\.0|1e2)\\?"\), protobuf-es accepts$/.test(d),
    );
    expect(notJson.length).toBeGreaterThan(50);
    // And the last nanosecond of 9999: tsk keeps a Timestamp to the millisecond, dropping finer
    // digits; the exact nanos, made a Date (what ts-proto holds), round into the year 10000.
    const lastInstant = disagreements.filter((d) => d.startsWith('timestamp = "9999-12-31T23:59:59.999999999Z"'));
    for (const d of lastInstant) expect(d).toMatch(/tsk: .*"timestamp":"9999-12-31T23:59:59\.999Z"/s);
    // And a null enum member of a oneof, which sets nothing in Go's protojson (as a null scalar
    // does in both); protobuf-es counts it as set.
    const nullEnum = disagreements.filter((d) =>
      /^oneof \{"choiceColor":null,.*tsk accepts, protobuf-es rejects \(.*oneof set multiple times/.test(d),
    );
    expect(nullEnum).toHaveLength(1);
    // And a field mask with an empty path ("a,,b"), which Go's protojson refuses as an invalid
    // path and protobuf-es reads as three paths, one of them empty.
    const emptyPath = disagreements.filter((d) => d.startsWith('fieldMask = "a,,b"'));
    for (const d of emptyPath)
      expect(d).toMatch(/tsk rejects \(.*field mask path "" is not a field path\), protobuf-es accepts$/);
    expect(emptyPath).toHaveLength(1);
    const known = [...proto, ...calendar, ...notJson, ...lastInstant, ...nullEnum, ...emptyPath];
    expect(disagreements.filter((d) => !known.includes(d))).toEqual([]);
    // The corpus exercises both sides of the line.
    expect(accepted).toBeGreaterThan(300);
    expect(cases.length - accepted).toBeGreaterThan(300);
  });

  it("rejects the issue's examples with 400 CODEC naming the field path", () => {
    const examples: [unknown, string][] = [
      [{ int64Value: 'abc' }, 'int64Value'],
      [{ uint64Value: 1.5 }, 'uint64Value'],
      [{ uint64Value: '1e3' }, 'uint64Value'],
      [{ uint64Value: '-1' }, 'uint64Value'],
      [{ stringValue: { a: 1 } }, 'stringValue'],
      [{ color: 1.5 }, 'color'],
      [{ timestamp: 'not a date' }, 'timestamp'],
      [{ stringList: 'x' }, 'stringList'],
      [{ bytesValue: '!!!' }, 'bytesValue'],
      [{ choiceText: 'a', choiceNumber: '1' }, 'choiceNumber'],
      [{ nested: { count: 'x' } }, 'nested.count'],
      [{ nestedList: [{}, { child: { count: 1.5 } }] }, 'nestedList[1].child.count'],
      [{ stringToInt32: { k: 'x' } }, 'stringToInt32["k"]'],
    ];
    for (const [body, field] of examples) {
      const err = (() => {
        try {
          bindRequest(echo, [], undefined, body);
        } catch (e) {
          return e;
        }
      })() as any;
      expect(isServiceError(err), JSON.stringify(body)).toBe(true);
      expect(err.toJSON()).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field } });
      expect(err.message).toContain(field);
    }
  });

  it('reads an enum name the proto does not declare as nothing, as protojson with DiscardUnknown: field unset, item and entry dropped', () => {
    const message = bindRequest(echo, [], undefined, {
      color: 'COLOR_NOPE',
      colorList: ['COLOR_NOPE', 9, 'COLOR_RED', 'COLOR_LATER'],
      uint32ToColor: { 1: 'COLOR_NOPE', 2: 'COLOR_BLUE', 3: 11 },
      choiceColor: 'COLOR_NOPE',
      stringValue: 'kept',
    }) as Record<string, unknown>;
    const wire = AllKinds.decode(AllKinds.encode(message as never).finish()) as unknown as Record<string, unknown>;
    expect(wire['color']).toBe(0);
    // The number the proto does not name keeps its place among what is kept.
    expect(wire['colorList']).toEqual([9, 1]);
    expect(wire['uint32ToColor']).toEqual({ 2: 2, 3: 11 });
    expect(wire['choiceColor']).toBeUndefined();
    expect(wire['stringValue']).toBe('kept');
  });

  it('names the type URL of an Any it does not know', () => {
    const err = (() => {
      try {
        bindRequest(echo, [], undefined, {
          any: { '@type': 'type.googleapis.com/google.protobuf.Duration', value: '1s' },
        });
      } catch (e) {
        return e;
      }
    })() as any;
    expect(err.toJSON()).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field: 'any' } });
    expect(err.message).toBe(
      'invalid value for any: "type.googleapis.com/google.protobuf.Duration" is not a message type this service knows',
    );
  });

  it('names the field of a query key that goes inside a list', () => {
    const err = (() => {
      try {
        bindRequest(get, ['1'], new URLSearchParams('nestedList.name=x'), undefined);
      } catch (e) {
        return e;
      }
    })() as any;
    expect(err.toJSON()).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field: 'nestedList' } });
    expect(err.message).toContain('nestedList');
  });

  it('writes a response_body field holding its default as that default, as the OpenAPI schema says', () => {
    const defaults: [string, unknown][] = [
      ['string_value', ''],
      ['bytes_value', ''],
      ['bool_value', false],
      ['int32_value', 0],
      ['double_value', 0],
      ['int64_value', '0'],
      ['uint64_value', '0'],
      ['color', 'COLOR_UNSPECIFIED'],
      ['string_list', []],
      ['string_to_int32', {}],
    ];
    for (const [field, value] of defaults) {
      const route = compileRoute({ ...echo.route, responseBody: field });
      expect(encodeResponse(route, AllKinds.fromPartial({})), field).toEqual(value);
    }
  });

  // ts-proto's fromJSON builds a BytesValue with \`new Buffer()\`, which Node deprecates
  // (DEP0005, printed on the service's stderr); the decoder sets those fields itself.
  it('decodes BytesValue fields without the deprecated Buffer constructor', () => {
    const script = path.join(dir, 'bytes-value.ts');
    fs.writeFileSync(
      script,
      `import { bindRequest, compileRoute } from ${JSON.stringify(path.resolve('src/runtime/transport/http/binding.ts'))};
import { KindsHTTPRoutes } from './kinds/v1/kinds_http.ts';
const echo = compileRoute(KindsHTTPRoutes.echo[0]);
const m: any = bindRequest(echo, [], undefined, { bytesWrapper: 'AQID', nested: {}, any: { '@type': 'type.googleapis.com/kinds.v1.AllKinds', bytesWrapper: 'BA==' } });
console.log(JSON.stringify([[...m.bytesWrapper], m.any.typeUrl]));
`,
    );
    const r = spawnSync(process.execPath, ['--throw-deprecation', '--import', 'tsx', script], { encoding: 'utf8' });
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toEqual([[1, 2, 3], 'type.googleapis.com/kinds.v1.AllKinds']);
  });

  it('names paths inside a body bound to one field from the request root', () => {
    const err = (() => {
      try {
        bindRequest(put, ['5'], undefined, { nested: { count: 'x' } });
      } catch (e) {
        return e;
      }
    })() as any;
    expect(err.toJSON()).toMatchObject({ code: 400, reason: 'CODEC', metadata: { field: 'kinds.nested.count' } });
    const ok = bindRequest(put, ['5'], undefined, { int64Value: '7', color: 'COLOR_RED' }) as any;
    const es = fromJson(putDesc, { id: '5', kinds: { int64Value: '7', color: 'COLOR_RED' } }, { registry });
    expect(PutRequest.decode(PutRequest.encode(ok).finish())).toEqual(PutRequest.decode(toBinary(putDesc, es)));
  });

  it('ignores unknown fields, at the top, in nested messages and inside Any, as protobuf-es does when told to', () => {
    const body = {
      unknownTop: 1,
      nested: { name: 'n', mystery: [1] },
      any: { '@type': 'kinds.v1.Nested', name: 'a', extra: true },
      empty: { what: 1 },
    };
    const ours = viaTsk(body);
    const theirs = fromJson(allKindsDesc, structuredClone(body) as any, { registry, ignoreUnknownFields: true });
    expect(ours.ok).toBe(true);
    expect((ours as any).wire).toEqual(AllKinds.decode(toBinary(allKindsDesc, theirs)));
  });

  it("the client's and the server's JSON is proto3 JSON, so they read each other's (Duration, FieldMask, Any, BytesValue)", () => {
    const packed = {
      typeUrl: 'type.googleapis.com/kinds.v1.Nested',
      value: Nested.encode({ name: 'n', count: 2 }).finish(),
    };
    const message = AllKinds.fromPartial({
      fieldMask: ['publish_time', 'author.home_city'],
      duration: { seconds: '90', nanos: 500_000_000 },
      int64Value: '7',
      any: packed,
      bytesWrapper: Buffer.from([1, 2, 3]),
    });
    const sent = JSON.parse(encodeRequest(echo, message).body!);
    expect(sent).toMatchObject({
      fieldMask: 'publishTime,author.homeCity',
      duration: '90.500s',
      int64Value: '7',
      any: { '@type': packed.typeUrl, name: 'n', count: 2 },
      bytesWrapper: 'AQID',
    });
    expect(Buffer.from((bindRequest(echo, [], undefined, structuredClone(sent)) as any).any.value)).toEqual(
      Buffer.from(packed.value),
    );
    expect(viaProtobufEs(sent).ok).toBe(true);
    const back = bindRequest(echo, [], undefined, sent) as any;
    expect(back.fieldMask).toEqual(['publish_time', 'author.home_city']);
    expect(back.duration).toEqual({ seconds: '90', nanos: 500_000_000 });
    expect(encodeResponse(echo, back)).toMatchObject({
      fieldMask: 'publishTime,author.homeCity',
      duration: '90.500s',
      bytesWrapper: 'AQID',
    });
  });

  it('fails to write an Any of a type no route uses, which has no JSON form here, as protojson does; an empty Any is {}', () => {
    const unknown = AllKinds.fromPartial({
      any: { typeUrl: 'type.googleapis.com/foo.Bar', value: Buffer.from([8, 1]) },
    });
    expect(() => encodeResponse(echo, unknown)).toThrow(
      expect.objectContaining({
        code: 500,
        reason: 'CODEC',
        message: expect.stringContaining('"type.googleapis.com/foo.Bar"'),
      }),
    );
    const empty = AllKinds.fromPartial({ any: { typeUrl: '', value: new Uint8Array() } });
    expect(encodeResponse(echo, empty)).toMatchObject({ any: {} });
  });

  it('writes a Timestamp on a whole second without a fraction, as Go protojson does, and milliseconds as three digits', () => {
    const at = (iso: string) =>
      (encodeResponse(echo, AllKinds.fromPartial({ timestamp: new Date(iso) })) as any).timestamp;
    expect(at('2024-01-02T03:04:05Z')).toBe('2024-01-02T03:04:05Z');
    expect(at('2024-01-02T03:04:05.5Z')).toBe('2024-01-02T03:04:05.500Z');
    expect(at('1970-01-01T00:00:00Z')).toBe('1970-01-01T00:00:00Z');
  });

  it('reads a float as the 32-bit value gRPC would carry', () => {
    const m: any = bindRequest(echo, [], undefined, { floatValue: 16777217, doubleValue: 16777217 });
    expect([m.floatValue, m.doubleValue]).toEqual([16777216, 16777217]);
  });

  /** `reason: message` of the error binding a JSON body throws, or false when it binds. */
  const refusal = (text: string) => {
    try {
      bindRequest(echo, [], undefined, JSON.parse(text));
      return false;
    } catch (err) {
      return isServiceError(err) && `${err.reason}: ${err.message}`;
    }
  };

  it('refuses a number JSON.parse made infinite in a Value, Struct or ListValue, as protojson does', () => {
    for (const text of ['{"value":1e400}', '{"struct":{"x":-1e999}}', '{"listValue":[1,1e400]}'])
      expect(refusal(text), text).toMatch(
        /^CODEC: .*a number beyond the range of a double is not a google\.protobuf\.Value/,
      );
  });

  it('refuses the key "__proto__" in a Struct, at any depth, as in a map', () => {
    for (const text of ['{"struct":{"a":1,"__proto__":{"x":true}}}', '{"value":{"deep":[{"__proto__":1}]}}'])
      expect(refusal(text), text).toMatch(
        /^CODEC: .*the key "__proto__" cannot be held by this service's Struct fields/,
      );
  });

  it('refuses to write a Timestamp or Duration protojson would not (500 CODEC), rather than a wrong value', () => {
    const write = (partial: object) => {
      try {
        return encodeResponse(echo, AllKinds.fromPartial(partial));
      } catch (err) {
        return isServiceError(err) ? `${err.code} ${err.reason}: ${err.message}` : err;
      }
    };
    expect(write({ timestamp: new Date('+010000-01-01T00:00:00Z') })).toMatch(/^500 CODEC: .*outside 0001-01-01/);
    expect(write({ timestamp: new Date('-000001-01-01T00:00:00Z') })).toMatch(/^500 CODEC: .*outside 0001-01-01/);
    expect(write({ duration: { seconds: '1', nanos: -5 } })).toMatch(/^500 CODEC: .*opposite signs/);
    expect(write({ duration: { seconds: '315576000001', nanos: 0 } })).toMatch(
      /^500 CODEC: .*outside ±315,576,000,000/,
    );
    expect((write({ duration: { seconds: '-1', nanos: -5 } }) as any).duration).toBe('-1.000000005s');
    expect((write({ timestamp: new Date('9999-12-31T23:59:59.999Z') }) as any).timestamp).toBe(
      '9999-12-31T23:59:59.999Z',
    );
  });

  it('writes the message inside an Any with its unset fields at their defaults, as the message around it', () => {
    const packed = AllKinds.fromPartial({
      any: { typeUrl: 'type.googleapis.com/kinds.v1.Nested', value: Nested.encode({ name: 'n' }).finish() },
    });
    expect((encodeResponse(echo, packed) as any).any).toEqual({
      '@type': 'type.googleapis.com/kinds.v1.Nested',
      name: 'n',
      count: 0,
      child: null,
    });
  });

  // The other direction: what a server answers and a client sends, for every message the
  // corpus builds, is proto3 JSON that protobuf-es reads back as the same message.
  it('writes proto3 JSON that protobuf-es reads back as the same message, for every accepted body', () => {
    const disagreements: string[] = [];
    for (const [label, body] of corpus()) {
      const ours = viaTsk(body);
      // ts-proto holds a Timestamp as a Date: the last nanosecond of year 9999 rounds into 10000.
      if (!ours.ok || label === 'timestamp = "9999-12-31T23:59:59.999999999Z"') continue;
      const message = bindRequest(echo, [], undefined, structuredClone(body));
      const written = {
        answer: JSON.stringify(encodeResponse(echo, message)),
        request: encodeRequest(echo, message).body!,
      };
      for (const [side, text] of Object.entries(written)) {
        try {
          const back = fromJson(allKindsDesc, JSON.parse(text), { registry });
          expect(AllKinds.decode(toBinary(allKindsDesc, back))).toEqual(ours.wire);
        } catch (err) {
          disagreements.push(`${label} (${side}): ${text}\n  ${(err as Error).message.split('\n')[0]}`);
        }
      }
    }
    expect(disagreements).toEqual([]);
  });

  // protobuf-es's Duration pattern is not anchored at its end; protojson (Go) and the
  // proto3 JSON spec reject trailing text, and so does tsk.
  it('rejects trailing text after a Duration, where protobuf-es is lenient', () => {
    expect(viaProtobufEs({ duration: '1sfoo' }).ok).toBe(true);
    expect(viaTsk({ duration: '1sfoo' }).ok).toBe(false);
  });
});

function fmt(value: unknown): string {
  return JSON.stringify(value, (_k, v) =>
    typeof v === 'bigint' ? `${v}n` : v instanceof Map ? Object.fromEntries(v) : v,
  );
}
