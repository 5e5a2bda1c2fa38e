// protoc-gen-tsk-errors: for every enum carrying the errors extension
// (errors/errors.proto), `<file>_errors.ts` with one `isX(err)` and one
// `errorX(message?, metadata?)` per value, as Kratos's protoc-gen-go-errors does.
// Codes that are not HTTP error statuses, and two values whose helpers would have
// the same name, are mistakes in the proto: reported at the value (at the enum's option
// for a default_code), nothing written.
import { getExtension, hasExtension, type DescEnum, type DescEnumValue, type DescMessage } from '@bufbuild/protobuf';
import { code as codeOption, default_code as defaultCodeOption } from '../../gen/pb/errors/errors_pb.js';
import { leadingComment, sourcePosition, trailingComment } from '../../gen/comments.js';
import { fileStem } from '../../gen/names.js';
import { commentSafe, TsFile } from '../../gen/printer.js';
import type { Diagnostic } from '../../proto/diagnostics.js';
import type { GeneratedFile, Generator } from '../types.js';

const FALLBACK_CODE = 500;

export const generateErrors: Generator = ({ files, options }) => {
  const out: GeneratedFile[] = [];
  const problems: Diagnostic[] = [];
  for (const file of files) {
    const enums = allEnums(file.enums, file.messages).filter(isErrorEnum);
    if (enums.length === 0) continue;
    problems.push(...checkEnums(enums));
    const name = `${fileStem(file)}_errors.ts`;
    // The helpers' names are the file's own; a runtime import they would take (SERVICE_ERROR
    // makes isServiceError) is imported under another name.
    const helpers = enums.flatMap((e) =>
      e.values.flatMap((v) => [`is${pascalCase(v.name)}`, `error${pascalCase(v.name)}`]),
    );
    const ts = new TsFile(name, { source: file.proto.name, runtime: options.runtime, reserved: helpers });
    const runtime: RuntimeNames = {
      isServiceError: ts.runtime('errors/errors.js', 'isServiceError'),
      newError: ts.runtime('errors/errors.js', 'newError'),
      Metadata: ts.runtime('errors/errors.js', 'Metadata', { type: true }),
      ServiceError: ts.runtime('errors/errors.js', 'ServiceError', { type: true }),
    };
    const blocks = enums.map((e) => renderEnum(e, runtime));
    out.push({ path: name, content: ts.print([blocks.join('\n\n')]) });
  }
  return { files: out, problems };
};

/**
 * An error's code is what the HTTP answer's status will be, so it must be a 4xx or 5xx
 * (a 2xx "error" would read as a success to HTTP clients); and the helpers of a file's
 * values share one module, so two values must not give the same name.
 */
function checkEnums(enums: readonly DescEnum[]): Diagnostic[] {
  const problems: Diagnostic[] = [];
  const helpers = new Map<string, DescEnumValue>();
  for (const e of enums) {
    const enumDefault = defaultCodeOf(e);
    // Wrong at the option itself, whether or not a value inherits it; its values are not told again.
    if (enumDefault !== undefined && !isErrorCode(enumDefault))
      problems.push({
        ...sourcePosition(e, [ENUM_OPTIONS, defaultCodeOption.number], [ENUM_OPTIONS]),
        message: `${e.typeName} has (errors.default_code) = ${enumDefault}; an error's code must be 400-599`,
      });
    for (const value of e.values) {
      const code = codeOf(value, enumDefault);
      if (!isErrorCode(code) && hasOwnCode(value, enumDefault))
        problems.push({
          ...sourcePosition(value),
          message: `${value.name} (${e.typeName}) has HTTP code ${code}; an error's code must be 400-599`,
        });
      const name = pascalCase(value.name);
      const earlier = helpers.get(name);
      if (earlier)
        problems.push({
          ...sourcePosition(value),
          message: `${e.typeName}.${value.name} and ${earlier.parent.typeName}.${earlier.name} both make is${name}() and error${name}(); rename one`,
        });
      else helpers.set(name, value);
    }
  }
  return problems;
}

/** google.protobuf.EnumDescriptorProto's `options` field, in source-info paths. */
const ENUM_OPTIONS = 3;

function isErrorCode(code: number): boolean {
  return Number.isInteger(code) && code >= 400 && code <= 599;
}

/** Whether a value's code is its own `(errors.code)` or the fallback, rather than the enum's default_code. */
function hasOwnCode(value: DescEnumValue, enumDefault: number | undefined): boolean {
  const options = value.proto.options;
  return enumDefault === undefined || (options !== undefined && hasExtension(options, codeOption));
}

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

function defaultCodeOf(e: DescEnum): number | undefined {
  const options = e.proto.options;
  return options && hasExtension(options, defaultCodeOption) ? getExtension(options, defaultCodeOption) : undefined;
}

/** The local names of the runtime's exports the helpers use. */
interface RuntimeNames {
  isServiceError: string;
  newError: string;
  Metadata: string;
  ServiceError: string;
}

function renderEnum(e: DescEnum, rt: RuntimeNames): string {
  const enumDefault = defaultCodeOf(e);
  return e.values
    .map((value) => {
      const code = codeOf(value, enumDefault);
      const pascal = pascalCase(value.name);
      // The comment above the value, else the one after it (as Kratos takes them), on one
      // line: as written in the message (a string literal, JSON-quoted), with `*/` escaped
      // only where it would end the doc comment.
      const comment = (leadingComment(value) ?? trailingComment(value))?.replace(/\s+/g, ' ') ?? '';
      const defaultMessage = comment || value.name;
      return [
        `/** ${value.name} (${e.typeName}) has HTTP code ${code}.${comment ? ` ${commentSafe(comment)}` : ''} */`,
        `export function is${pascal}(err: unknown): boolean {`,
        `  return ${rt.isServiceError}(err) && err.reason === '${value.name}' && err.code === ${code};`,
        '}',
        '',
        `export function error${pascal}(message = ${JSON.stringify(defaultMessage)}, metadata?: ${rt.Metadata}): ${rt.ServiceError} {`,
        `  return ${rt.newError}(${code}, '${value.name}', message, metadata);`,
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
