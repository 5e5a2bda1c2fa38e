// The pass over a request body before JSON.parse: what it refuses, and what it leaves alone.
import { describe, expect, it } from 'vitest';
import { jsonShapeProblem } from '../../../../src/runtime/transport/http/json-shape.js';

describe('jsonShapeProblem', () => {
  it.each([
    ['{"name":"a","name":"b"}', 'key "name" appears twice in one object'],
    ['{"a":{"x":1,"y":2,"x":3}}', 'key "x" appears twice in one object'],
    ['[{"k":1},{"k":2,"k":3}]', 'key "k" appears twice in one object'],
    // Escapes are read as JSON.parse reads them.
    ['{"a":1,"\\u0061":2}', 'key "a" appears twice in one object'],
    [`${'['.repeat(101)}${']'.repeat(101)}`, 'nested deeper than 100 levels'],
  ])('refuses %s', (text, problem) => {
    expect(jsonShapeProblem(text, 100)).toBe(problem);
    expect(() => JSON.parse(text)).not.toThrow();
  });

  it.each([
    '{"name":"a","nested":{"name":"b"}}',
    '{"a":"name","b":"name"}',
    '{"list":["a","a"],"m":{"a":1},"n":{"a":1}}',
    '{"quote":"say \\"a\\"","a":1}',
    `${'['.repeat(100)}${']'.repeat(100)}`,
    '{"a":1,"b":',
    '"just a string"',
  ])('leaves %s to the parser', (text) => {
    expect(jsonShapeProblem(text, 100)).toBeUndefined();
  });
});
