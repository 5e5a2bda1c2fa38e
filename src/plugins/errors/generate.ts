// protoc-gen-tsk-errors: for every enum carrying the errors extension
// (errors/errors.proto), `<file>_errors.ts` with one `isX(err)` and one
// `errorX(message?, metadata?)` per value, as Kratos's protoc-gen-go-errors does.
import { getExtension, hasExtension, type DescEnum, type DescEnumValue, type DescMessage } from '@bufbuild/protobuf';
import { code as codeOption, default_code as defaultCodeOption } from '../../gen/pb/errors/errors_pb.js';
import { leadingComment } from '../../gen/comments.js';
import { fileStem } from '../../gen/names.js';
import { commentSafe, TsFile } from '../../gen/printer.js';
import type { GeneratedFile, Generator } from '../types.js';

const FALLBACK_CODE = 500;

export const generateErrors: Generator = ({ files, options }) => {
  const out: GeneratedFile[] = [];
  for (const file of files) {
    const enums = allEnums(file.enums, file.messages).filter(isErrorEnum);
    if (enums.length === 0) continue;
    const name = `${fileStem(file)}_errors.ts`;
    const ts = new TsFile(name, { source: file.proto.name, runtime: options.runtime });
    for (const n of ['isServiceError', 'newError']) ts.runtime('errors/errors.js', n);
    for (const n of ['Metadata', 'ServiceError']) ts.runtime('errors/errors.js', n, { type: true });
    const blocks = enums.map(renderEnum);
    out.push({ path: name, content: ts.print([blocks.join('\n\n')]) });
  }
  return { files: out, problems: [] };
};

function allEnums(enums: readonly DescEnum[], messages: readonly DescMessage[]): DescEnum[] {
  const out = [...enums];
  for (const m of messages) out.push(...allEnums(m.nestedEnums, m.nestedMessages));
  return out;
}

/** An enum of error reasons: it sets `(errors.default_code)`, or a value sets `(errors.code)`. */
function isErrorEnum(e: DescEnum): boolean {
  if (e.proto.options && hasExtension(e.proto.options, defaultCodeOption)) return true;
  return e.values.some((v) => v.proto.options && hasExtension(v.proto.options, codeOption));
}

function codeOf(value: DescEnumValue, enumDefault: number | undefined): number {
  const options = value.proto.options;
  if (options && hasExtension(options, codeOption)) return getExtension(options, codeOption);
  return enumDefault ?? FALLBACK_CODE;
}

function renderEnum(e: DescEnum): string {
  const options = e.proto.options;
  const enumDefault =
    options && hasExtension(options, defaultCodeOption) ? getExtension(options, defaultCodeOption) : undefined;
  return e.values
    .map((value) => {
      const code = codeOf(value, enumDefault);
      const pascal = pascalCase(value.name);
      const comment = commentSafe(leadingComment(value)?.replace(/\s+/g, ' ') ?? '');
      const defaultMessage = comment || value.name;
      return [
        `/** ${value.name} (${e.typeName}) has HTTP code ${code}.${comment ? ` ${comment}` : ''} */`,
        `export function is${pascal}(err: unknown): boolean {`,
        `  return isServiceError(err) && err.reason === '${value.name}' && err.code === ${code};`,
        '}',
        '',
        `export function error${pascal}(message = ${JSON.stringify(defaultMessage)}, metadata?: Metadata): ServiceError {`,
        `  return newError(${code}, '${value.name}', message, metadata);`,
        '}',
      ].join('\n');
    })
    .join('\n\n');
}

/** USER_NOT_FOUND -> UserNotFound; already-Pascal names keep their shape. */
export function pascalCase(name: string): string {
  if (!name.includes('_') && name !== name.toUpperCase()) return name.charAt(0).toUpperCase() + name.slice(1);
  return name
    .toLowerCase()
    .split('_')
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}
