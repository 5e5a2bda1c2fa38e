// Value checks for configuration: the type check every proto scalar gets, and the
// checks a service adds by key (ranges, addresses, URLs, allowed values). A check
// returns what is wrong, or undefined.
import type { ScalarKind } from '../transport/http/route.js';

/**
 * A check of one key's value. `siblings` is the mapping that holds it (keys as the file
 * wrote them), for a rule across keys. `wholeList`: given a list key's whole value rather
 * than each of its items.
 */
export type Check = ((value: unknown, siblings: Readonly<Record<string, unknown>>) => string | undefined) & {
  wholeList?: boolean;
};

const INT32: [number, number] = [-(2 ** 31), 2 ** 31 - 1];
const UINT32: [number, number] = [0, 2 ** 32 - 1];

/** A value as an error message shows it: strings quoted, other things named by type. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'nothing';
  if (typeof value === 'object') return 'a mapping';
  return String(value);
}

/** Whether a YAML value fits a proto scalar type (after YAML typing: `5` is a number, `"5"` a string). */
export function checkValue(kind: ScalarKind, value: unknown): string | undefined {
  switch (kind) {
    case 'string':
    case 'bytes':
      return typeof value === 'string' ? undefined : `expected a string, got ${describeValue(value)}`;
    case 'bool':
      return typeof value === 'boolean' ? undefined : `expected true or false, got ${describeValue(value)}`;
    case 'double':
    case 'float':
      return typeof value === 'number' && Number.isFinite(value)
        ? undefined
        : `expected a number, got ${describeValue(value)}`;
    case 'int32':
    case 'sint32':
    case 'sfixed32':
      return integerIn(value, INT32);
    case 'uint32':
    case 'fixed32':
      return integerIn(value, UINT32);
    default: {
      // 64-bit integers: a number or a string of digits (proto3 JSON writes them as strings).
      const ok =
        (typeof value === 'number' && Number.isSafeInteger(value)) ||
        (typeof value === 'string' && /^-?\d+$/.test(value));
      if (!ok) return `expected an integer, got ${describeValue(value)}`;
      if (kind.startsWith('u') || kind === 'fixed64')
        return String(value).startsWith('-') ? `must not be negative, got ${value}` : undefined;
      return undefined;
    }
  }
}

function integerIn(value: unknown, [min, max]: [number, number]): string | undefined {
  if (typeof value !== 'number' || !Number.isInteger(value)) return `expected an integer, got ${describeValue(value)}`;
  if (value < min || value > max) return `must be between ${min} and ${max}, got ${value}`;
  return undefined;
}

export const checks = {
  /** A number within [min, max]. */
  range(min: number, max: number): Check {
    return (v) =>
      typeof v === 'number' && v >= min && v <= max
        ? undefined
        : `must be between ${min} and ${max}, got ${describeValue(v)}`;
  },
  /** A listen address, `host:port` (`[::1]:8000` for IPv6), or `:port` for every interface as in Go; port 0-65535. */
  address(): Check {
    return (v) => {
      const m = typeof v === 'string' ? /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]*):(\d{1,5})$/.exec(v) : null;
      if (!m || Number(m[2]) > 65535) return `expected host:port or :port (e.g. 0.0.0.0:8000), got ${describeValue(v)}`;
      return undefined;
    };
  },
  /** An http(s) URL; the empty string too when `optional` (meaning "not set"). */
  url(options: { optional?: boolean } = {}): Check {
    return (v) => {
      if (options.optional && v === '') return undefined;
      if (typeof v === 'string' && /^https?:\/\/[^\s/]+/.test(v) && URL.canParse(v)) return undefined;
      return `expected an http:// or https:// URL, got ${describeValue(v)}`;
    };
  },
  /** A list key that takes one value at most (a Consul agent address), which passes `check`. */
  single(check: Check, why: string): Check {
    const whole: Check = (v, siblings) => {
      const items = Array.isArray(v) ? v : [v];
      if (items.length > 1)
        return `expected one value (${why}), got ${items.length}: ${items.map(describeValue).join(', ')}`;
      return items.length === 1 ? check(items[0], siblings) : undefined;
    };
    return Object.assign(whole, { wholeList: true });
  },
  /** One of a fixed set of values; `why` explains the set when a value is missing from it. */
  oneOf(values: readonly unknown[], why?: string): Check {
    // The empty string is proto3's "not set": accepted when listed, never shown as a choice.
    const shown = values.filter((x) => x !== '').join(', ');
    return (v) =>
      values.includes(v) ? undefined : `expected one of ${shown}, got ${describeValue(v)}${why ? ` (${why})` : ''}`;
  },
};
