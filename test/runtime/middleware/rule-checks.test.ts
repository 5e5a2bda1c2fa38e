// Differential test of the generated plain rule checks against protovalidate: for every
// rule of the subset (fixtures/rules/checks), a table of values with their edges, each
// request checked by the generated check function and by @bufbuild/protovalidate through
// RequestRules' protovalidate path (the request's binary encoding against its
// descriptors), the violations compared field by field and in order.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { RequestRules, type RuleViolation } from '../../../src/runtime/middleware/validate.js';
import { compileProtos } from '../../../src/proto/compile.js';
import { descriptorSet } from '../../../src/plugins/http/rules.js';
import { repoRoot } from '../../helpers/cli.js';
import { generateFixture } from '../../helpers/generated.js';

let dir: string;
let plain: RequestRules;
let reference: RequestRules;
let types: Record<string, { encode(m: unknown): { finish(): Uint8Array } }>;

const OPERATIONS = {
  strings: '/checks.v1.Checks/Strings',
  numbers: '/checks.v1.Checks/Numbers',
  others: '/checks.v1.Checks/Others',
} as const;

beforeAll(async () => {
  dir = generateFixture('rule-checks', 'rules');
  ({ ChecksRules: plain } = await import(path.join(dir, 'checks/v1/checks_rules.ts')));
  types = await import(path.join(dir, 'checks/v1/checks.ts'));
  const compiled = await compileProtos({
    inputs: ['checks/v1/checks.proto'],
    importPaths: [path.join(repoRoot, 'fixtures', 'rules')],
    cwd: path.join(repoRoot, 'fixtures', 'rules'),
  });
  const file = compiled.targets.find((f) => f.proto.name === 'checks/v1/checks.proto')!;
  reference = new RequestRules(
    Object.fromEntries(
      Object.values(OPERATIONS).map((op) => {
        const message = `checks.v1.${op.split('/').pop()}Request`;
        return [op, { message, type: types[message.split('.').pop()!]! }];
      }),
    ),
    descriptorSet(file),
  );
}, 120_000);

const STRINGS = [
  '',
  'a',
  'b',
  'q',
  'ab',
  'abc',
  'abcd',
  'abcde',
  'x',
  'xy',
  'yy',
  'xyz',
  'x.',
  'é',
  'éé',
  'ééé',
  '😀',
  '😀😀',
  'a😀',
  '😀!',
  'x!',
  '!',
  'abyz',
  'abéyz',
  'ab-1',
  'ab-123',
  'ab-1234',
  'AB',
  'ab\n',
  '\nab',
  'a\r',
  '\u2028\u2028',
  'dd',
  '٣',
  '\ud800',
  'x\ud800y',
  '\udc00\ud800',
  '\ufffd',
];
const INT32 = [0, 1, -1, -4, -5, 4, 5, 6, 7, 10, 11, 100, 101, 2147483647, -2147483648];
const UINT32 = [0, 1, 2, 3, 4, 100, 101, 4294967295];
const INT64 = [
  '0',
  '1',
  '-1',
  '5',
  '6',
  '7',
  '10',
  '9007199254740993',
  '9007199254740994',
  '9223372036854775807',
  '-9223372036854775808',
];
const UINT64 = ['0', '1', '9007199254740993', '9007199254740994', '18446744073709551615'];
const FLOATS = [
  0,
  -0,
  0.1,
  Math.fround(0.1),
  0.10000001,
  0.2,
  1,
  1.0000001,
  1.5,
  1.6,
  -1,
  -1.5,
  -1.6,
  -2,
  2,
  1e30,
  1.0000000150474662e30,
  1e31,
  3.4e38,
  1e39,
  -1e39,
  1e-50,
  -1e-50,
  Number.MAX_VALUE,
  Number.MIN_VALUE,
  Number.NaN,
  Number.POSITIVE_INFINITY,
  Number.NEGATIVE_INFINITY,
];
// A float out of float32's range never reaches middleware (the JSON decoder refuses it).
const FLOAT32 = FLOATS.filter((v) => Number.isFinite(Math.fround(v)) || !Number.isFinite(v));
const ENUMS = [0, 1, 2, 3, -1, 99];

/** Requests setting one field at a time to each value (and leaving it absent). */
function table(values: Record<string, readonly unknown[]>): Record<string, unknown>[] {
  const out: Record<string, unknown>[] = [{}];
  for (const [field, list] of Object.entries(values)) for (const v of list) out.push({ [field]: v });
  return out;
}

const CASES: Record<keyof typeof OPERATIONS, Record<string, unknown>[]> = {
  strings: [
    ...table(
      Object.fromEntries(
        [
          'exact',
          'len',
          'minMax',
          'bytes',
          'lenBytes',
          'affixes',
          'notContains',
          'in',
          'notIn',
          'pattern',
          'dot',
          'class',
          'opt',
          'req',
          'all',
          'lenChars',
        ].map((f) => [f, STRINGS]),
      ),
    ),
    ...table({
      tags: [[], ['a!'], ['', 'b'], ['x!', 'y!'], ['x!', 'y!', 'z!'], ['😀!'], ['\ud800!']],
      uuid: [
        '',
        'x',
        '123e4567-e89b-12d3-a456-426614174000',
        '123E4567-E89B-12D3-A456-42661417400G',
        '123e4567e89b12d3a456426614174000',
      ],
      tuuid: [
        '',
        'a23e4567e89b12d3a456426614174000',
        '123e4567e89b12d3a456426614174000',
        'a23e4567-e89b-12d3-a456-426614174000',
      ],
      ulid: [
        '',
        '01ARZ3NDEKTSV4RRFFQ69G5FAV',
        '01arz3ndektsv4rrffq69g5fav',
        '81ARZ3NDEKTSV4RRFFQ69G5FAV',
        '01ARZ3NDEKTSV4RRFFQ69G5FAI',
        '01ARZ3NDEKTSV4RRFFQ69G5FA',
      ],
      notUuid: ['', 'x'],
      email: [
        '',
        'a@b',
        'ada@example.com',
        "o'brien+tag@mail.example.co.uk",
        'a@-b.com',
        'a@b-.com',
        'a@b..com',
        'a b@c.com',
        '@c.com',
        'a@',
        'é@c.com',
        'a@é.com',
        `a@${'x'.repeat(63)}.com`,
        `a@${'x'.repeat(64)}.com`,
        'a@b.com\n',
        'a@[127.0.0.1]',
      ],
      skipEmpty: ['', 'a', 'abc'],
      skipAlways: ['', 'a', 'abc'],
      skipList: [[], ['a'], ['', '']],
      uniq: [[], ['a'], ['a', 'a'], ['a', 'b', 'a'], ['\ud800', '\udc00'], ['\ud800', '\ufffd'], ['é', 'e\u0301']],
    }),
    {
      exact: 'abc',
      len: 'abc',
      notIn: 'c',
      uuid: '123e4567-e89b-12d3-a456-426614174000',
      tuuid: 'a23e4567e89b12d3a456426614174000',
      minMax: 'ab',
      bytes: 'ab',
      lenBytes: 'abcd',
      affixes: 'abéyz',
      in: 'a',
      pattern: 'a',
      dot: 'ab',
      req: 'a',
      tags: ['a!'],
      all: 'xy',
    },
  ],
  numbers: [
    ...table({
      i32: INT32,
      i32Exclusive: INT32,
      u32: UINT32,
      s32: INT32,
      i64: INT64,
      u64: UINT64,
      s64: INT64,
      f32: UINT32,
      f64: UINT64,
      sf32: INT32,
      sf64: INT64,
      fl: FLOAT32,
      db: FLOATS,
      dbExclusive: FLOATS,
      dbFinite: FLOATS,
      dbIn: FLOATS,
      opt: INT32,
      req64: INT64,
      flConst: FLOAT32,
      negZero: FLOATS,
      optFl: FLOAT32,
      dbLtInf: FLOATS,
      ids: [[], ['0'], ['1', '-1'], ['9223372036854775807', '-9223372036854775808']],
      weights: [[], [0, 1], [Number.NaN], [-0, 1.0000001], [1e-50, -1e-50], [Number.POSITIVE_INFINITY]],
      uniqFl: [
        [],
        [1, 2],
        [Number.NaN, Number.NaN],
        [0, -0],
        [0.1, 0.100000001],
        [1e-50, -1e-50],
        [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY],
      ],
      skipFl: [0, -0, 1e-50, 0.5, 2, Number.NaN],
      skipOpt: [0, 1, 2],
      skipLong: ['0', '-1', '-2', '1'],
      uniqIds: [[], ['1', '2'], ['1', '1'], ['9223372036854775807', '-9223372036854775808', '9223372036854775807']],
    }),
    {
      i32: 1,
      i32Exclusive: 11,
      u32: 1,
      s32: 1,
      i64: '1',
      u64: '9007199254740994',
      s64: '-1',
      f64: '18446744073709551615',
      sf32: 1,
      sf64: '6',
      fl: 0.5,
      dbExclusive: 2,
      req64: '1',
      flConst: 0.1,
      optFl: -1,
      uniqFl: [1],
    },
  ],
  others: [
    ...table({
      flag: [true, false],
      optFlag: [true, false],
      color: ENUMS,
      colorConst: ENUMS,
      colorIn: ENUMS,
      colors: [[], [0], [1, 2, 3], [99, -1], [1, 1, 1]],
      inner: [{}, { name: 'a' }, { n: -1 }, { name: '', n: 5 }, { name: '😀', n: -2147483648 }],
      reqInner: [{}, { name: 'a', n: -1 }],
      inners: [[], [{}], [{ name: 'x', n: -1 }, {}, { n: 1 }]],
      reqList: [[], [''], ['a']],
      reqColor: ENUMS,
      optColor: ENUMS,
      plain: [{}, { note: 'x' }],
      reqFlag: [true, false],
      reqStr: ['', 'a'],
      uniqColors: [[], [1, 2], [1, 1], [99, 99], [0, 2, 0]],
      skipColor: ENUMS,
      labels: [{}, { a: '1' }, { a: '1', b: '2' }, { a: '1', b: '2', c: '3' }, { '\ud800': 'x', '\udc00': 'y', z: '' }],
      plainMap: [{}, { a: {} }, { '': { note: 'x' } }],
      skipMap: [{}, { a: 1 }, { a: 1, b: 2 }],
      skipInner: [{}, { name: '', n: 1 }],
      reqSkip: [true, false],
      skipFlag: [true, false],
      uniqFlags: [[], [true], [true, false], [false, false]],
      blob: [new Uint8Array(), Uint8Array.of(1)],
      optBlob: [new Uint8Array(), Uint8Array.of(1)],
      blobs: [[], [Uint8Array.of(1)], [Uint8Array.of(1), new Uint8Array()]],
    }),
    {
      flag: true,
      colorConst: 1,
      reqInner: { name: 'a', n: -1 },
      inners: [{ name: 'a', n: -1 }],
      reqList: ['a'],
      reqColor: 1,
      reqFlag: true,
      reqStr: 'a',
      reqSkip: true,
      labels: { a: '1' },
      plainMap: { a: {} },
    },
  ],
};

describe('generated rule checks and protovalidate', () => {
  it('check the requests that have only standard rules with generated code, and leave the others to protovalidate', () => {
    for (const op of Object.values(OPERATIONS)) expect('check' in plain.methods[op]!).toBe(true);
    expect(plain.methods['/checks.v1.Checks/Contact']).toMatchObject({ message: 'checks.v1.ContactRequest' });
    expect(plain.usesProtovalidate).toBe(true);
  });

  it('compile under strict TypeScript, unused locals included', () => {
    const config = path.join(dir, 'tsconfig.check.json');
    fs.writeFileSync(
      config,
      JSON.stringify({
        extends: path.join(repoRoot, 'tsconfig.json'),
        compilerOptions: { noEmit: true, noUnusedLocals: true, noUnusedParameters: true },
        include: [path.join(dir, '**/*_rules.ts')],
      }),
    );
    const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
    const r = spawnSync(process.execPath, [tsc, '-p', config], { encoding: 'utf8' });
    expect(r.stdout + r.stderr).toBe('');
    expect(r.status).toBe(0);
  }, 120_000);

  for (const [name, op] of Object.entries(OPERATIONS) as [keyof typeof OPERATIONS, string][]) {
    it(`report the same violations, in the same order, for every ${name} value`, async () => {
      const mismatches: {
        request: unknown;
        plain?: RuleViolation[] | undefined;
        protovalidate?: RuleViolation[] | undefined;
      }[] = [];
      const rules = new Set<string>();
      let valid = 0;
      for (const request of CASES[name]) {
        const ours = await plain.violations(op, request);
        const theirs = await reference.violations(op, request);
        if (JSON.stringify(ours) !== JSON.stringify(theirs))
          mismatches.push({ request, plain: ours, protovalidate: theirs });
        for (const v of theirs ?? []) rules.add(`${v.field} ${v.rule}`);
        if (!theirs) valid++;
      }
      expect(mismatches).toEqual([]);
      // The table reaches every rule of the fixture, and a valid request.
      expect(valid).toBeGreaterThan(0);
      expect(rules.size).toBeGreaterThanOrEqual({ strings: 25, numbers: 25, others: 15 }[name]);
    });
  }
});
