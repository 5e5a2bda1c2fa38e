// tsk generates proto3: its messages (ts-proto), JSON mapping and validation keep proto3's
// semantics. A proto2 or editions file would compile, and lose what it says: required
// fields, default values, closed enums, explicit presence of every scalar.
import type { DescFile } from '@bufbuild/protobuf';
import type { Diagnostic } from '../proto/diagnostics.js';

/** google.protobuf.Edition's values for the two syntaxes. */
const EDITION_PROTO2 = 998;
const EDITION_PROTO3 = 999;
/** FileDescriptorProto's `syntax` field: buf records an `edition` statement's position under it too. */
const SYNTAX_FIELD = 12;

/** A file to generate that is not proto3: one problem at its `syntax` or `edition` line. */
export function syntaxProblems(file: DescFile): Diagnostic[] {
  if (file.edition === EDITION_PROTO3) return [];
  const proto2 = file.edition === EDITION_PROTO2;
  const span = file.proto.sourceCodeInfo?.location.find((l) => l.path.length === 1 && l.path[0] === SYNTAX_FIELD)?.span;
  const what = proto2 ? 'syntax = "proto2"' : `edition = "${file.proto.edition === 1000 ? '2023' : file.edition}"`;
  return [
    {
      file: file.proto.name,
      line: (span?.[0] ?? 0) + 1,
      column: (span?.[1] ?? 0) + 1,
      message: `tsk generates proto3 only: a file with ${what} would lose its required fields, default values and closed enums in the generated code; write syntax = "proto3" (its wire format is the same for the fields both can say)`,
    },
  ];
}
