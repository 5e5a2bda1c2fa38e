// Turns an HTTP request (path variables, query string, JSON or form body) into a request
// message, and a request message back into path/query/body on the client side.
// Values are first assembled as proto3 JSON, then checked strictly and built by
// proto-json.ts (ts-proto's fromJSON underneath, the authority on message shapes).

import { isServiceError } from '../../errors/errors.js';
import { ErrCodec, ErrResponseCodec } from '../../errors/catalogue.js';
import type { FieldSchema, HttpRoute, MessageSchema, ScalarKind } from './route.js';
import { containsDuration, durationsToJson } from './duration-json.js';
import { containsEnum, enumNumbersToJson } from './enum-json.js';
import { expandTemplate, parseTemplate, type PathTemplate } from './template.js';
import { decodeMessage, keepExactIntegers, registerAnyTypes } from './proto-json.js';
import { defaultJson, withUnpopulated } from './unpopulated-json.js';

type Json = Record<string, unknown>;

/** A route with its template parsed and its field paths resolved once, at registration. */
export interface CompiledRoute<Req = unknown, Res = unknown> {
  route: HttpRoute<Req, Res>;
  template: PathTemplate;
  /** Resolved fields for each template variable. */
  variableFields: FieldSchema[][];
  /**
   * JSON-name paths of the fields the path and body bind (`book.id`, `book`): the query
   * never sets them or anything inside them, but may set their siblings (`book.title`),
   * as grpc-gateway allows.
   */
  boundPaths: string[][];
  bodyField?: FieldSchema | undefined;
  responseBodyField?: FieldSchema | undefined;
  /** Whether the request/response messages hold a Duration, whose ts-proto JSON form needs converting. */
  requestDurations: boolean;
  responseDurations: boolean;
  /** Whether they hold an enum, whose numbers the proto does not name ts-proto's toJSON loses. */
  requestEnums: boolean;
  responseEnums: boolean;
}

export function compileRoute<Req, Res>(route: HttpRoute<Req, Res>): CompiledRoute<Req, Res> {
  const template = parseTemplate(route.path);
  const variableFields = template.variables.map((path) => resolveFieldPath(route.requestSchema, path, route.path));
  const boundPaths = variableFields.map((fields) => fields.map((f) => f.jsonName));
  let bodyField: FieldSchema | undefined;
  if (route.body !== undefined && route.body !== '*') {
    bodyField = resolveFieldPath(route.requestSchema, [route.body], route.path)[0];
    boundPaths.push([bodyField!.jsonName]);
  }
  const responseBodyField = route.responseBody
    ? resolveFieldPath(route.responseSchema, [route.responseBody], route.path)[0]
    : undefined;
  registerAnyTypes(route.requestSchema);
  registerAnyTypes(route.responseSchema);
  return {
    route,
    template,
    variableFields,
    boundPaths,
    bodyField,
    responseBodyField,
    requestDurations: containsDuration(route.requestSchema),
    responseDurations: containsDuration(route.responseSchema),
    requestEnums: containsEnum(route.requestSchema),
    responseEnums: containsEnum(route.responseSchema),
  };
}

function resolveFieldPath(schema: MessageSchema, path: string[], where: string): FieldSchema[] {
  const out: FieldSchema[] = [];
  let current: MessageSchema | undefined = schema;
  for (const name of path) {
    const field: FieldSchema | undefined = current?.fields.find((f) => f.name === name || f.jsonName === name);
    if (!field) throw new Error(`route ${where}: ${schema.typeName} has no field "${path.join('.')}"`);
    out.push(field);
    current = field.kind === 'message' ? field.schema() : undefined;
  }
  return out;
}

// ---------------------------------------------------------------- server side

/**
 * An `application/x-www-form-urlencoded` body, as Kratos accepts one: its keys name
 * fields the way query parameters do (`author.name`, a repeated key per list item),
 * inside the message the route's body fills.
 */
export class FormBody {
  constructor(readonly params: URLSearchParams) {}
}

/**
 * A query string (or form body) as parameters. URLSearchParams keeps a malformed escape
 * (`%zz`) as text and turns bytes that are not UTF-8 into U+FFFD; such a request is
 * refused instead, as the path and the JSON body are.
 */
export function parseQuery(raw: string, where: 'query' | 'form body' = 'query'): URLSearchParams {
  if (raw.includes('%')) {
    for (const part of raw.split(/[&=]/)) {
      try {
        decodeURIComponent(part);
      } catch {
        throw ErrCodec(`'${part}' in the ${where} is not percent-encoded UTF-8`);
      }
    }
  }
  return new URLSearchParams(raw);
}

/** Path variables from a successful match, query string and parsed body -> request message. */
export function bindRequest<Req>(
  compiled: CompiledRoute<Req>,
  pathValues: string[],
  query: URLSearchParams | undefined,
  body: unknown,
): Req {
  const { route } = compiled;
  let json: Json = {};
  if (body instanceof FormBody) json = formJson(compiled, body);
  else if (route.body === '*') {
    if (body !== undefined) {
      if (typeof body !== 'object' || body === null || Array.isArray(body))
        throw ErrCodec('request body must be a JSON object');
      json = { ...(body as Json) };
      keepExactIntegers(body, json);
    }
  } else if (compiled.bodyField && body !== undefined) {
    json[route.body!] = body;
  }
  compiled.variableFields.forEach((fields, i) =>
    setPath(json, fields, compiled.template.variables[i]!, pathValues[i]!, true),
  );
  // With body "*" every field the path leaves comes from the body; query parameters are ignored (grpc-gateway).
  if (query && route.body !== '*') bindQuery(json, route.requestSchema, query, compiled.boundPaths);
  try {
    return decodeMessage(route.request, route.requestSchema, json);
  } catch (err) {
    if (isServiceError(err)) throw err;
    throw ErrCodec(`invalid request: ${(err as Error).message}`);
  }
}

/** A form body as proto3 JSON of the request: the whole message (body "*") or its body field's message. */
function formJson(compiled: CompiledRoute, form: FormBody): Json {
  const { route, bodyField } = compiled;
  if (route.body === undefined) return {};
  let schema = route.requestSchema;
  if (bodyField) {
    if (bodyField.kind !== 'message' || bodyField.repeated)
      throw ErrCodec(`a form body cannot fill "${bodyField.name}"; send it as JSON`);
    schema = bodyField.schema();
  }
  const fields: Json = {};
  // Keys name fields as query parameters do; nothing in the body's message is bound by the path.
  bindQuery(fields, schema, form.params, []);
  return bodyField ? { [route.body]: fields } : fields;
}

function bindQuery(json: Json, schema: MessageSchema, query: URLSearchParams, bound: string[][]): void {
  /** Single-valued fields already set, by JSON path: a second value is refused, as grpc-gateway and Kratos do. */
  let single: Set<string> | undefined;
  for (const key of new Set(query.keys())) {
    const entry = MAP_ENTRY.exec(key);
    if (entry) {
      bindMapEntry(json, schema, entry[1]!, entry[2]!, query.getAll(key), bound);
      continue;
    }
    const spelled = key.split('.');
    const fields = tryResolve(schema, spelled);
    // Unknown parameters are ignored, as grpc-gateway and Kratos do (cache busters, tracking tags).
    if (
      !fields ||
      overlapsBound(
        fields.map((f) => f.jsonName),
        bound,
      )
    )
      continue;
    const values = query.getAll(key);
    const leaf = fields[fields.length - 1]!;
    if (!leaf.repeated) {
      // By JSON path, so `page_size` and `pageSize` are the same field given twice.
      const path = fields.map((f) => f.jsonName).join('.');
      single ??= new Set();
      if (values.length > 1 || single.has(path))
        throw ErrCodec(`invalid value for ${key}: given more than once; the field holds one value`, {
          field: key,
        });
      single.add(path);
    }
    for (const value of values) setPath(json, fields, spelled, value, false);
  }
}

/** A map entry in the query, as grpc-gateway and Kratos read it: `labels[key]=value`, `filter.labels[key]=value`. */
const MAP_ENTRY = /^([^[\]]+)\[([^\]]*)\]$/;

function bindMapEntry(
  json: Json,
  schema: MessageSchema,
  fieldPath: string,
  key: string,
  values: string[],
  bound: string[][],
): void {
  const spelled = fieldPath.split('.');
  const fields = tryResolve(schema, spelled);
  const leaf = fields?.[fields.length - 1];
  // Like any parameter that names no field, one that names no map is ignored.
  if (
    !fields ||
    leaf?.kind !== 'map' ||
    overlapsBound(
      fields.map((f) => f.jsonName),
      bound,
    )
  )
    return;
  const where = `${fieldPath}[${JSON.stringify(key)}]`;
  if (leaf.value.kind === 'message')
    throw ErrCodec(`invalid value for ${where}: a map of messages cannot be bound from the query`, { field: where });
  if (values.length > 1)
    throw ErrCodec(`invalid value for ${where}: given more than once; a map entry holds one value`, { field: where });
  const parent = parentOf(json, fields, spelled, fields.length - 1);
  const name = spelled[spelled.length - 1]!;
  adoptName(parent, leaf, name);
  const map = (parent[name] ??= {});
  if (typeof map !== 'object' || Array.isArray(map))
    throw ErrCodec(`invalid value for ${where}: expected an object`, { field: where });
  // Defined, not assigned: a key named __proto__ is an entry like any other.
  Object.defineProperty(map, key, {
    value: convertString(leaf.value, values[0]!, where),
    enumerable: true,
    writable: true,
    configurable: true,
  });
}

/** Whether a field path is a bound path, lies inside one, or contains one. */
function overlapsBound(path: string[], bound: string[][]): boolean {
  return bound.some((b) => {
    const n = Math.min(b.length, path.length);
    for (let i = 0; i < n; i++) if (b[i] !== path[i]) return false;
    return true;
  });
}

function tryResolve(schema: MessageSchema, path: string[]): FieldSchema[] | undefined {
  try {
    return resolveFieldPath(schema, path, '');
  } catch {
    return undefined;
  }
}

/**
 * Sets a string value at a resolved field path inside a proto3 JSON object, converting it
 * by field kind. The value lands under the names the caller spelled (`spelled`, proto or
 * JSON names), so a value that fails later is named as it was given; the same field under
 * its other name (from a body) gives way, as the path and query win over the body.
 */
function setPath(json: Json, fields: FieldSchema[], spelled: string[], raw: string, fromPath: boolean): void {
  const target = parentOf(json, fields, spelled, fields.length - 1);
  const leaf = fields[fields.length - 1]!;
  const name = spelled[spelled.length - 1]!;
  adoptName(target, leaf, name);
  const where = spelled.join('.');
  const value = convertString(leaf, raw, where);
  if (leaf.repeated && !fromPath) {
    const list = Array.isArray(target[name]) ? (target[name] as unknown[]) : [];
    list.push(value);
    target[name] = list;
  } else if (leaf.repeated) {
    target[name] = raw.split('/').map((part) => convertString(leaf, part, where));
  } else {
    target[name] = value;
  }
}

/**
 * The object that holds the value of `fields[depth]` (the message of `fields[depth - 1]`),
 * made on the way where it is missing: messages only, never a list of them.
 */
function parentOf(json: Json, fields: FieldSchema[], spelled: string[], depth: number): Json {
  let target = json;
  for (let i = 0; i < depth; i++) {
    const f = fields[i]!;
    const name = spelled[i]!;
    if (f.repeated || f.kind !== 'message')
      throw unbindableAt(spelled, i, 'a list of messages cannot be bound from the query');
    adoptName(target, f, name);
    const next = target[name];
    if (typeof next === 'object' && next !== null && !Array.isArray(next)) target = next as Json;
    else if (next === undefined || next === null) target = target[name] = {};
    else throw unbindableAt(spelled, i, 'expected an object');
  }
  return target;
}

/** The CODEC error for a value that cannot be bound at `spelled[0..i]`, named as the caller spelled it. */
function unbindableAt(spelled: string[], i: number, reason: string): Error {
  const where = spelled.slice(0, i + 1).join('.');
  return ErrCodec(`invalid value for ${where}: ${reason}`, { field: where });
}

/**
 * Keeps a field under `name` (its proto or JSON name), moving a value given under the
 * other one there, so it is not set twice.
 */
function adoptName(target: Json, field: FieldSchema, name: string): void {
  if (field.name === field.jsonName) return;
  const other = name === field.name ? field.jsonName : field.name;
  if (Object.hasOwn(target, other)) {
    if (!Object.hasOwn(target, name)) target[name] = target[other];
    delete target[other];
  }
}

const INTEGER = /^-?\d+$/;
const UNSIGNED = /^\d+$/;

/**
 * Converts one string from a path or query into the proto3 JSON value of the field, or
 * throws 400 naming the field as the caller spelled it (`where`), as body errors do.
 */
export function convertString(field: FieldSchema, raw: string, where = field.jsonName): unknown {
  const fail = (what: string) =>
    ErrCodec(`invalid value for ${where}: ${JSON.stringify(raw)} is not ${what}`, { field: where });
  switch (field.kind) {
    case 'scalar':
      return convertScalar(field.scalar, raw, fail);
    case 'enum': {
      if (Object.hasOwn(field.values, raw)) return raw;
      // By number too, any 32-bit one (proto3 enums are open), as in a JSON body and in Kratos's query.
      if (INTEGER.test(raw)) {
        const n = Number(raw);
        if (n >= -2147483648 && n <= 2147483647) return n;
      }
      throw fail(`a value of ${field.enumName}`);
    }
    case 'message': {
      const wrapped = WRAPPERS[field.typeName];
      if (wrapped) return convertScalar(wrapped, raw, fail);
      if (STRING_FORM_WKT.has(field.typeName)) return raw;
      throw fail('allowed here (messages cannot be bound from a string)');
    }
    case 'map':
      throw fail('allowed here (maps cannot be bound from a string)');
  }
}

function convertScalar(kind: ScalarKind, raw: string, fail: (what: string) => Error): unknown {
  switch (kind) {
    case 'string':
    case 'bytes':
      return raw;
    case 'bool':
      if (raw === 'true' || raw === '1') return true;
      if (raw === 'false' || raw === '0') return false;
      throw fail('a bool');
    case 'int64':
    case 'sint64':
    case 'sfixed64':
      if (!INTEGER.test(raw)) throw fail('an integer');
      return raw; // kept as a string: int64 must not lose precision in a JS number
    case 'uint64':
    case 'fixed64':
      if (!UNSIGNED.test(raw)) throw fail('an unsigned integer');
      return raw;
    case 'int32':
    case 'sint32':
    case 'sfixed32': {
      const n = Number(raw);
      if (!INTEGER.test(raw) || n < -2147483648 || n > 2147483647) throw fail('a 32-bit integer');
      return n;
    }
    case 'uint32':
    case 'fixed32': {
      const n = Number(raw);
      if (!UNSIGNED.test(raw) || n > 4294967295) throw fail('an unsigned 32-bit integer');
      return n;
    }
    case 'double':
    case 'float': {
      if (raw === 'NaN' || raw === 'Infinity' || raw === '-Infinity') return raw;
      const n = Number(raw);
      if (raw.trim() === '' || Number.isNaN(n)) throw fail('a number');
      return n;
    }
  }
}

const WRAPPERS: Record<string, ScalarKind> = {
  'google.protobuf.StringValue': 'string',
  'google.protobuf.BytesValue': 'bytes',
  'google.protobuf.BoolValue': 'bool',
  'google.protobuf.Int32Value': 'int32',
  'google.protobuf.UInt32Value': 'uint32',
  'google.protobuf.Int64Value': 'int64',
  'google.protobuf.UInt64Value': 'uint64',
  'google.protobuf.FloatValue': 'float',
  'google.protobuf.DoubleValue': 'double',
};
/** Well-known types whose proto3 JSON form is a plain string. */
const STRING_FORM_WKT = new Set(['google.protobuf.Timestamp', 'google.protobuf.Duration', 'google.protobuf.FieldMask']);

/** The JSON a server writes for a response: the whole message, or only `response_body`, unset fields at their defaults. */
export function encodeResponse<Res>(compiled: CompiledRoute<unknown, Res>, response: Res): unknown {
  const schema = compiled.route.responseSchema;
  let json = compiled.route.response.toJSON(response) as Json;
  if (compiled.responseDurations) durationsToJson(json, schema);
  if (compiled.responseEnums) enumNumbersToJson(response, json, schema);
  json = withUnpopulated(json, schema);
  const field = compiled.responseBodyField;
  // An unset oneof member stays out of the message; as the whole body it is its default.
  return field ? (json[field.jsonName] ?? defaultJson(field)) : json;
}

// ---------------------------------------------------------------- client side

export interface EncodedRequest {
  /** Path and query, ready to append to a base URL. */
  path: string;
  body?: string | undefined;
}

export function encodeRequest<Req>(compiled: CompiledRoute<Req>, request: Req): EncodedRequest {
  const { route } = compiled;
  // toJSON assumes a complete message; complete partial objects first (unset enums would print as UNRECOGNIZED).
  const full = route.request.fromPartial ? route.request.fromPartial(request) : request;
  const json = route.request.toJSON(full) as Json;
  if (compiled.requestDurations) durationsToJson(json, route.requestSchema);
  if (compiled.requestEnums) enumNumbersToJson(full, json, route.requestSchema);
  const values = compiled.variableFields.map((fields) => {
    const value = getPath(json, fields);
    if (value === undefined || value === null || value === '') {
      const field = fields.map((f) => f.name).join('.');
      throw ErrCodec(`${route.operation}: path field "${field}" is empty`, { field });
    }
    return Array.isArray(value) ? value.map(String).join('/') : String(value);
  });
  let path = expandTemplate(compiled.template, values);
  let body: string | undefined;
  if (route.body === '*') {
    const rest = { ...json };
    for (const fields of compiled.variableFields) if (fields.length === 1) delete rest[fields[0]!.jsonName];
    body = JSON.stringify(rest);
  } else if (compiled.bodyField) {
    // An unset body field sends no body, which the server reads as the field left unset
    // ({} would be no value at all for a scalar or a list).
    const value = json[compiled.bodyField.jsonName];
    if (value !== undefined && value !== null) body = JSON.stringify(value);
  }
  if (route.body !== '*') {
    const query = new URLSearchParams();
    for (const [key, value] of Object.entries(json))
      appendQuery(query, [key], value, compiled.boundPaths, fieldNamed(route.requestSchema, key));
    const qs = query.toString();
    if (qs) path += `?${qs}`;
  }
  return { path, body };
}

function getPath(json: Json, fields: FieldSchema[]): unknown {
  let value: unknown = json;
  for (const f of fields) value = (value as Json | undefined)?.[f.jsonName];
  return value;
}

function appendQuery(
  query: URLSearchParams,
  path: string[],
  value: unknown,
  bound: string[][],
  field: FieldSchema | undefined,
): void {
  if (value === undefined || value === null) return;
  // A field the path or body carries is not repeated in the query; a message that holds
  // one is walked, so its other fields still go.
  if (bound.some((b) => b.length === path.length && b.every((p, i) => p === path[i]))) return;
  if (Array.isArray(value)) for (const v of value) appendQuery(query, path, v, bound, field);
  else if (typeof value === 'object' && field?.kind === 'map') {
    // `labels[key]=value`, as the server reads map entries; a map of messages has no query form.
    if (field.value.kind !== 'message')
      for (const [k, v] of Object.entries(value)) query.append(`${path.join('.')}[${k}]`, String(v));
  } else if (typeof value === 'object') {
    const inner = field?.kind === 'message' ? field.schema() : undefined;
    for (const [k, v] of Object.entries(value))
      appendQuery(query, [...path, k], v, bound, inner && fieldNamed(inner, k));
  } else query.append(path.join('.'), String(value));
}

function fieldNamed(schema: MessageSchema, jsonName: string): FieldSchema | undefined {
  return schema.fields.find((f) => f.jsonName === jsonName);
}

/**
 * Rebuilds the full response message from what the server sent, checked as strict
 * proto3 JSON like a request: a malformed response is a CODEC error naming the field.
 */
export function decodeResponse<Res>(compiled: CompiledRoute<unknown, Res>, body: unknown): Res {
  const json = compiled.responseBodyField ? { [compiled.responseBodyField.jsonName]: body } : (body ?? {});
  const { route } = compiled;
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw ErrResponseCodec(`invalid response from ${route.operation}: expected a JSON object`);
  try {
    return decodeMessage(route.response, route.responseSchema, { ...(json as Json) });
  } catch (err) {
    const e = isServiceError(err) ? err : undefined;
    throw ErrResponseCodec(`invalid response from ${route.operation}: ${(err as Error).message}`, e?.metadata);
  }
}
