// What generated plain rule checks (`*_rules.ts`) need at run time: string lengths,
// the uniqueness test and map sizes, counted as protovalidate counts them. A request
// reaches protovalidate through its binary encoding, where a lone UTF-16 surrogate
// becomes U+FFFD; wellFormed gives plain checks the same string.

/** Length in Unicode code points (protovalidate's `string.len` family), not UTF-16 units. */
export function codePoints(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // A high surrogate followed by a low one is one code point.
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) i++;
    n++;
  }
  return n;
}

/** Length of the UTF-8 encoding (protovalidate's `string.len_bytes` family); a lone surrogate counts as U+FFFD. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length && isLowSurrogate(s.charCodeAt(i + 1))) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/** `s` with each lone surrogate replaced by U+FFFD, as its UTF-8 encoding reads back. */
export function wellFormed(s: string): string {
  return s.replace(LONE_SURROGATE, '\uFFFD');
}

/** Whether no two values are equal under `===` (so NaNs are all distinct, and -0 equals 0), as `repeated.unique` has it. */
export function unique(values: readonly unknown[]): boolean {
  const seen = new Set<unknown>();
  for (const v of values) {
    if (Number.isNaN(v)) continue;
    if (seen.has(v)) return false;
    seen.add(v);
  }
  return true;
}

/** The entries of a string-keyed map once encoded and read back: keys that differ only in lone surrogates merge. */
export function mapSize(map: Readonly<Record<string, unknown>> | undefined): number {
  if (map === undefined) return 0;
  const keys = Object.keys(map);
  return keys.some((k) => wellFormed(k) !== k) ? new Set(keys.map(wellFormed)).size : keys.length;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c < 0xe000;
}
