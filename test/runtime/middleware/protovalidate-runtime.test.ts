// What protovalidate's violations say: a rule that fails on a request's values (a CEL
// division by zero) refuses that request as a violation, 400 VALIDATOR, as Kratos's validate
// middleware does with any validator error (the caller sent the values, so it is not the
// server's error); a field's CEL rule is named by its id.
import { describe, expect, it } from 'vitest';
import { Protovalidate } from '../../../src/runtime/middleware/protovalidate.js';
import { descriptorSet } from '../../../src/plugins/http/rules.js';
import { violationError } from '../../../src/runtime/middleware/validate.js';
import { compileInline } from '../../gen/unit/compile-inline.js';

describe('protovalidate violations', () => {
  it('answers the request with a violation, not a server error', async () => {
    const input = await compileInline({
      'p/v1/div.proto': `syntax = "proto3";
package p.v1;
import "buf/validate/validate.proto";
message Div {
  option (buf.validate.message).cel = { id: "ratio", message: "a is at most ten times b", expression: "this.a / this.b <= 10" };
  int32 a = 1;
  int32 b = 2;
  string note = 3 [(buf.validate.field).cel = { id: "note.no_markup", message: "must not contain <", expression: "!this.contains('<')" }];
}
`,
    });
    const rules = new Protovalidate(descriptorSet(input.files[0]!));
    // a = 5, b = 0: the division fails for these values only.
    const violations = rules.violations('p.v1.Div', Uint8Array.of(0x08, 0x05));
    expect(violations).toEqual([
      { field: '', rule: '', message: expect.stringMatching(/^a rule could not be checked on this request: .*divi/) },
    ]);
    expect(violationError(violations!)).toMatchObject({ code: 400, reason: 'VALIDATOR' });
    // a = 50, b = 2 breaks the rule as a rule; a = 5, b = 1 keeps it.
    expect(rules.violations('p.v1.Div', Uint8Array.of(0x08, 50, 0x10, 2))).toEqual([
      { field: '', rule: 'ratio', message: 'a is at most ten times b' },
    ]);
    expect(rules.violations('p.v1.Div', Uint8Array.of(0x08, 5, 0x10, 1))).toBeUndefined();
    // A field's CEL rule is named by its id, not by its place among the field's rules (cel[0]).
    expect(rules.violations('p.v1.Div', Uint8Array.of(0x08, 5, 0x10, 1, 0x1a, 1, 0x3c))).toEqual([
      { field: 'note', rule: 'note.no_markup', message: 'must not contain <' },
    ]);
  }, 60_000);
});
