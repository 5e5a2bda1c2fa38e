// HTTP answers carry every field of the response, an unset one at its default, as
// Kratos answers them (protojson's EmitUnpopulated): `0`, `""`, `false`, the zero
// enum's name, `[]`, `{}`, and `null` for an unset message. ts-proto's toJSON leaves
// defaults out; this puts them back, in the proto's field order. Members of a oneof
// and proto3 `optional` fields stay out when unset, as protojson leaves them, so "not
// set" is still told apart from "set to the default" where the proto can say so. So
// does an unset google.protobuf.Value, whose null would read back as a set null value.
import type { FieldSchema, MessageSchema, ScalarKind } from './route.js';

type Json = Record<string, unknown>;
type Fill = (json: Json) => Json;

const VALUE = 'google.protobuf.Value';
const INT64_SCALARS = new Set<ScalarKind>(['int64', 'uint64', 'sint64', 'fixed64', 'sfixed64']);

/** The proto3 JSON of a field holding its default (a fresh list or map each time). */
export function defaultJson(field: FieldSchema): unknown {
  if (field.kind === 'map') return {};
  if (field.repeated) return [];
  switch (field.kind) {
    case 'scalar':
      if (field.scalar === 'string' || field.scalar === 'bytes') return '';
      if (field.scalar === 'bool') return false;
      return INT64_SCALARS.has(field.scalar) ? '0' : 0;
    case 'enum':
      if (field.enumName === 'google.protobuf.NullValue') return null;
      return Object.keys(field.values).find((name) => field.values[name] === 0) ?? 0;
    default:
      return null;
  }
}

const fills = new WeakMap<MessageSchema, Fill>();

/**
 * The message's toJSON output with its unpopulated fields, and those of the messages
 * inside it, filled in. Returns `json` itself when nothing was missing.
 */
export function withUnpopulated(json: Json, schema: MessageSchema): Json {
  return fillOf(schema)(json);
}

function fillOf(schema: MessageSchema): Fill {
  let fill = fills.get(schema);
  if (fill) return fill;
  const inner = schema.fields.map(nestedFill);
  const emitted = schema.fields.map(
    (f) => f.oneof === undefined && !f.optional && !(f.kind === 'message' && !f.repeated && f.typeName === VALUE),
  );
  fill = (json) => {
    let complete = true;
    for (let i = 0; i < schema.fields.length; i++) {
      const field = schema.fields[i]!;
      const value = json[field.jsonName];
      if (value === undefined || value === null) {
        if (value === undefined && emitted[i]) complete = false;
        continue;
      }
      const nested = inner[i];
      if (nested) json[field.jsonName] = nested(value);
    }
    if (complete) return json;
    const out: Json = {};
    for (let i = 0; i < schema.fields.length; i++) {
      const field = schema.fields[i]!;
      const value = json[field.jsonName];
      if (value !== undefined) out[field.jsonName] = value;
      else if (emitted[i]) out[field.jsonName] = defaultJson(field);
    }
    return out;
  };
  fills.set(schema, fill);
  return fill;
}

/** How a field's value is filled in below: messages of the service's own types, one, a list or a map of them. */
function nestedFill(field: FieldSchema): ((value: unknown) => unknown) | undefined {
  const leaf = field.kind === 'map' ? field.value : field;
  // Well-known types have JSON forms of their own (strings, plain values); an Any's message is filled where it is unpacked.
  if (leaf.kind !== 'message' || leaf.typeName.startsWith('google.protobuf.')) return undefined;
  // Looked up at the first call: a message may hold itself.
  const one = (value: unknown) => (isObject(value) ? fillOf(leaf.schema())(value) : value);
  if (field.kind === 'map')
    return (value) => {
      if (isObject(value)) for (const key of Object.keys(value)) value[key] = one(value[key]);
      return value;
    };
  if (field.repeated)
    return (value) => {
      if (Array.isArray(value)) for (let i = 0; i < value.length; i++) value[i] = one(value[i]);
      return value;
    };
  return one;
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
