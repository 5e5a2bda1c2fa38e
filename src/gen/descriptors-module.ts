// api/descriptors.ts: the descriptors of the protos under api/ and of what they import,
// as buf builds them (real file names, imports, fields as declared), for gRPC server
// reflection: grpcurl and Postman describe and call the services from them.
import { create, toBinary } from '@bufbuild/protobuf';
import { FileDescriptorSetSchema, type FileDescriptorSet } from '@bufbuild/protobuf/wkt';
import type { GeneratedFile } from './file.js';
import { GENERATED_HEADER } from './printer.js';

/** Characters of base64 a line holds: within the project's line width. */
const LINE = 100;

/**
 * The module for the files `served` names (the project's own protos under api/) and
 * every file they import, from `fileSet`. Comments are kept for the served files (which
 * `describe` shows) and dropped from their imports (third-party protos, which would
 * otherwise make up most of the module).
 */
export function descriptorsModule(fileSet: FileDescriptorSet, served: ReadonlySet<string>): GeneratedFile {
  const byName = new Map(fileSet.file.map((file) => [file.name, file]));
  const wanted = new Set<string>();
  const visit = (name: string) => {
    if (wanted.has(name)) return;
    wanted.add(name);
    for (const dependency of byName.get(name)?.dependency ?? []) visit(dependency);
  };
  for (const name of served) visit(name);
  // A FileDescriptorSet lists a file after what it imports, as buf builds it: kept in that order.
  const files = fileSet.file
    .filter((file) => wanted.has(file.name))
    .map((file) => (served.has(file.name) ? file : { ...file, sourceCodeInfo: undefined }));
  const encoded = Buffer.from(toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: files })))
    .toString('base64')
    .replace(new RegExp(`.{${LINE}}`, 'g'), '$&\n');
  const content = `${GENERATED_HEADER}
// The descriptors of the protos under api/ and their imports (a FileDescriptorSet, as buf
// builds it), which gRPC server reflection serves. Loaded on the first reflection call.

const ENCODED = \`
${encoded}\`;

/** The FileDescriptorSet's bytes (base64 decoding skips the line breaks). */
export function descriptorSet(): Uint8Array {
  return Buffer.from(ENCODED, 'base64');
}
`;
  return { path: 'api/descriptors.ts', content };
}
