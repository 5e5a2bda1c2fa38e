// Strict proto3 JSON for request messages. A request's JSON (body, path and query
// values merged) is checked field by field against the generated layout and
// rewritten in place into the shapes ts-proto's fromJSON reads faithfully; ts-proto
// then builds the message. Anything the proto3 JSON mapping does not allow is a
// 400 CODEC naming the field path as the JSON spells it (`book.pageCount` or
// `book.page_count`, `tags[2]`, `labels["k"]`).
// Unknown field names, and enum names the proto does not declare, are ignored, as
// grpc-gateway and Kratos do by default (protojson's DiscardUnknown).
//
// Where ts-proto's fromJSON cannot express a valid value (an enum number the proto
// does not declare, a google.protobuf.Value set to null) or does it only through a
// deprecated API (a BytesValue), the reader records the value and sets it on the
// built message afterwards.
import { ErrCodec } from '../../errors/catalogue.js';
import type { FieldSchema, MessageSchema, MessageType, ScalarKind } from './route.js';
import {
  describe,
  Invalid,
  readDuration,
  readFieldMask,
  readMapKey,
  readTimestamp,
  scalarReader,
} from './json-scalars.js';

type Json = Record<string, unknown>;
/** Property names (and list indexes, map keys) from the message down to a value. */
type LocalPath = (string | number | boolean)[];
/** A JSON field name, a list index, or a map key (boxed, to tell it from a field name). */
type PathSegment = string | number | { key: string };

/** How deep messages and google.protobuf.Value may nest, as in @bufbuild/protobuf. */
const MAX_DEPTH = 100;

interface ReadContext {
  depth: number;
  /** Where the reader is, as ts-proto property names; only copied when a fixup needs it. */
  at: LocalPath;
  /** Where the reader is, as JSON path segments; only joined when a value fails. */
  names: PathSegment[];
  fixups: { path: LocalPath; value: unknown }[];
}

const WRAPPERS: Record<string, ScalarKind> = {
  'google.protobuf.DoubleValue': 'double',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
};

const VALUE = 'google.protobuf.Value';
const BYTES_VALUE = 'google.protobuf.BytesValue';
const NULL_VALUE = 'google.protobuf.NullValue';

const INT64_KINDS = new Set<ScalarKind>(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/**
 * Integer literals of a parsed body that a JS number does not hold exactly (beyond 2^53),
 * as written, by the object or array holding them and their key. proto3 JSON allows a
 * 64-bit integer as a number, and protojson reads every digit of one; the readers of
 * 64-bit fields read these instead of JSON.parse's rounded number.
 */
const exactIntegers = new WeakMap<object, Map<string, string>>();
/** Only a body with a run of 16 digits can hold such a literal, so only such a body pays for the reviver. */
const LONG_DIGITS = /\d{16}/;
const INTEGER_LITERAL = /^-?\d+$/;

/** JSON.parse for request bodies, keeping the digits of integers beyond a double's precision. */
export function parseJsonBody(text: string): unknown {
  if (!LONG_DIGITS.test(text)) return JSON.parse(text);
  return JSON.parse(text, function (this: object, key: string, value: unknown, context?: { source?: string }) {
    const source = context?.source;
    if (typeof value === 'number' && !Number.isSafeInteger(value) && source && INTEGER_LITERAL.test(source)) {
      let byKey = exactIntegers.get(this);
      if (!byKey) exactIntegers.set(this, (byKey = new Map()));
      byKey.set(key, source);
    }
    return value;
  });
}

/** Lets a shallow copy of a parsed object keep its exact integers. */
export function keepExactIntegers(from: object, to: object): void {
  const byKey = exactIntegers.get(from);
  if (byKey) exactIntegers.set(to, byKey);
}

/** The value at holder[key], with an integer literal's own digits where JSON.parse rounded it. */
function exactly(holder: object, key: string | number, value: unknown): unknown {
  if (typeof value !== 'number' || Number.isSafeInteger(value)) return value;
  return exactIntegers.get(holder)?.get(String(key)) ?? value;
}

/** Whether a field's values are 64-bit integers (scalars or their wrappers). */
function holdsInt64(field: FieldSchema): boolean {
  if (field.kind === 'scalar') return INT64_KINDS.has(field.scalar);
  if (field.kind === 'map') return holdsInt64(field.value);
  return field.kind === 'message' && INT64_KINDS.has(WRAPPERS[field.typeName]!);
}

/** Message types an Any may hold: every message a registered route (request or response) mentions. */
const anyTypes = new Map<string, MessageSchema>();

/** The message type an Any's type URL names, when a registered route mentions it. */
export function anyType(typeUrl: string): MessageSchema | undefined {
  return anyTypes.get(typeUrl.slice(typeUrl.lastIndexOf('/') + 1));
}

/** Makes a message, and every message below it, resolvable inside google.protobuf.Any. */
export function registerAnyTypes(schema: MessageSchema, seen = new Set<MessageSchema>()): void {
  if (seen.has(schema)) return;
  seen.add(schema);
  if (schema.type) anyTypes.set(schema.typeName, schema);
  for (const f of schema.fields) {
    const target = f.kind === 'map' ? f.value : f;
    if (target.kind === 'message') registerAnyTypes(target.schema(), seen);
  }
}

/** Checks proto3 JSON for a message and builds it with ts-proto; `json` is rewritten in place. */
export function decodeMessage<T>(type: MessageType<T>, schema: MessageSchema, json: Json): T {
  const ctx: ReadContext = { depth: 0, at: [], names: [], fixups: [] };
  readMessage(schema, json, ctx);
  return build(type, json, ctx);
}

function build<T>(type: MessageType<T>, json: Json, ctx: ReadContext): T {
  const message = type.fromJSON(json);
  for (const { path, value } of ctx.fixups) setLocal(message, path, value);
  return message;
}

/** `book.pageCount`, `tags[2]`, `labels["k"]`. */
function pathOf(names: readonly PathSegment[]): string {
  let path = '';
  for (const n of names) {
    if (typeof n === 'number') path += `[${n}]`;
    else if (typeof n === 'object') path += `[${JSON.stringify(n.key)}]`;
    else path += path === '' ? n : `.${n}`;
  }
  return path;
}

function fail(ctx: ReadContext, reason: string): Error {
  const field = pathOf(ctx.names) || '(request)';
  return ErrCodec(`invalid value for ${field}: ${reason}`, { field });
}

/** Reads one field's JSON value (already known not to be undefined); returns what replaces it. */
type Read = (value: unknown, ctx: ReadContext) => unknown;

/**
 * What an enum name the proto does not declare reads as: nothing. The field is left unset,
 * the list item or map entry dropped, as protojson reads it with DiscardUnknown (Kratos,
 * grpc-gateway): a newer client's new value reaches an older server as the default, as an
 * unknown field does. A name in the query or the path is still refused (binding.ts).
 */
const DISCARDED = Symbol('discarded enum name');

/** A field as the reader walks it: everything decided once per layout, so the walk stays monomorphic. */
class FieldPlan {
  constructor(
    readonly name: string,
    readonly jsonName: string,
    /** ts-proto's property, for fixups. */
    readonly local: string,
    readonly oneof: string | undefined,
    /** A null scalar or enum in a oneof sets nothing (NullValue's null is a value); any other member given counts as set. */
    readonly nullSkipsOneof: boolean,
    /** Its value is a 64-bit integer, read with every digit it was written with. */
    readonly int64: boolean,
    readonly read: Read,
  ) {}
}

const plans = new WeakMap<MessageSchema, Map<string, FieldPlan>>();

/** A message's field plans by proto name and JSON name, built once per layout. */
function plan(schema: MessageSchema): Map<string, FieldPlan> {
  let byKey = plans.get(schema);
  if (!byKey) {
    byKey = new Map();
    plans.set(schema, byKey);
    for (const f of schema.fields) {
      const p = new FieldPlan(
        f.name,
        f.jsonName,
        f.localName ?? f.jsonName,
        f.oneof,
        f.kind === 'scalar' || (f.kind === 'enum' && f.enumName !== NULL_VALUE),
        !f.repeated && f.kind !== 'map' && holdsInt64(f),
        fieldReader(f),
      );
      byKey.set(f.name, p).set(f.jsonName, p);
    }
  }
  return byKey;
}

function enter(ctx: ReadContext): void {
  if (++ctx.depth > MAX_DEPTH) throw fail(ctx, `nested more than ${MAX_DEPTH} levels deep`);
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function readMessage(schema: MessageSchema, json: unknown, ctx: ReadContext): void {
  enter(ctx);
  if (!isObject(json)) throw fail(ctx, `expected an object, got ${describe(json)}`);
  const byKey = plan(schema);
  let seen: Set<FieldPlan> | undefined;
  let oneofs: Map<string, FieldPlan> | undefined;
  for (const key of Object.keys(json)) {
    const field = byKey.get(key);
    if (field === undefined) continue;
    const value = field.int64 ? exactly(json, key, json[key]) : json[key];
    ctx.names.push(key);
    if (field.name !== field.jsonName) {
      seen ??= new Set();
      if (seen.has(field)) throw fail(ctx, `set twice, as "${field.name}" and "${field.jsonName}"`);
      seen.add(field);
    }
    if (field.oneof !== undefined && !(value === null && field.nullSkipsOneof)) {
      oneofs ??= new Map();
      const other = oneofs.get(field.oneof);
      if (other)
        throw fail(ctx, `oneof "${field.oneof}" already has ${other.jsonName} set; at most one member may be set`);
      oneofs.set(field.oneof, field);
    }
    ctx.at.push(field.local);
    const read = field.read(value, ctx);
    ctx.at.pop();
    ctx.names.pop();
    if (read !== json[key]) json[key] = read;
  }
  ctx.depth--;
}

function fieldReader(field: FieldSchema): Read {
  if (field.kind === 'map') return mapReader(field);
  if (field.kind === 'message' && field.typeName === BYTES_VALUE) return setAfterwards(listOrSingle(field));
  return listOrSingle(field);
}

/**
 * ts-proto's fromJSON builds a BytesValue (a field, or each item of a list) with
 * `new Buffer()`, which Node deprecates (DEP0005, a warning on the service's stderr).
 * The field's decoded value is set on the built message instead, and fromJSON sees none.
 */
function setAfterwards(read: Read): Read {
  return (value, ctx) => {
    const decoded = read(value, ctx);
    if (decoded !== null && decoded !== undefined) ctx.fixups.push({ path: [...ctx.at], value: decoded });
    return undefined;
  };
}

function listOrSingle(field: FieldSchema): Read {
  const single = singleReader(field);
  const nullIsValue = nullAllowed(field);
  if (field.repeated) {
    const int64 = holdsInt64(field);
    return (value, ctx) => {
      if (value === null) return value;
      if (!Array.isArray(value)) throw fail(ctx, `expected an array, got ${describe(value)}`);
      // Made only once an item is dropped; `ctx.at` names the index an item has in what is kept.
      let kept: unknown[] | undefined;
      for (let i = 0; i < value.length; i++) {
        ctx.names.push(i);
        if (value[i] === null && !nullIsValue) throw fail(ctx, 'a list item cannot be null');
        ctx.at.push(kept ? kept.length : i);
        const read = single(int64 ? exactly(value, i, value[i]) : value[i], ctx);
        ctx.at.pop();
        ctx.names.pop();
        if (read === DISCARDED) kept ??= value.slice(0, i);
        else if (kept) kept.push(read);
        else if (read !== value[i]) value[i] = read;
      }
      return kept ?? value;
    };
  }
  const isValue = field.kind === 'message' && field.typeName === VALUE;
  return (value, ctx) => {
    if (value !== null) {
      const read = single(value, ctx);
      return read === DISCARDED ? undefined : read;
    }
    // null leaves a field unset, except where null is the value itself.
    if (isValue) {
      single(value, ctx);
      ctx.fixups.push({ path: [...ctx.at], value: null });
    }
    return value;
  };
}

function mapReader(field: FieldSchema & { kind: 'map' }): Read {
  const keyKind = field.key;
  const single = singleReader(field.value);
  const nullIsValue = nullAllowed(field.value);
  const int64 = holdsInt64(field.value);
  return (value, ctx) => {
    if (value === null) return value;
    if (!isObject(value)) throw fail(ctx, `expected an object (a map), got ${describe(value)}`);
    const out: Json = {};
    const keys = new Set<unknown>();
    for (const rawKey of Object.keys(value)) {
      ctx.names.push({ key: rawKey });
      const key = readMapKey(keyKind, rawKey);
      if (key instanceof Invalid) throw fail(ctx, key.reason);
      if (keys.has(key.dedupe)) throw fail(ctx, 'duplicate map key');
      // ts-proto's messages hold a map as a plain object, where this key would set the prototype.
      if (key.key === '__proto__') throw fail(ctx, 'the key "__proto__" cannot be held by this service\'s map fields');
      keys.add(key.dedupe);
      const entry = int64 ? exactly(value, rawKey, value[rawKey]) : value[rawKey];
      if (entry === null && !nullIsValue) throw fail(ctx, 'a map value cannot be null');
      // ts-proto reads bool keys with Boolean(key): false is written as the empty string.
      const written = key.key === false ? '' : String(key.key);
      ctx.at.push(key.key);
      const read = single(entry, ctx);
      if (read !== DISCARDED) out[written] = read;
      ctx.at.pop();
      ctx.names.pop();
    }
    return out;
  };
}

/** Whether null is a value (not "unset") for this field: google.protobuf.Value and NullValue. */
function nullAllowed(field: FieldSchema): boolean {
  return (
    (field.kind === 'message' && field.typeName === VALUE) || (field.kind === 'enum' && field.enumName === NULL_VALUE)
  );
}

/** Reads one value of the field's kind (a list item, a map value, or the field itself). */
function singleReader(field: FieldSchema): Read {
  switch (field.kind) {
    case 'scalar':
      return checked(scalarReader(field.scalar));
    case 'enum':
      return enumReader(field);
    case 'message':
      return messageReader(field);
    case 'map':
      return (_value, ctx) => {
        throw fail(ctx, 'a map cannot hold a map');
      };
  }
}

function checked(read: (value: unknown) => unknown): Read {
  return (value, ctx) => {
    const r = read(value);
    if (r instanceof Invalid) throw fail(ctx, r.reason);
    return r;
  };
}

function enumReader(field: FieldSchema & { kind: 'enum' }): Read {
  const byName = new Map(Object.entries(field.values));
  const numbers = new Set(byName.values());
  const enumName = field.enumName;
  return (value, ctx) => {
    if (value === null) return 0; // only NullValue gets here
    if (typeof value === 'string') {
      return byName.get(value) ?? DISCARDED;
    }
    if (typeof value === 'number' && Number.isInteger(value)) {
      if (value < -2147483648 || value > 2147483647) throw fail(ctx, `${value} is out of range for an enum`);
      // proto3 enums are open: a number the proto does not name is kept, which ts-proto's fromJSON cannot do.
      if (!numbers.has(value)) ctx.fixups.push({ path: [...ctx.at], value });
      return value === 0 ? 0 : value;
    }
    throw fail(ctx, `expected a name or number of ${enumName}, got ${describe(value)}`);
  };
}

function messageReader(field: FieldSchema & { kind: 'message' }): Read {
  const typeName = field.typeName;
  if (!typeName.startsWith('google.protobuf.')) {
    const schema = field.schema;
    return (value, ctx) => {
      readMessage(schema(), value, ctx);
      return value;
    };
  }
  const read = wellKnownReader(typeName);
  // Well-known types count as a level of nesting, as any message does.
  return (value, ctx) => {
    enter(ctx);
    const r = read(value, ctx);
    if (r instanceof Invalid) throw fail(ctx, r.reason);
    ctx.depth--;
    return r;
  };
}

function wellKnownReader(typeName: string): Read {
  const wrapped = WRAPPERS[typeName];
  if (wrapped) {
    const read = scalarReader(wrapped);
    return (value) => read(value);
  }
  switch (typeName) {
    case 'google.protobuf.Timestamp':
      return readTimestamp;
    case 'google.protobuf.Duration':
      return readDuration;
    case 'google.protobuf.FieldMask':
      return readFieldMask;
    case VALUE:
      return readValue;
    case 'google.protobuf.Struct':
      return (value, ctx) =>
        isObject(value) ? readStruct(value, ctx) : new Invalid(`expected an object, got ${describe(value)}`);
    case 'google.protobuf.ListValue':
      return (value, ctx) =>
        Array.isArray(value) ? readList(value, ctx) : new Invalid(`expected an array, got ${describe(value)}`);
    case 'google.protobuf.Any':
      return readAny;
    default: // Empty and the rest: no fields to read
      return (value) => (isObject(value) ? value : new Invalid(`expected an object, got ${describe(value)}`));
  }
}

/**
 * Any JSON value is a google.protobuf.Value, but for a number JSON.parse made infinite
 * (`1e400`): a Value's number is a finite double, as protojson holds it. Only the nesting is
 * bounded otherwise.
 */
function readValue(value: unknown, ctx: ReadContext): unknown {
  enter(ctx);
  if (typeof value === 'number' && !Number.isFinite(value))
    throw fail(ctx, 'a number beyond the range of a double is not a google.protobuf.Value');
  if (Array.isArray(value)) readList(value, ctx);
  else if (value !== null && typeof value === 'object') readStruct(value as Json, ctx);
  ctx.depth--;
  return value;
}

function readStruct(value: Json, ctx: ReadContext): Json {
  for (const key of Object.keys(value)) {
    ctx.names.push(key);
    // As for maps: the handler gets a plain object, where code that copies it by assignment
    // (Object.assign) would take this key for the copy's prototype.
    if (key === '__proto__') throw fail(ctx, 'the key "__proto__" cannot be held by this service\'s Struct fields');
    readValue(value[key], ctx);
    ctx.names.pop();
  }
  return value;
}

function readList(value: unknown[], ctx: ReadContext): unknown[] {
  for (let i = 0; i < value.length; i++) {
    ctx.names.push(i);
    readValue(value[i], ctx);
    ctx.names.pop();
  }
  return value;
}

/** `{"@type": "type.googleapis.com/pkg.Msg", ...fields}` -> ts-proto's {typeUrl, value: bytes}. */
function readAny(value: unknown, ctx: ReadContext): unknown {
  if (!isObject(value)) return new Invalid(`expected an object, got ${describe(value)}`);
  const keys = Object.keys(value);
  if (keys.length === 0) return {};
  const url = value['@type'];
  if (typeof url !== 'string' || url === '') return new Invalid('"@type" is missing or empty');
  const typeName = url.slice(url.lastIndexOf('/') + 1);
  const schema = anyTypes.get(typeName);
  const type = schema?.type?.();
  if (!schema || !type?.encode) {
    // The URL itself, not describe()'s "a long string": type URLs are long, and the name is the point.
    const shown = url.length > 200 ? `${JSON.stringify(url.slice(0, 200))}...` : JSON.stringify(url);
    return new Invalid(`${shown} is not a message type this service knows`);
  }
  const fields: Json = {};
  for (const key of keys) if (key !== '@type') fields[key] = value[key];
  keepExactIntegers(value, fields);
  const inner: ReadContext = { depth: ctx.depth, at: [], names: [...ctx.names], fixups: [] };
  readMessage(schema, fields, inner);
  const bytes = type.encode(build(type, fields, inner)).finish();
  return { typeUrl: `type.googleapis.com/${typeName}`, value: bytes };
}

function setLocal(message: unknown, path: LocalPath, value: unknown): void {
  type Container = Map<unknown, unknown> | Record<string, unknown>;
  let target = message as Container;
  for (let i = 0; i < path.length - 1; i++)
    target = (target instanceof Map ? target.get(path[i]) : target[path[i] as string]) as Container;
  const last = path[path.length - 1]!;
  if (target instanceof Map) target.set(last, value);
  else target[last as string] = value;
}
