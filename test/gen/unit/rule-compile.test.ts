// Which buf.validate rules code generation refuses: one that cannot compile (a CEL syntax
// error), not one that only fails on some values (a division, on the empty message it tries).
import { describe, expect, it } from 'vitest';
import { uncompilableRules } from '../../../src/gen/rule-compile.js';
import { compileInline } from './compile-inline.js';

const proto = (expression: string) => `syntax = "proto3";
package p.v1;
import "buf/validate/validate.proto";
message Div {
  option (buf.validate.message).cel = { id: "ratio", message: "too large", expression: "${expression}" };
  int32 a = 1;
  int32 b = 2;
}
service S {
  rpc Do(Div) returns (Div);
}
`;

describe('uncompilableRules', () => {
  it('lets through a rule that fails only on some values', async () => {
    const input = await compileInline({ 'p/v1/div.proto': proto('this.a / this.b < 10') });
    expect(await uncompilableRules(input.files[0]!)).toEqual([]);
  }, 60_000);

  it('reports a rule that cannot compile, at its message', async () => {
    const input = await compileInline({ 'p/v1/div.proto': proto('this.a / < 10') });
    const problems = await uncompilableRules(input.files[0]!);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({
      line: 4,
      message: expect.stringMatching(/^p\.v1\.Div: a buf\.validate rule cannot be compiled: /),
    });
  }, 60_000);
});
