// ts-proto's formatter, split by top-level statement (src/gen/format-split.ts), gives
// dprint's output for the whole text: on tricky hand-written code, and on ts-proto's
// own output run through the worker thread against the plugin run as a process.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { create, fromBinary, toBinary } from '@bufbuild/protobuf';
import { CodeGeneratorRequestSchema, CodeGeneratorResponseSchema } from '@bufbuild/protobuf/wkt';
import { describe, expect, it } from 'vitest';
import { type Formatter, splitFormatter, topLevelPieces } from '../../src/gen/format-split.js';
import { repoRoot } from '../helpers/cli.js';
// @ts-expect-error: a plain JS module of the benchmark (no types)
import { makeTree, syntheticProto } from '../../bench/codegen.js';

const require = createRequire(import.meta.url);
const tsPoet = require.resolve('ts-poet', { paths: [path.dirname(require.resolve('ts-proto/package.json'))] });
const dprint = createRequire(tsPoet)('dprint-node') as Formatter;
/** ts-poet's options for dprint. */
const OPTIONS = {
  useTabs: false,
  useBraces: 'always',
  singleBodyPosition: 'nextLine',
  'arrowFunction.useParentheses': 'force',
  'module.sortImportDeclarations': 'caseSensitive',
  lineWidth: 120,
  preferSingleLine: true,
};

/** Code in ts-poet's unformatted style, with every construct that could fool the cutter. */
const TRICKY = `// header comment

    /* eslint-disable */
import { z, a } from './z.js';
import { b } from "./b.js";


export const pattern = /[}{]\\/x/g;

const text = \`line one

export const notAStatement = \${ { a: 1 }.a }
\${\`nested \${'}'}

const neither = 1;\`}\`;

/** A doc comment

export function notCode() {}
*/
export function f(s: string): string {
const inner = "\\n\\n;";

const more = s.replace(/\\}/g, '{');
return more + inner;
}

export interface I {
x?: string | undefined,

y: number,
}

function g() {
  return 1
}

export const afterNoSemicolon = g()

+ 1;

export class C {
m(): number { return /}/.test('}') ? 1 : 2; }
}
`;

/** A function whose regex fools the cutter into a cut inside the body: both pieces fail to parse alone. */
const MISCUT = `export function h(): boolean {
return /}x/.test('a');

const unreachable = 1;
}

export const after = 2;
`;

describe('splitFormatter', () => {
  it('cuts only between top-level statements', () => {
    const pieces = topLevelPieces(TRICKY);
    // Header, indented comment and imports stay together: dprint sorts imports as a group.
    expect(pieces[0]).toMatch(
      /^\/\/ header comment\n\n {4}\/\* eslint-disable \*\/\nimport \{ z, a \}.*\nimport \{ b \}.*;$/,
    );
    expect(pieces.some((p) => p.startsWith('export const notAStatement'))).toBe(false);
    expect(pieces.some((p) => p.startsWith('const neither'))).toBe(false);
    expect(pieces.some((p) => p.startsWith('export function notCode'))).toBe(false);
    expect(pieces.some((p) => p.startsWith('const more'))).toBe(false);
    expect(pieces.some((p) => p.startsWith('y: number'))).toBe(false);
    expect(pieces.some((p) => p.startsWith('+ 1'))).toBe(false);
    expect(pieces.find((p) => p.startsWith('export const pattern'))).toBe('export const pattern = /[}{]\\/x/g;');
    expect(pieces.at(-1)).toMatch(/^export class C/);
  });

  it('formats exactly as dprint formats the whole text', () => {
    const split = splitFormatter(dprint, { minChars: 0 });
    expect(split.format('file.ts', TRICKY, OPTIONS)).toBe(dprint.format('file.ts', TRICKY, OPTIONS));
    expect(topLevelPieces(MISCUT).some((p) => p.startsWith('const unreachable'))).toBe(true);
    expect(split.format('file.ts', MISCUT, OPTIONS)).toBe(dprint.format('file.ts', MISCUT, OPTIONS));
  });

  it("throws dprint's error for text that does not parse", () => {
    const broken = 'export const a = 1;\n\nexport function (\n';
    const expected = (() => {
      try {
        dprint.format('file.ts', broken, OPTIONS);
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    })();
    expect(expected).not.toBe('no error');
    expect(() => splitFormatter(dprint, { minChars: 0 }).format('file.ts', broken, OPTIONS)).toThrow(expected);
  });
});

describe('ts-proto in a worker thread with the split formatter', () => {
  it('writes byte for byte what the plugin writes as a process', { timeout: 240_000 }, async () => {
    const { compileProtos } = (await import(
      pathToFileURL(path.join(repoRoot, 'dist', 'proto', 'compile.js')).href
    )) as typeof import('../../src/proto/compile.js');
    const { runTsProtoRequest, TS_PROTO_OPTIONS } = (await import(
      pathToFileURL(path.join(repoRoot, 'dist', 'gen', 'tsproto.js')).href
    )) as typeof import('../../src/gen/tsproto.js');
    // Two protos of the codegen benchmark (large files), every fixture that compiles
    // (well-known types, comments, imports across packages), and with emitImportedFiles
    // the imported google/protobuf/descriptor.proto (long doc comments) and google/api/http.proto.
    const dir = path.join(repoRoot, '.tmp', 'format-split');
    makeTree(dir);
    for (const entry of fs.readdirSync(path.join(dir, 'api', 'bench')))
      if (!['s0', 's1'].includes(entry)) fs.rmSync(path.join(dir, 'api', 'bench', entry), { recursive: true });
    fs.cpSync(path.join(repoRoot, 'proto'), path.join(dir, 'third_party'), { recursive: true });
    for (const fixture of ['edge', 'user', 'helloworld', 'json', 'rules', 'stream'])
      fs.cpSync(path.join(repoRoot, 'fixtures', fixture), path.join(dir, 'api'), { recursive: true });
    const requestOf = async () => {
      const compiled = await compileProtos({ inputs: ['api'], cwd: dir, projectRoot: dir });
      return toBinary(
        CodeGeneratorRequestSchema,
        create(CodeGeneratorRequestSchema, {
          fileToGenerate: compiled.targetFiles.map((t) => t.protoPath),
          parameter: TS_PROTO_OPTIONS,
          protoFile: compiled.fileSet.file,
        }),
      );
    };
    const plugin = require.resolve('ts-proto/protoc-gen-ts_proto');
    const files = (bytes: Uint8Array) =>
      Object.fromEntries(fromBinary(CodeGeneratorResponseSchema, bytes).file.map((f) => [f.name, f.content]));
    const asProcess = (request: Uint8Array) => {
      const r = spawnSync(process.execPath, [plugin], { input: request, maxBuffer: 256 * 1024 * 1024 });
      expect(r.status, String(r.stderr)).toBe(0);
      return files(r.stdout);
    };

    const request = await requestOf();
    const expected = asProcess(request);
    expect(Object.keys(expected)).toContain('google/protobuf/descriptor.ts');
    expect(expected['bench/s0/v1/s0.ts']!.length).toBeGreaterThan(200_000);
    // Every text split (threshold 0), and as tsk runs it (the default threshold).
    expect(files(await runTsProtoRequest(request, { splitMinChars: 0 }))).toEqual(expected);
    expect(files(await runTsProtoRequest(request))).toEqual(expected);

    // With the memo of formatted statements: filled by one run, used by the next after an
    // edit, and by a run of the first request again; each output is the plugin's own.
    const formatMemoDir = path.join(dir, '.tsk', 'cache', 'format');
    expect(files(await runTsProtoRequest(request, { formatMemoDir }))).toEqual(expected);
    expect(fs.readdirSync(formatMemoDir).length).toBeGreaterThan(0);
    fs.writeFileSync(path.join(dir, 'api', 'bench', 's0', 'v1', 's0.proto'), syntheticProto(0, true));
    const edited = await requestOf();
    const expectedEdited = asProcess(edited);
    expect(expectedEdited['bench/s0/v1/s0.ts']).not.toEqual(expected['bench/s0/v1/s0.ts']);
    expect(files(await runTsProtoRequest(edited, { formatMemoDir }))).toEqual(expectedEdited);
    expect(files(await runTsProtoRequest(request, { formatMemoDir }))).toEqual(expected);
  });
});
