// The bundled buf/validate/validate.proto is printed from @bufbuild/protovalidate's own
// descriptor: it must be up to date, and compile back to that very descriptor.
import fs from 'node:fs';
import path from 'node:path';
import { clone, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorProtoSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { file_buf_validate_validate } from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import { describe, expect, it } from 'vitest';
import { compileProtos } from '../../src/proto/compile.js';
import { repoRoot } from '../helpers/cli.js';
// @ts-expect-error a plain ESM script without types
import { printValidateProto } from '../../scripts/validate-proto.js';

const bundled = path.join(repoRoot, 'proto', 'buf', 'validate', 'validate.proto');

/**
 * What a compiler adds that a generated descriptor leaves out: source info, default JSON
 * names, and buf's image metadata (an unknown field 8042 on the file).
 */
function normalized(file: FileDescriptorProto): Uint8Array {
  const copy = clone(FileDescriptorProtoSchema, file);
  copy.sourceCodeInfo = undefined;
  copy.$unknown = copy.$unknown?.filter((u) => u.no !== 8042);
  // proto2 fields: deleting the property unsets it.
  const unsetJsonName = (f: { jsonName?: string }) => delete f.jsonName;
  const visit = (m: FileDescriptorProto['messageType'][number]) => {
    [...m.field, ...m.extension].forEach(unsetJsonName);
    m.nestedType.forEach(visit);
  };
  copy.messageType.forEach(visit);
  copy.extension.forEach(unsetJsonName);
  return toBinary(FileDescriptorProtoSchema, copy);
}

describe('bundled buf/validate/validate.proto', () => {
  it('is what scripts/validate-proto.js prints from the installed @bufbuild/protovalidate', () => {
    expect(fs.readFileSync(bundled, 'utf8')).toBe(printValidateProto());
  });

  it('compiles to the descriptor @bufbuild/protovalidate validates with', async () => {
    const compiled = await compileProtos({
      inputs: [bundled],
      importPaths: [path.join(repoRoot, 'proto')],
      cwd: repoRoot,
    });
    const built = compiled.fileSet.file.find((f) => f.name === 'buf/validate/validate.proto')!;
    expect(built).toBeDefined();
    expect(Buffer.from(normalized(built)).equals(Buffer.from(normalized(file_buf_validate_validate.proto)))).toBe(true);
  }, 60_000);
});
