// Leading comments of a descriptor from the file's source info. Written here
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

export function leadingComment(desc: Located): string | undefined {
  const path = sourcePath(desc);
  const location = fileOf(desc).proto.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((v, i) => v === path[i]),
  );
  const text = location?.leadingComments?.trim();
  return text ? text : undefined;
}

/** Where a descriptor is declared in its .proto file (1-based), for diagnostics. */
export function sourceLocation(desc: Located): { file: string; line: number; column: number } {
  const path = sourcePath(desc);
  const file = fileOf(desc);
  const location = file.proto.sourceCodeInfo?.location.find(
    (l) => l.path.length === path.length && l.path.every((v, i) => v === path[i]),
  );
  return { file: file.proto.name, line: (location?.span[0] ?? 0) + 1, column: (location?.span[1] ?? 0) + 1 };
}
