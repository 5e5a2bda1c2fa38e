// `<file>_rules.ts`: for each service whose methods take a request with buf.validate
// (protovalidate) rules, a RequestRules the validate middleware runs on HTTP and gRPC.
// A request whose rules all have plain checks (rule-checks.ts) gets a generated check
// function; any other is checked by protovalidate, and for those the file embeds the
// descriptors of the protos the requests come from (protovalidate reads rules from
// descriptors), minus those the runtime has from its packages (the well-known types and
// buf/validate/validate.proto).
import { create, toBinary, type DescFile, type DescService } from '@bufbuild/protobuf';
import { base64Encode } from '@bufbuild/protobuf/wire';
import { FileDescriptorSetSchema, type FileDescriptorProto } from '@bufbuild/protobuf/wkt';
import { fileStem, operationName } from '../../gen/names.js';
import { TsFile } from '../../gen/printer.js';
import type { GeneratedFile, GeneratorOptions } from '../types.js';
import { hasRules, RuleChecks } from './rule-checks.js';

export { hasRules } from './rule-checks.js';

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

/** base64 of a google.protobuf.FileDescriptorSet with `file` and the imports the runtime does not provide. */
export function descriptorSet(file: DescFile): string {
  return base64Encode(
    toBinary(FileDescriptorSetSchema, create(FileDescriptorSetSchema, { file: descriptorFiles(file) })),
  );
}

/**
 * The RequestRules a service's `<file>_rules.ts` exports, imported into `ts`, when some
 * request of the service carries rules; its generated register functions hand it over.
 */
export function importServiceRules(ts: TsFile, service: DescService): string | undefined {
  if (!service.methods.some((m) => hasRules(m.input))) return undefined;
  return ts.generated(`${fileStem(service.file)}_rules`, `${service.name}Rules`);
}

export function generateRules(file: DescFile, options: GeneratorOptions): GeneratedFile | undefined {
  const services = file.services
    .map((s) => ({ service: s, methods: s.methods.filter((m) => hasRules(m.input)) }))
    .filter((s) => s.methods.length > 0);
  if (services.length === 0) return undefined;
  const name = `${fileStem(file)}_rules.ts`;
  const ts = new TsFile(name, { source: file.proto.name, runtime: options.runtime, reserved: ['descriptors'] });
  ts.runtime('middleware/validate.js', 'RequestRules');
  const checks = new RuleChecks(ts);
  // Plain checks where every rule has one; the rest go to protovalidate, which needs the descriptors.
  const entries = services.map(({ service, methods }) => ({
    service,
    methods: methods.map((m) => ({ method: m, check: checks.check(m.input) })),
  }));
  const protovalidate = entries.some((e) => e.methods.some((m) => m.check === undefined));
  const consts = entries.map(({ service, methods: checked }) => {
    const methods = checked.map(({ method, check }) => {
      // A stream of requests reaches middleware as an AsyncIterable: each message is checked as it is read.
      const stream = requestStreams(method) ? ', stream: true' : '';
      return check
        ? `'${operationName(method)}': { check: ${check}${stream} },`
        : `'${operationName(method)}': { message: '${method.input.typeName}', type: ${ts.message(method.input)}${stream} },`;
    });
    const doc = `/** buf.validate rules of ${service.typeName}'s requests, which the validate middleware checks. */`;
    const head = `export const ${service.name}Rules = new RequestRules(`;
    return protovalidate
      ? [doc, head, '  {', ...methods.map((m) => `    ${m}`), '  },', '  descriptors,', ');'].join('\n')
      : [doc, `${head}{`, ...methods.map((m) => `  ${m}`), '});'].join('\n');
  });
  const functions = checks.render();
  return {
    path: name,
    content: ts.print([
      ...(protovalidate
        ? [
            `// The protos these requests are declared in, as a google.protobuf.FileDescriptorSet.`,
            `const descriptors = '${descriptorSet(file)}';`,
            '',
          ]
        : []),
      consts.join('\n\n'),
      ...(functions ? ['', functions] : []),
    ]),
  };
}

function requestStreams(method: DescService['methods'][number]): boolean {
  return method.methodKind === 'client_streaming' || method.methodKind === 'bidi_streaming';
}
