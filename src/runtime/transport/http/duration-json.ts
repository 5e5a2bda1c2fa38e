// Well-known types whose ts-proto JSON is not proto3 JSON. proto3 JSON writes a
// Duration as a string of seconds ("1.5s", "-0.000001s") where ts-proto uses the
// message shape {seconds, nanos}, a FieldMask's paths in lowerCamelCase
// ("publishTime") where ts-proto keeps the proto names ("publish_time"), and a
// BytesValue as base64 where ts-proto's toJSON leaves the Buffer itself (which
// JSON.stringify would write as {"type":"Buffer","data":[...]}). The HTTP
// layer converts at its edge: ts-proto's toJSON output into proto3 JSON (what a
// server answers and a client sends), and a Duration's string back into ts-proto's
// shape before fromJSON (what a client reads). Only routes whose messages hold one
// of these anywhere pay for the walk. (Requests a server reads go through
// proto-json.ts instead, which checks every value.)
import { ErrCodec, ErrResponseCodec } from '../../errors/catalogue.js';
import type { FieldSchema, MessageSchema } from './route.js';
import { enumNumbersToJson } from './enum-json.js';
import { anyType } from './proto-json.js';
import { schemaSearch } from './schema-search.js';
import { withUnpopulated } from './unpopulated-json.js';

const DURATION = 'google.protobuf.Duration';
const FIELD_MASK = 'google.protobuf.FieldMask';
const ANY = 'google.protobuf.Any';
const BYTES_VALUE = 'google.protobuf.BytesValue';
const TIMESTAMP = 'google.protobuf.Timestamp';
/** proto3 JSON's Duration range: +-10,000 years in seconds. */
const MAX_SECONDS = 315_576_000_000;
/** The well-known types this file rewrites. */
const REWRITTEN = new Set([DURATION, FIELD_MASK, ANY, BYTES_VALUE, TIMESTAMP]);
const DURATION_STRING = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

type Json = Record<string, unknown>;
type Convert = (value: unknown, field: FieldSchema) => unknown;

/** Whether a Duration, FieldMask, Any, BytesValue or Timestamp appears in this message or any message below it. */
export const containsDuration = schemaSearch(
  (leaf) => leaf.kind === 'message' && REWRITTEN.has(leaf.typeName),
  () => true,
);

/** Rewrites Duration strings in a request or response JSON object into ts-proto's {seconds, nanos}. */
export function durationsFromJson(json: unknown, schema: MessageSchema): void {
  walk(json, schema, DURATION, (value, field) => {
    if (typeof value !== 'string') return value; // already {seconds, nanos}
    const parsed = parseDuration(value);
    if (!parsed) throw ErrCodec(`field "${field.name}": ${JSON.stringify(value)} is not a duration such as "1.5s"`);
    return parsed;
  });
}

/**
 * Rewrites a toJSON result into proto3 JSON: ts-proto's {seconds, nanos} Durations into
 * strings, FieldMask paths into lowerCamelCase, BytesValue Buffers into base64, and a
 * Timestamp on a whole second without its `.000` (Go's protojson writes no fraction there).
 */
export function durationsToJson(json: unknown, schema: MessageSchema): void {
  walk(json, schema, DURATION, (value, field) => {
    if (typeof value !== 'object' || value === null) return value;
    const d = value as { seconds?: string | number; nanos?: number };
    const seconds = String(d.seconds ?? '0');
    const nanos = d.nanos ?? 0;
    const problem = durationProblem(seconds, nanos);
    if (problem) throw ErrResponseCodec(`field "${field.name}": a Duration of ${seconds} s and ${nanos} ns ${problem}`);
    return formatDuration(seconds, nanos);
  });
  walk(json, schema, FIELD_MASK, (value) => (typeof value === 'string' ? fieldMaskToJson(value) : value));
  walk(json, schema, ANY, anyToJson);
  walk(json, schema, TIMESTAMP, (value, field) => {
    if (typeof value !== 'string') return value;
    // Date writes years past 9999 as "+010000-..." and before 1 as "-000001-..." or "0000-...".
    if (!/^(?!0000)\d{4}-/.test(value))
      throw ErrResponseCodec(`field "${field.name}": the Timestamp ${value} is outside 0001-01-01 to 9999-12-31`);
    return value.endsWith('.000Z') ? `${value.slice(0, -5)}Z` : value;
  });
  walk(json, schema, BYTES_VALUE, (value) =>
    value instanceof Uint8Array
      ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64')
      : value,
  );
}

/**
 * ts-proto's {typeUrl, value: base64} -> {"@type": typeUrl, ...fields} for a message type
 * a route mentions, its unset fields at their defaults as in the message around it. Any
 * other type has no proto3 JSON this side can write (its fields are unknown here): the
 * message fails to encode, as it does with protojson.
 */
function anyToJson(value: unknown): unknown {
  const any = value as { typeUrl?: string; value?: string };
  if (typeof any?.typeUrl !== 'string') return value;
  if (any.typeUrl === '') return {};
  const schema = anyType(any.typeUrl);
  const type = schema?.type?.();
  if (!schema || !type?.decode)
    throw ErrResponseCodec(
      `an Any holds ${JSON.stringify(any.typeUrl)}, a message type no route uses, which has no JSON form here`,
    );
  const message = type.decode(Buffer.from(any.value ?? '', 'base64'));
  const inner = type.toJSON(message) as Record<string, unknown>;
  durationsToJson(inner, schema);
  enumNumbersToJson(message, inner, schema);
  return { '@type': any.typeUrl, ...withUnpopulated(inner, schema) };
}

/** "publish_time,author.home_city" -> "publishTime,author.homeCity" */
export function fieldMaskToJson(paths: string): string {
  return paths.replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

/** "1.5s" -> {seconds: "1", nanos: 500000000}; undefined when it is not a valid Duration. */
export function parseDuration(text: string): { seconds: string; nanos: number } | undefined {
  const m = DURATION_STRING.exec(text);
  if (!m) return undefined;
  const seconds = Number(m[2]);
  if (seconds > MAX_SECONDS) return undefined;
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  const negative = m[1] === '-' && (seconds !== 0 || nanos !== 0);
  return { seconds: negative && seconds !== 0 ? `-${seconds}` : String(seconds), nanos: negative ? -nanos : nanos };
}

/** What makes {seconds, nanos} no Duration protojson would write, if anything. */
function durationProblem(seconds: string, nanos: number): string | undefined {
  if (!/^-?\d+$/.test(seconds) || Math.abs(Number(seconds)) > MAX_SECONDS) return 'is outside ±315,576,000,000 seconds';
  if (!Number.isInteger(nanos) || Math.abs(nanos) > 999_999_999) return 'has nanos outside ±999,999,999';
  if ((seconds.startsWith('-') && nanos > 0) || (!seconds.startsWith('-') && seconds !== '0' && nanos < 0))
    return 'has seconds and nanos of opposite signs';
  return undefined;
}

/** {seconds, nanos} -> "1.500s", with 0, 3, 6 or 9 fractional digits as proto3 JSON prints them. */
export function formatDuration(seconds: string, nanos: number): string {
  const negative = seconds.startsWith('-') || nanos < 0;
  const whole = seconds.replace(/^-/, '');
  let frac = '';
  const n = Math.abs(Math.round(nanos));
  if (n !== 0) {
    frac = String(n).padStart(9, '0');
    frac = frac.endsWith('000000') ? frac.slice(0, 3) : frac.endsWith('000') ? frac.slice(0, 6) : frac;
    frac = `.${frac}`;
  }
  return `${negative ? '-' : ''}${whole}${frac}s`;
}

function walk(json: unknown, schema: MessageSchema, typeName: string, convert: Convert): void {
  if (typeof json !== 'object' || json === null || Array.isArray(json) || !containsDuration(schema)) return;
  const object = json as Json;
  for (const field of schema.fields) {
    const target = field.kind === 'map' ? field.value : field;
    if (target.kind !== 'message') continue;
    // ts-proto accepts a field under its JSON name or its proto name.
    for (const key of field.jsonName === field.name ? [field.jsonName] : [field.jsonName, field.name]) {
      const value = object[key];
      if (value === undefined || value === null) continue;
      const each = (v: unknown) => {
        if (target.typeName === typeName) return convert(v, field);
        walk(v, target.schema(), typeName, convert);
        return v;
      };
      if (field.kind === 'map') {
        if (typeof value === 'object' && !Array.isArray(value))
          for (const [k, v] of Object.entries(value as Json)) (value as Json)[k] = each(v);
      } else if (field.repeated) {
        if (Array.isArray(value)) value.forEach((v, i) => (value[i] = each(v)));
      } else {
        object[key] = each(value);
      }
    }
  }
}
