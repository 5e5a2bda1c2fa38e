// string.pattern in generated plain checks: a pattern is translated only when the
// JavaScript RegExp means what RE2 (protovalidate's engine, @bufbuild/re2) means; both
// engines are run on the same strings to prove it.
import { RE2JS } from '@bufbuild/re2';
import { describe, expect, it } from 'vitest';
import { jsPattern } from '../../../src/plugins/http/rule-pattern.js';

const SUPPORTED = [
  '',
  '^[A-Z]{3}-[0-9]+$',
  '^[a-z]+(-[0-9]{1,3})?$',
  '^.{2}$',
  '^.*$',
  '^[^a-c\\d]*$',
  '\\d\\D\\w\\W',
  '^(?:ab|c)+?$',
  'a|b|',
  '^[-a]$',
  '^[a-]$',
  '^[\\^\\]\\-]$',
  '\\.\\*\\+\\?\\(\\)\\[\\]\\{\\}\\|\\\\\\/\\^\\$',
  '^/path/[a-z]+$',
  '^é+😀?$',
  '^\\t\\n$',
  '^[^\\n]+$',
  '^x{0,1000}$',
  '(a{2}|b)*',
];

const UNSUPPORTED = [
  '\\s',
  '\\b',
  '(?i)abc',
  '(?P<name>a)',
  '[[:alpha:]]',
  '\\pL',
  '[]a]',
  'a{2}{3}',
  'a**',
  '*a',
  'a{1001}',
  '(a{2}){3}',
  '{',
  'a{,2}',
  '[z-a]',
  '(a',
  'a)',
  '\\1',
  '\\x41',
  '[\\d-z]',
  '\\Q.\\E',
];

const STRINGS = [
  '',
  'a',
  'b',
  'c',
  'd',
  'ab',
  'abc',
  'ABC-1',
  'ABC-',
  'abc-123',
  'abc-1234',
  'x',
  'xx',
  'é',
  'éé',
  '😀',
  'é😀',
  '😀😀',
];
const ALPHABET = [
  'a',
  'b',
  'c',
  'x',
  'A',
  'Z',
  '0',
  '9',
  '٣',
  '-',
  '.',
  '/',
  '\\',
  '^',
  '$',
  ']',
  '\n',
  '\r',
  '\t',
  '\u2028',
  ' ',
  'é',
  '😀',
  '_',
];

/** Deterministic pseudo-random strings over ALPHABET. */
function randomStrings(count: number): string[] {
  let seed = 20;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  return Array.from({ length: count }, () =>
    Array.from({ length: Math.floor(next() * 6) }, () => ALPHABET[Math.floor(next() * ALPHABET.length)]).join(''),
  );
}

describe('jsPattern', () => {
  const inputs = [...STRINGS, ...ALPHABET, ...randomStrings(400)];

  it.each(SUPPORTED)('translates %j to a RegExp that matches exactly what RE2 matches', (pattern) => {
    const source = jsPattern(pattern);
    expect(source).toBeDefined();
    const js = new RegExp(source!, 'u');
    const re2 = RE2JS.compile(pattern);
    const differ = inputs.filter((s) => js.test(s) !== re2.test(s));
    expect(differ).toEqual([]);
  });

  it.each(UNSUPPORTED)('leaves %j to protovalidate', (pattern) => {
    expect(jsPattern(pattern)).toBeUndefined();
  });
});
