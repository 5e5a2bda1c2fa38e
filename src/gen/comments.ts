// Leading comments and source positions of descriptors from the file's source info. Written here
// rather than imported from @bufbuild/protoplugin, whose entry point loads the
// TypeScript compiler (half a second of every CLI start).
import type {
  DescEnum,
  DescEnumValue,
  DescField,
  DescFile,
  DescMessage,
  DescMethod,
  DescService,
} from '@bufbuild/protobuf';

type Commented = DescMessage | DescEnum | DescEnumValue | DescService | DescMethod;
type Located = Commented | DescField;

/** The path of a descriptor in its FileDescriptorProto, as SourceCodeInfo.Location.path uses it. */
function sourcePath(desc: Located): number[] {
  switch (desc.kind) {
    case 'field':
      return [...sourcePath(desc.parent), 2, desc.parent.fields.indexOf(desc)];
    case 'service':
      return [6, desc.file.services.indexOf(desc)];
    case 'rpc':
      return [...sourcePath(desc.parent), 2, desc.parent.methods.indexOf(desc)];
    case 'message':
      return desc.parent
        ? [...sourcePath(desc.parent), 3, desc.parent.nestedMessages.indexOf(desc)]
        : [4, desc.file.messages.indexOf(desc)];
    case 'enum':
      return desc.parent
        ? [...sourcePath(desc.parent), 4, desc.parent.nestedEnums.indexOf(desc)]
        : [5, desc.file.enums.indexOf(desc)];
    case 'enum_value':
      return [...sourcePath(desc.parent), 2, desc.parent.values.indexOf(desc)];
  }
}

function fileOf(desc: Located): DescFile {
  if (desc.kind === 'field') return desc.parent.file;
  if (desc.kind === 'enum_value') return desc.parent.file;
  if (desc.kind === 'rpc') return desc.parent.file;
  return desc.file;
}

/** The source location of a descriptor, or of a part of it (`within`: a path below its own, e.g. an option). */
function locationOf(desc: Located, within: number[] = []) {
  const path = [...sourcePath(desc), ...within];
  return fileOf(desc).proto.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((v, i) => v === path[i]),
  );
}

export function leadingComment(desc: Located): string | undefined {
  const text = locationOf(desc)?.leadingComments?.trim();
  return text ? text : undefined;
}

/** The comment after a declaration on its line (`FOO = 1; // text`). */
export function trailingComment(desc: Located): string | undefined {
  const text = locationOf(desc)?.trailingComments?.trim();
  return text ? text : undefined;
}

/**
 * A generated method's doc comment: the rpc's own comment, then `extra` (its route, say),
 * then `@deprecated` when the proto marks the rpc so, for editors to strike its calls through.
 */
export function methodDocText(method: DescMethod, extra?: string): string | undefined {
  const parts = [
    leadingComment(method),
    extra,
    method.deprecated ? '@deprecated The proto marks this rpc deprecated.' : undefined,
  ].filter((p) => p !== undefined);
  return parts.length > 0 ? parts.join('\n\n') : undefined;
}

/**
 * Where a descriptor is declared: its proto (as compiled) and 1-based line and column.
 * With `parts` (paths below the descriptor's own), where the first of them that the
 * source has is written, else the descriptor.
 */
export function sourcePosition(desc: Located, ...parts: number[][]): { file: string; line: number; column: number } {
  const span = [...parts, []].map((within) => locationOf(desc, within)).find((l) => l !== undefined)?.span;
  return { file: fileOf(desc).proto.name, line: (span?.[0] ?? 0) + 1, column: (span?.[1] ?? 0) + 1 };
}
