// proto3 JSON forms of scalars and of the well-known types written as strings.
// Each reader takes a JSON value and returns it in the shape ts-proto's fromJSON
// reads, or a reason it is not valid. The accepted forms are those of
// @bufbuild/protobuf's fromJson (the differential test holds us to it).
import type { ScalarKind } from './route.js';

/** A value that does not decode: why, in words that follow "field x: ". */
export class Invalid {
  constructor(readonly reason: string) {}
}

const INT32_MIN = -2147483648;
const INT32_MAX = 2147483647;
const UINT32_MAX = 4294967295;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

export function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value.length > 40 ? 'a long string' : JSON.stringify(value);
  return String(value);
}

const isWellFormed = (String.prototype as { isWellFormed?: () => boolean }).isWellFormed;

export type ScalarReader = (value: unknown) => unknown;

const SCALAR_READERS: Record<ScalarKind, ScalarReader> = {
  string: (value) => {
    if (typeof value !== 'string') return new Invalid(`expected a string, got ${describe(value)}`);
    if (isWellFormed && !isWellFormed.call(value)) return new Invalid('string is not valid UTF-16 (lone surrogate)');
    return value;
  },
  bool: (value) => (typeof value === 'boolean' ? value : new Invalid(`expected true or false, got ${describe(value)}`)),
  bytes: (value) => {
    if (typeof value !== 'string') return new Invalid(`expected base64 bytes, got ${describe(value)}`);
    return decodeBase64(value) ?? new Invalid('expected base64 or base64url bytes');
  },
  double: (value) => readFloat(value, false),
  float: (value) => readFloat(value, true),
  int32: (value) => readInt32(value, INT32_MIN, INT32_MAX, 'a 32-bit integer'),
  sint32: (value) => readInt32(value, INT32_MIN, INT32_MAX, 'a 32-bit integer'),
  sfixed32: (value) => readInt32(value, INT32_MIN, INT32_MAX, 'a 32-bit integer'),
  uint32: (value) => readInt32(value, 0, UINT32_MAX, 'an unsigned 32-bit integer'),
  fixed32: (value) => readInt32(value, 0, UINT32_MAX, 'an unsigned 32-bit integer'),
  int64: (value) => readInt64(value, INT64_MIN, INT64_MAX, 'a 64-bit integer'),
  sint64: (value) => readInt64(value, INT64_MIN, INT64_MAX, 'a 64-bit integer'),
  sfixed64: (value) => readInt64(value, INT64_MIN, INT64_MAX, 'a 64-bit integer'),
  uint64: (value) => readInt64(value, 0n, UINT64_MAX, 'an unsigned 64-bit integer'),
  fixed64: (value) => readInt64(value, 0n, UINT64_MAX, 'an unsigned 64-bit integer'),
};

/** The reader of one scalar kind: the value as ts-proto's fromJSON takes it, or Invalid. */
export function scalarReader(kind: ScalarKind): ScalarReader {
  return SCALAR_READERS[kind];
}

export function readScalar(kind: ScalarKind, value: unknown): unknown {
  return SCALAR_READERS[kind](value);
}

/**
 * A number in a string as JSON spells numbers (proto3 JSON's quoted form): `Number()` would
 * also take `0x10`, `0b11`, `+5`, `012` and surrounding whitespace, which protojson refuses.
 */
const JSON_NUMBER = /^-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?$/;
/** An integer in a string, as JSON spells it: no sign but `-`, no leading zeros, no exponent. */
const JSON_INTEGER = /^-?(?:0|[1-9]\d*)$/;

/** Numbers, exponent notation, numeric strings, and "NaN"/"Infinity"/"-Infinity" as strings only. */
function readFloat(value: unknown, single: boolean): number | Invalid {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (value === 'NaN') return NaN;
  else if (value === 'Infinity') return Infinity;
  else if (value === '-Infinity') return -Infinity;
  else if (typeof value === 'string' && JSON_NUMBER.test(value)) n = Number(value);
  else return new Invalid(`expected a number, got ${describe(value)}`);
  if (!Number.isFinite(n)) return new Invalid(`expected a number, got ${describe(value)}`);
  if (!single) return n;
  // A float holds 32 bits: the handler sees the value gRPC would carry (16777217 is 16777216).
  const rounded = Math.fround(n);
  if (!Number.isFinite(rounded)) return new Invalid(`${describe(value)} is out of range for a float`);
  return rounded;
}

function readInt32(value: unknown, min: number, max: number, what: string): number | Invalid {
  let n: number;
  if (typeof value === 'number') n = value;
  else if (typeof value === 'string' && JSON_NUMBER.test(value)) n = Number(value);
  else return new Invalid(`expected ${what}, got ${describe(value)}`);
  if (!Number.isInteger(n)) return new Invalid(`expected ${what}, got ${describe(value)}`);
  if (n < min || n > max) return new Invalid(`${describe(value)} is out of range for ${what}`);
  return n === 0 ? 0 : n; // no -0
}

/** Decimal integers short enough to be in range whatever their sign: the common case, no BigInt needed. */
const SHORT_CANONICAL = /^(?:0|-?[1-9]\d{0,14})$/;

/** Strings or numbers that are integers within range; returned as a canonical decimal string. */
function readInt64(value: unknown, min: bigint, max: bigint, what: string): string | Invalid {
  if (typeof value === 'string' && SHORT_CANONICAL.test(value) && (min < 0n || value[0] !== '-')) return value;
  if (typeof value === 'number' && Number.isSafeInteger(value) && (value >= 0 || min < 0n))
    return String(value === 0 ? 0 : value);
  if (typeof value !== 'number' && !(typeof value === 'string' && JSON_INTEGER.test(value))) {
    return new Invalid(`expected ${what}, got ${describe(value)}`);
  }
  let n: bigint;
  try {
    n = BigInt(value);
  } catch {
    return new Invalid(`expected ${what}, got ${describe(value)}`);
  }
  if (n < min || n > max) return new Invalid(`${describe(value)} is out of range for ${what}`);
  return n.toString();
}

/** The key of a JSON map entry, for a map whose keys are `kind`. */
export function readMapKey(kind: ScalarKind, key: string): { key: string | boolean; dedupe: unknown } | Invalid {
  if (kind !== 'bool' && kind !== 'string') {
    // An integer key is read as Go's strconv.ParseInt reads it (protojson's map keys): a sign
    // and leading zeros are taken, other bases and whitespace are not.
    if (!/^[+-]?\d+$/.test(key)) return new Invalid(`map key: expected an integer, got ${describe(key)}`);
    key = key.replace(/^\+/, '').replace(/^(-?)0+(?=\d)/, '$1');
    if (key === '-0') key = '0';
  }
  switch (kind) {
    case 'bool':
      if (key === 'true') return { key: true, dedupe: true };
      if (key === 'false') return { key: false, dedupe: false };
      return new Invalid(`map key ${describe(key)} is not true or false`);
    case 'string':
      return { key, dedupe: key };
    case 'int32':
    case 'sint32':
    case 'sfixed32':
    case 'uint32':
    case 'fixed32': {
      const n = readScalar(kind, key);
      if (n instanceof Invalid) return new Invalid(`map key: ${n.reason}`);
      return { key: String(n), dedupe: n };
    }
    default: {
      const n = readScalar(kind, key);
      if (n instanceof Invalid) return new Invalid(`map key: ${n.reason}`);
      return { key: n as string, dedupe: key };
    }
  }
}

// ---------------------------------------------------------------- bytes

const BASE64_VALUES = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'
  .split('')
  .forEach((c, i) => (BASE64_VALUES[c.charCodeAt(0)] = i));
BASE64_VALUES['-'.charCodeAt(0)] = 62;
BASE64_VALUES['_'.charCodeAt(0)] = 63;

/**
 * Standard or URL-safe base64, padded or not. Whitespace is skipped and `=` ends a
 * group (so concatenated padded strings decode); anything else is an error.
 */
export function decodeBase64(text: string): Buffer | undefined {
  const out = Buffer.allocUnsafe(Math.ceil((text.length * 3) / 4));
  let written = 0;
  let group = 0;
  let previous = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const v = code < 128 ? BASE64_VALUES[code]! : -1;
    if (v < 0) {
      if (code === 61 /* = */) group = 0;
      else if (code !== 10 && code !== 13 && code !== 9 && code !== 32) return undefined;
      continue;
    }
    switch (group) {
      case 0:
        break;
      case 1:
        out[written++] = (previous << 2) | (v >> 4);
        break;
      case 2:
        out[written++] = ((previous & 15) << 4) | (v >> 2);
        break;
      case 3:
        out[written++] = ((previous & 3) << 6) | v;
        break;
    }
    previous = v;
    group = (group + 1) & 3;
  }
  if (group === 1) return undefined;
  return out.subarray(0, written);
}

// ---------------------------------------------------------------- well-known types written as strings

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-]\d\d:\d\d))$/;
const TIMESTAMP_MIN_MS = Date.parse('0001-01-01T00:00:00Z');
const TIMESTAMP_MAX_MS = Date.parse('9999-12-31T23:59:59Z');

/** An RFC 3339 timestamp -> {seconds, nanos}, which ts-proto turns into a Date exactly as it does from binary. */
export function readTimestamp(value: unknown): { seconds: string; nanos: number } | Invalid {
  if (typeof value !== 'string') return new Invalid(`expected an RFC 3339 timestamp string, got ${describe(value)}`);
  const m = RFC3339.exec(value);
  // Date.parse rolls a day past the month's end over (2023-02-29 is March 1st), and reads 24:00 as the next day.
  const ms = m && calendarDate(m) ? Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}${m[8] ?? 'Z'}`) : NaN;
  if (Number.isNaN(ms))
    return new Invalid(`${describe(value)} is not an RFC 3339 timestamp such as "2024-01-02T03:04:05Z"`);
  if (ms < TIMESTAMP_MIN_MS || ms > TIMESTAMP_MAX_MS)
    return new Invalid(`${describe(value)} is outside 0001-01-01 to 9999-12-31`);
  // Held as a Date, to the millisecond: finer digits are dropped (rounding could carry
  // 9999-12-31T23:59:59.9999Z into the year 10000, which has no proto3 JSON form).
  return { seconds: String(ms / 1000), nanos: m![7] ? Number(m![7].slice(0, 3).padEnd(3, '0')) * 1_000_000 : 0 };
}

/** Whether the date and time of an RFC3339 match name a real day and time (and offset). */
function calendarDate(m: RegExpExecArray): boolean {
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  const offset = m[8] ? [Number(m[8].slice(1, 3)), Number(m[8].slice(4, 6))] : [0, 0];
  return (
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= daysInMonth &&
    hour <= 23 &&
    minute <= 59 &&
    second <= 59 &&
    offset[0]! <= 23 &&
    offset[1]! <= 59
  );
}

const DURATION = /^(-?\d+)(?:\.(\d{1,9}))?s$/;
const DURATION_MAX_SECONDS = 315_576_000_000;

/** "1.5s" -> {seconds, nanos}; the fraction takes the sign of the seconds. */
export function readDuration(value: unknown): { seconds: string; nanos: number } | Invalid {
  if (typeof value !== 'string')
    return new Invalid(`expected a duration string such as "1.5s", got ${describe(value)}`);
  const m = DURATION.exec(value);
  const seconds = m ? Number(m[1]) : NaN;
  if (!m || Math.abs(seconds) > DURATION_MAX_SECONDS)
    return new Invalid(`${describe(value)} is not a duration such as "1.5s"`);
  const negative = m[1]!.startsWith('-');
  const nanos = m[2] ? Number(m[2].padEnd(9, '0')) : 0;
  return { seconds: String(BigInt(m[1]!)), nanos: negative && nanos !== 0 ? -nanos : nanos };
}

/** "a.b,cD" -> {paths: ["a.b", "c_d"]}: lowerCamelCase paths, comma-separated. */
export function readFieldMask(value: unknown): { paths: string[] } | Invalid {
  if (typeof value !== 'string')
    return new Invalid(`expected a comma-separated field mask string, got ${describe(value)}`);
  if (value === '') return { paths: [] };
  const paths = value.split(',');
  for (let i = 0; i < paths.length; i++) {
    if (paths[i]!.includes('_')) return new Invalid(`field mask path ${describe(paths[i])} must be lowerCamelCase`);
    paths[i] = paths[i]!.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    // As Go's protojson: each path is field names joined by dots (no empty path, as in "a,,b").
    if (!FIELD_PATH.test(paths[i]!))
      return new Invalid(`field mask path ${describe(value.split(',')[i])} is not a field path`);
  }
  return { paths };
}

/** A field mask path once in snake_case: names joined by dots. */
const FIELD_PATH = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
