// tsk generates proto3: its messages (ts-proto), JSON mapping and validation keep proto3's
// semantics. A proto2 or editions file would compile, and lose what it says: required
// fields, default values, closed enums, explicit presence of every scalar. Likewise a
// file with protoc-gen-validate's rules compiles, and its rules would never be checked.
import type { DescFile } from '@bufbuild/protobuf';
import type { Diagnostic } from '../proto/diagnostics.js';

/** google.protobuf.Edition's values for the two syntaxes. */
const EDITION_PROTO2 = 998;
const EDITION_PROTO3 = 999;
/** FileDescriptorProto's `syntax` field: buf records an `edition` statement's position under it too. */
const SYNTAX_FIELD = 12;
/** FileDescriptorProto's `dependency` field: one source location per import. */
const DEPENDENCY_FIELD = 3;

/** protoc-gen-validate's options, which Kratos projects often carry. */
const PGV_PROTO = 'validate/validate.proto';

/** Where a file's statement is: its source location's span, 1-based. */
function positionOf(file: DescFile, path: number[]): { line: number; column: number } {
  const span = file.proto.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((p, i) => p === path[i]),
  )?.span;
  return { line: (span?.[0] ?? 0) + 1, column: (span?.[1] ?? 0) + 1 };
}

/** A file to generate that imports protoc-gen-validate: its rules would compile and never be checked. */
export function pgvProblems(file: DescFile): Diagnostic[] {
  const index = file.proto.dependency.indexOf(PGV_PROTO);
  if (index < 0) return [];
  return [
    {
      file: file.proto.name,
      ...positionOf(file, [DEPENDENCY_FIELD, index]),
      message: `tsk does not check protoc-gen-validate's rules ((validate.rules) options): they would compile and never be enforced; write them as protovalidate rules (import "buf/validate/validate.proto", [(buf.validate.field).string.min_len = 1]), docs/validation.md`,
    },
  ];
}

/** A file to generate that is not proto3: one problem at its `syntax` or `edition` line. */
export function syntaxProblems(file: DescFile): Diagnostic[] {
  if (file.edition === EDITION_PROTO3) return [];
  const proto2 = file.edition === EDITION_PROTO2;
  const what = proto2 ? 'syntax = "proto2"' : `edition = "${file.proto.edition === 1000 ? '2023' : file.edition}"`;
  return [
    {
      file: file.proto.name,
      ...positionOf(file, [SYNTAX_FIELD]),
      message: `tsk generates proto3 only: a file with ${what} would lose its required fields, default values and closed enums in the generated code; write syntax = "proto3" (its wire format is the same for the fields both can say)`,
    },
  ];
}
