// `<file>_rules.ts`: for each service whose methods take a request with buf.validate
// (protovalidate) rules, a RequestRules the validate middleware runs on HTTP and gRPC.
// It embeds the descriptors of the protos the requests come from (protovalidate reads
// rules from descriptors), minus those the runtime has from its packages (the
// well-known types and buf/validate/validate.proto).
import { create, hasExtension, toBinary, type DescFile, type DescMessage, type DescService } from '@bufbuild/protobuf';
import {
  field as fieldRules,
  message as messageRules,
  oneof as oneofRules,
} from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import { base64Encode } from '@bufbuild/protobuf/wire';
import { FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { fileStem, operationName } from '../../gen/names.js';
import { TsFile } from '../../gen/printer.js';
import type { GeneratedFile, GeneratorOptions } from '../types.js';

/** Whether a message, or any message in its fields, has protovalidate rules. */
export function hasRules(message: DescMessage, seen = new Set<DescMessage>()): boolean {
  if (seen.has(message)) return false;
  seen.add(message);
  if (message.proto.options && hasExtension(message.proto.options, messageRules)) return true;
  if (message.oneofs.some((o) => o.proto.options !== undefined && hasExtension(o.proto.options, oneofRules)))
    return true;
  return message.fields.some((f) => {
    if (f.proto.options && hasExtension(f.proto.options, fieldRules)) return true;
    const inner =
      f.fieldKind === 'message'
        ? f.message
        : (f.fieldKind === 'list' || f.fieldKind === 'map') && f.message
          ? f.message
          : undefined;
    return inner !== undefined && hasRules(inner, seen);
  });
}

const PROVIDED = /^(google\/protobuf\/|buf\/validate\/validate\.proto$)/;

/** The files to embed: `file` and everything it imports that the runtime does not provide, dependencies first. */
function descriptorFiles(file: DescFile): FileDescriptorProto[] {
  const out: FileDescriptorProto[] = [];
  const seen = new Set<string>();
  const visit = (f: DescFile) => {
    if (seen.has(f.proto.name) || PROVIDED.test(f.proto.name)) return;
    seen.add(f.proto.name);
    f.dependencies.forEach(visit);
    out.push({ ...f.proto, sourceCodeInfo: undefined });
  };
  visit(file);
  return out;
}

export function generateRules(file: DescFile, options: GeneratorOptions): GeneratedFile | undefined {
  const services = file.services
    // A stream of requests reaches middleware as an AsyncIterable, not one message to check.
    .map((s) => ({ service: s, methods: s.methods.filter((m) => !requestStreams(m) && hasRules(m.input)) }))
    .filter((s) => s.methods.length > 0);
  if (services.length === 0) return undefined;
  const name = `${fileStem(file)}_rules.ts`;
  const ts = new TsFile(name, { source: file.proto.name, runtime: options.runtime, reserved: ['descriptors'] });
  ts.runtime('middleware/validate.js', 'RequestRules');
  const set = create(FileDescriptorSetSchema, { file: descriptorFiles(file) });
  const consts = services.map(({ service, methods }) => renderService(service, methods, ts));
  return {
    path: name,
    content: ts.print([
      `// The protos these requests are declared in, as a google.protobuf.FileDescriptorSet.`,
      `const descriptors = '${base64Encode(toBinary(FileDescriptorSetSchema, set))}';`,
      '',
      consts.join('\n\n'),
    ]),
  };
}

function renderService(service: DescService, methods: DescService['methods'], imports: TsFile): string {
  return [
    `/** protovalidate rules of ${service.typeName}'s requests: pass to the validate middleware. */`,
    `export const ${service.name}Rules = new RequestRules(descriptors, {`,
    ...methods.map(
      (m) => `  '${operationName(m)}': { message: '${m.input.typeName}', type: ${imports.message(m.input)} },`,
    ),
    '});',
  ].join('\n');
}

function requestStreams(method: DescService['methods'][number]): boolean {
  return method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming';
}
