// Plain TypeScript checks for buf.validate rules, written at generation time for the
// request messages whose every rule is in a subset this module reproduces exactly as
// @bufbuild/protovalidate evaluates it (same violations, field paths, rule paths,
// messages and order). A message with any other rule (CEL, most string formats, bytes,
// map keys and values, oneof rules, ...) gets no plain checks: the runtime sends it to protovalidate.
//
// The checks read ts-proto objects (useOptionals=all, forceLong=string) and see what
// protovalidate sees after the request's binary round trip: an absent implicit-presence
// field as its zero value, a float rounded to 32 bits, 64-bit integers as bigints, a
// lone surrogate as U+FFFD.
import {
  getExtension,
  hasExtension,
  isFieldSet,
  ScalarType,
  type DescField,
  type DescMessage,
} from '@bufbuild/protobuf';
import { FeatureSet_FieldPresence } from '@bufbuild/protobuf/wkt';
import {
  field as fieldRulesExt,
  message as messageRulesExt,
  oneof as oneofRulesExt,
  FieldRulesSchema,
  Ignore,
  MapRulesSchema,
  RepeatedRulesSchema,
  StringRulesSchema,
  type BoolRules,
  type EnumRules,
  type FieldRules,
  type RepeatedRules,
  type StringRules,
} from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import { tsProtoLocalName, tsTypeName } from '../../gen/names.js';
import type { TsFile } from '../../gen/printer.js';
import { jsPattern } from './rule-pattern.js';

type Message = { $typeName: string; $unknown?: unknown[] | undefined };
type ListField = Extract<DescField, { fieldKind: 'list' }>;

/** How ts-proto holds a scalar kind, and how protovalidate sees it. */
interface ScalarKind {
  /** The FieldRules case for it (`int32`, `string`, ...). */
  rules: string;
  /** ts-proto's value for an absent field. */
  zero: string;
  /** The value as protovalidate sees it, from ts-proto's `raw`. */
  read(raw: string): string;
  /** The zero value as read. */
  readZero: string;
  /** A rule value as a literal, or undefined when it cannot be one (NaN). */
  literal(value: unknown): string | undefined;
  /** A rule value in a message, as protovalidate prints it. */
  print(value: unknown): string;
  float?: boolean;
}

const int = (rules: string): ScalarKind => ({
  rules,
  zero: '0',
  read: (raw) => raw,
  readZero: '0',
  literal: (v) => String(v),
  print: (v) => String(v),
});
const long = (rules: string): ScalarKind => ({
  rules,
  zero: "'0'",
  read: (raw) => `BigInt(${raw})`,
  readZero: '0n',
  literal: (v) => `${v}n`,
  print: (v) => String(v),
});
const float = (rules: string, read: (raw: string) => string): ScalarKind => ({
  rules,
  zero: '0',
  read,
  readZero: '0',
  literal: (v) => {
    const n = v as number;
    if (Number.isNaN(n)) return undefined;
    if (!Number.isFinite(n)) return n > 0 ? 'Infinity' : '-Infinity';
    return String(n); // -0 prints as 0: protovalidate compares with ===, where they are equal
  },
  print: (v) => String(v),
  float: true,
});

const SCALARS: Partial<Record<ScalarType, ScalarKind>> = {
  [ScalarType.STRING]: {
    rules: 'string',
    zero: "''",
    read: (raw) => raw,
    readZero: "''",
    literal: (v) => stringLiteral(v as string),
    print: (v) => String(v),
  },
  [ScalarType.BOOL]: {
    rules: 'bool',
    zero: 'false',
    read: (raw) => raw,
    readZero: 'false',
    literal: (v) => String(v),
    print: (v) => String(v),
  },
  [ScalarType.INT32]: int('int32'),
  [ScalarType.UINT32]: int('uint32'),
  [ScalarType.SINT32]: int('sint32'),
  [ScalarType.FIXED32]: int('fixed32'),
  [ScalarType.SFIXED32]: int('sfixed32'),
  [ScalarType.INT64]: long('int64'),
  [ScalarType.UINT64]: long('uint64'),
  [ScalarType.SINT64]: long('sint64'),
  [ScalarType.FIXED64]: long('fixed64'),
  [ScalarType.SFIXED64]: long('sfixed64'),
  [ScalarType.FLOAT]: float('float', (raw) => `Math.fround(${raw})`),
  [ScalarType.DOUBLE]: float('double', (raw) => raw),
};

const ENUM: ScalarKind = { ...int('enum') };

/** The rule fields each rules message may set for plain checks (`example` documents, it checks nothing). */
const SUPPORTED: Record<string, ReadonlySet<string>> = {
  string: new Set([
    'const',
    'len',
    'min_len',
    'max_len',
    'len_bytes',
    'min_bytes',
    'max_bytes',
    'pattern',
    'prefix',
    'suffix',
    'contains',
    'not_contains',
    'in',
    'not_in',
    'email',
    'uuid',
    'tuuid',
    'ulid',
    'example',
  ]),
  bool: new Set(['const', 'example']),
  enum: new Set(['const', 'defined_only', 'in', 'not_in', 'example']),
  repeated: new Set(['min_items', 'max_items', 'unique', 'items']),
  numeric: new Set(['const', 'lt', 'lte', 'gt', 'gte', 'in', 'not_in', 'finite', 'example']),
};

/** A broken-rule test on a value: `violated` is a JS condition. */
interface Rule {
  violated: string;
  /** The rule's path in FieldRules (`string.min_len`, `repeated.items.int32.gt`), as violations name it. */
  id: string;
  message: string;
}

/** Writes the plain checks of the messages it is asked for, into one TsFile. */
export class RuleChecks {
  private readonly written = new Map<string, string>();
  private readonly functions: string[] = [];

  constructor(private readonly ts: TsFile) {}

  /**
   * The name of the function checking `message` (`checkHelloRequest(m, at = '', out = [])`,
   * returning `out`), or undefined when some rule needs protovalidate.
   */
  check(message: DescMessage): string | undefined {
    if (!supported(message)) return undefined;
    return this.write(message);
  }

  /** The check functions written, in the order first asked for. */
  render(): string {
    return this.functions.join('\n\n');
  }

  private write(message: DescMessage): string {
    const existing = this.written.get(message.typeName);
    if (existing) return existing;
    // Messages of two packages may share a name: their functions do not.
    const taken = new Set(this.written.values());
    let name = `check${tsTypeName(message)}`;
    for (let i = 2; taken.has(name); i++) name = `check${tsTypeName(message)}${i}`;
    this.ts.reserve(name);
    this.written.set(message.typeName, name);
    const type = this.ts.message(message, { type: true });
    const violation = this.ts.runtime('middleware/validate.js', 'RuleViolation', { type: true });
    const locals = new Set<string>();
    const body = message.fields.flatMap((f) => this.field(f, locals));
    this.functions.push(
      [
        `/** The buf.validate rules of ${message.typeName} that \`m\` breaks, added to \`out\`; \`at\` prefixes field paths. */`,
        `function ${name}(m: ${type}, at = '', out: ${violation}[] = []): ${violation}[] {`,
        ...body.map((l) => `  ${l}`),
        '  return out;',
        '}',
      ].join('\n'),
    );
    return name;
  }

  /** `locals`: the names the function's body has taken so far. */
  private field(field: DescField, locals: Set<string>): string[] {
    const rules = fieldRules(field);
    if (rules?.ignore === Ignore.ALWAYS) return [];
    const required = rules?.required ?? false;
    // Rules of a field that is absent, or zero without presence, are skipped.
    const skipZero = rules?.ignore === Ignore.IF_ZERO_VALUE;
    const prop = `m.${tsProtoLocalName(field.name)}`;
    const path = `\`\${at}${field.name}\``;
    const requiredPush = push(path, { violated: '', id: 'required', message: 'value is required' });
    // After `setup`: a required field at its zero value breaks `required` and nothing else;
    // IGNORE_IF_ZERO_VALUE skips the checks at zero.
    const zeroGuarded = (setup: string[], zero: string, nonZero: string, checks: string[]) => {
      if (required) return [...setup, `if (${zero}) ${requiredPush}`, ...elseBlock(checks)];
      if (skipZero) return [...setup, `if (${nonZero}) {`, ...checks.map((l) => `  ${l}`), '}'];
      return [...setup, ...checks];
    };
    switch (field.fieldKind) {
      case 'message': {
        const nested = hasRules(field.message) ? this.write(field.message) : undefined;
        const visit = nested ? `${nested}(${prop}, \`\${at}${field.name}.\`, out);` : undefined;
        if (required) return [`if (${prop} === undefined) ${requiredPush}`, ...(visit ? [`else ${visit}`] : [])];
        return visit ? [`if (${prop} !== undefined) ${visit}`] : [];
      }
      case 'list': {
        const v = variable(field, locals);
        const checks = this.list(field, rules?.type.case === 'repeated' ? rules.type.value : undefined, v, path);
        if (!required && checks.length === 0) return [];
        return zeroGuarded([`const ${v} = ${prop} ?? [];`], `${v}.length === 0`, `${v}.length > 0`, checks);
      }
      case 'scalar':
      case 'enum': {
        const kind = field.fieldKind === 'enum' ? ENUM : SCALARS[field.scalar];
        // A kind without plain checks (bytes) carries no rules here: `supported` sent those to protovalidate.
        if (!kind) return [];
        const v = variable(field, locals);
        const typed = rules?.type.case === kind.rules ? (rules.type.value as Message) : undefined;
        const found = typed ? valueRules(field, kind, typed, v, '') : [];
        if (!required && found.length === 0) return [];
        const checks = this.lines(found, path, v);
        if (field.presence === FeatureSet_FieldPresence.IMPLICIT) {
          const setup = [`const ${v} = ${this.read(kind, `${prop} ?? ${kind.zero}`, found)};`];
          return zeroGuarded(setup, `${v} === ${kind.readZero}`, `${v} !== ${kind.readZero}`, checks);
        }
        const inner = [`const ${v} = ${this.read(kind, prop, found)};`, ...checks];
        if (required) return [`if (${prop} === undefined) ${requiredPush}`, ...elseBlock(inner)];
        return [`if (${prop} !== undefined) {`, ...inner.map((l) => `  ${l}`), '}'];
      }
      case 'map': {
        const v = `${variable(field, locals)}Pairs`;
        const pairs = rules?.type.case === 'map' ? rules.type.value : undefined;
        const checks: string[] = [];
        if (pairs && isFieldSet(pairs, MapRulesSchema.field.minPairs)) {
          const message = `map must be at least ${pairs.minPairs} entries`;
          checks.push(push(path, { violated: `${v} < ${pairs.minPairs}`, id: 'map.min_pairs', message }));
        }
        if (pairs && isFieldSet(pairs, MapRulesSchema.field.maxPairs)) {
          const message = `map must be at most ${pairs.maxPairs} entries`;
          checks.push(push(path, { violated: `${v} > ${pairs.maxPairs}`, id: 'map.max_pairs', message }));
        }
        if (!required && checks.length === 0) return [];
        const setup = [`const ${v} = ${this.ts.runtime('middleware/rule-checks.js', 'mapSize')}(${prop});`];
        return zeroGuarded(setup, `${v} === 0`, `${v} > 0`, checks);
      }
    }
  }

  private list(field: ListField, rules: RepeatedRules | undefined, v: string, path: string): string[] {
    const lines: string[] = [];
    if (rules && isFieldSet(rules, RepeatedRulesSchema.field.minItems)) {
      const n = rules.minItems;
      const message = `must contain at least ${n} item(s)`;
      lines.push(push(path, { violated: `${v}.length < ${n}`, id: 'repeated.min_items', message }));
    }
    if (rules && isFieldSet(rules, RepeatedRulesSchema.field.maxItems)) {
      const n = rules.maxItems;
      const message = `must contain no more than ${n} item(s)`;
      lines.push(push(path, { violated: `${v}.length > ${n}`, id: 'repeated.max_items', message }));
    }
    if (rules?.unique && field.listKind !== 'message') {
      const kind = field.listKind === 'enum' ? ENUM : SCALARS[field.scalar]!;
      const read =
        kind.rules === 'string'
          ? `${this.ts.runtime('middleware/rule-checks.js', 'wellFormed')}(raw)`
          : kind.read('raw');
      const values = read === 'raw' ? v : `${v}.map((raw) => ${read})`;
      const unique = this.ts.runtime('middleware/rule-checks.js', 'unique');
      const message = 'repeated value must contain unique items';
      lines.push(push(path, { violated: `!${unique}(${values})`, id: 'repeated.unique', message }));
    }
    if (field.listKind === 'message') {
      if (hasRules(field.message)) {
        const nested = this.write(field.message);
        lines.push(`for (const [i, item] of ${v}.entries()) ${nested}(item, \`\${at}${field.name}[\${i}].\`, out);`);
      }
      return lines;
    }
    const items = rules?.items;
    const kind = field.listKind === 'enum' ? ENUM : SCALARS[field.scalar];
    const typed = kind && items?.type.case === kind.rules ? (items.type.value as Message) : undefined;
    if (!kind || !items || !typed) return lines;
    const item = `${v}Item`;
    const found = valueRules(field, kind, typed, item, 'repeated.items.');
    const checks = this.lines(found, `\`\${at}${field.name}[\${i}]\``, item);
    const read = this.read(kind, 'raw', found);
    const head =
      read === 'raw'
        ? [`for (const [i, ${item}] of ${v}.entries()) {`]
        : [`for (const [i, raw] of ${v}.entries()) {`, `  const ${item} = ${read};`];
    return [...lines, ...head, ...checks.map((l) => `  ${l}`), '}'];
  }

  /** The value protovalidate sees, from ts-proto's `raw`: strings compared by content are made well-formed. */
  private read(kind: ScalarKind, raw: string, rules: Rule[]): string {
    if (kind.rules === 'string' && rules.some((r) => !MEASURED.has(r.id.slice(r.id.lastIndexOf('.') + 1))))
      return `${this.ts.runtime('middleware/rule-checks.js', 'wellFormed')}(${raw})`;
    return kind.read(raw);
  }

  /** Check lines for rules on `v`, with the string measures they use computed once. */
  private lines(rules: Rule[], path: string, v: string): string[] {
    const lines: string[] = [];
    for (const [helper, suffix] of [
      ['codePoints', 'Chars'],
      ['utf8Length', 'Bytes'],
    ] as const) {
      const measure = `${v}${suffix}`;
      if (rules.some((r) => new RegExp(`\\b${measure}\\b`).test(r.violated)))
        lines.push(`const ${measure} = ${this.ts.runtime('middleware/rule-checks.js', helper)}(${v});`);
    }
    for (const r of rules) lines.push(push(path, r));
    return lines;
  }
}

/** Whether a message, or any message in its fields, has protovalidate rules. */
export function hasRules(message: DescMessage, seen = new Set<DescMessage>()): boolean {
  if (seen.has(message)) return false;
  seen.add(message);
  if (message.proto.options && hasExtension(message.proto.options, messageRulesExt)) return true;
  if (message.oneofs.some((o) => o.proto.options !== undefined && hasExtension(o.proto.options, oneofRulesExt)))
    return true;
  return message.fields.some((f) => {
    if (f.proto.options && hasExtension(f.proto.options, fieldRulesExt)) return true;
    const inner = f.fieldKind === 'message' || f.fieldKind === 'list' || f.fieldKind === 'map' ? f.message : undefined;
    return inner !== undefined && hasRules(inner, seen);
  });
}

/** Whether every rule of `message`, and of the messages its fields hold, has a plain check. */
function supported(message: DescMessage, visiting = new Set<DescMessage>()): boolean {
  if (visiting.has(message)) return false; // recursive messages stay with protovalidate
  if (message.file.proto.syntax !== 'proto3') return false;
  if (message.proto.options && hasExtension(message.proto.options, messageRulesExt)) return false;
  if (message.oneofs.some((o) => o.proto.options !== undefined && hasExtension(o.proto.options, oneofRulesExt)))
    return false;
  visiting.add(message);
  const ok = message.fields.every((f) => supportedField(f, visiting));
  visiting.delete(message);
  return ok;
}

function supportedField(field: DescField, visiting: Set<DescMessage>): boolean {
  const rules = fieldRules(field);
  const nested =
    field.fieldKind === 'message' || field.fieldKind === 'list' || field.fieldKind === 'map'
      ? field.message
      : undefined;
  const nestedRules = nested !== undefined && hasRules(nested);
  if (!rules && !nestedRules) return true;
  // A oneof member's presence differs between a ts-proto object and its encoding (only the last member set survives).
  if (field.oneof !== undefined) return false;
  // Maps: string keys (other keys may merge on the wire), values without rules, and only the pair counts.
  if (field.fieldKind === 'map') {
    const typed = rules?.type;
    return (
      field.mapKey === ScalarType.STRING &&
      !nestedRules &&
      (typed?.case === undefined ||
        (typed.case === 'map' && onlySet(typed.value, MapRulesSchema, ['min_pairs', 'max_pairs'])))
    );
  }
  if (
    rules &&
    !onlySet(rules, FieldRulesSchema, ['required', 'ignore', rules.type.case ? caseName(rules.type.case) : ''])
  )
    return false;
  if (nestedRules && !supported(nested!, visiting)) return false;
  const typed = rules?.type;
  switch (field.fieldKind) {
    case 'message':
      return typed?.case === undefined;
    case 'list': {
      if (typed?.case === undefined) return true;
      if (typed.case !== 'repeated' || !onlySet(typed.value, RepeatedRulesSchema, [...SUPPORTED.repeated!]))
        return false;
      const items = typed.value.items;
      const kind = field.listKind === 'enum' ? ENUM : field.listKind === 'scalar' ? SCALARS[field.scalar] : undefined;
      // Unique messages compare by protobuf equality, which stays with protovalidate.
      if (typed.value.unique && !kind) return false;
      if (!items) return true;
      if (!kind || !onlySet(items, FieldRulesSchema, [items.type.case ? caseName(items.type.case) : ''])) return false;
      return (
        items.type.case === undefined || (items.type.case === kind.rules && supportedValue(kind, items.type.value))
      );
    }
    case 'scalar':
    case 'enum': {
      const kind = field.fieldKind === 'enum' ? ENUM : SCALARS[field.scalar];
      if (!kind) return false;
      return typed?.case === undefined || (typed.case === kind.rules && supportedValue(kind, typed.value));
    }
  }
  return false;
}

function supportedValue(kind: ScalarKind, rules: Message): boolean {
  const schema = rulesSchema(kind.rules);
  const group = kind.rules in SUPPORTED ? kind.rules : 'numeric';
  if (!onlySet(rules, schema, [...SUPPORTED[group]!])) return false;
  if (kind.rules === 'string') {
    const s = rules as StringRules;
    return !isFieldSet(s, StringRulesSchema.field.pattern) || jsPattern(s.pattern) !== undefined;
  }
  if (kind.float) {
    const n = rules as unknown as NumericRules;
    const values = [n.const, n.greaterThan.value, n.lessThan.value, ...n.in, ...n.notIn];
    return !values.some((v) => typeof v === 'number' && Number.isNaN(v));
  }
  return true;
}

/** Whether `message` has no unknown fields (extensions: predefined rules) and sets only fields named in `allowed`. */
function onlySet(message: Message, schema: DescMessage, allowed: string[]): boolean {
  if (message.$unknown && message.$unknown.length > 0) return false;
  return schema.fields.every((f) => !isFieldSet(message as never, f) || allowed.includes(f.name));
}

/** The FieldRules field of a `type` oneof case (`fieldMask` is `field_mask`). */
function caseName(localName: string): string {
  return FieldRulesSchema.fields.find((f) => f.localName === localName)!.name;
}

/** The rules message schema of a FieldRules case (`string` → StringRules). */
function rulesSchema(rulesCase: string): DescMessage {
  return FieldRulesSchema.fields.find((f) => f.localName === rulesCase)!.message!;
}

function fieldRules(field: DescField): FieldRules | undefined {
  const options = field.proto.options;
  return options && hasExtension(options, fieldRulesExt) ? getExtension(options, fieldRulesExt) : undefined;
}

interface NumericRules {
  const?: number | bigint;
  greaterThan: { case: 'gt' | 'gte' | undefined; value?: number | bigint };
  lessThan: { case: 'lt' | 'lte' | undefined; value?: number | bigint };
  in: (number | bigint)[];
  notIn: (number | bigint)[];
  finite?: boolean;
}

/** The string formats with plain checks: each is a fixed ASCII pattern. */
const FORMATS: Record<string, { name: string; pattern: string }> = {
  // The HTML standard's "valid e-mail address", which protovalidate's email rule follows.
  email: {
    name: 'email address',
    pattern:
      "/^[a-zA-Z0-9.!#$%&'*+\\/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/",
  },
  uuid: { name: 'UUID', pattern: '/^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/' },
  tuuid: { name: 'trimmed UUID', pattern: '/^[0-9a-fA-F]{32}$/' },
  // Crockford's base32 (no I, L, O, U), 26 characters, the first at most 7 (128 bits).
  ulid: { name: 'ULID', pattern: '/^[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}$/' },
};

const MEASURED = new Set(['len', 'min_len', 'max_len', 'len_bytes', 'min_bytes', 'max_bytes']);

/** The rules on value `v`, in the order protovalidate checks them; `prefix` starts their ids (`repeated.items.`). */
function valueRules(field: DescField, kind: ScalarKind, rules: Message, v: string, prefix: string): Rule[] {
  const schema = rulesSchema(kind.rules);
  const set = (name: string) => {
    const f = schema.fields.find((x) => x.name === name);
    return f !== undefined && isFieldSet(rules as never, f);
  };
  const id = (name: string) => `${prefix}${kind.rules}.${name}`;
  const list = (values: unknown[]) => `[${values.map((x) => kind.literal(x)).join(', ')}]`;
  const printed = (values: unknown[]) => `[${values.map((x) => kind.print(x)).join(', ')}]`;
  const out: Rule[] = [];
  /** The `in` and `not_in` rules, alike for every kind that has them. */
  const membership = (inList: unknown[], notInList: unknown[]) => {
    if (inList.length > 0)
      out.push({
        violated: `!${list(inList)}.includes(${v})`,
        id: id('in'),
        message: `must be in list ${printed(inList)}`,
      });
    if (notInList.length > 0)
      out.push({
        violated: `${list(notInList)}.includes(${v})`,
        id: id('not_in'),
        message: `must not be in list ${printed(notInList)}`,
      });
  };
  switch (kind.rules) {
    case 'string': {
      const s = rules as StringRules;
      const quoted = (x: string) => `\`${x}\``;
      if (set('const'))
        out.push({
          violated: `${v} !== ${kind.literal(s.const)}`,
          id: id('const'),
          message: `must equal ${quoted(s.const)}`,
        });
      const measures: [string, string, string, (n: bigint) => string][] = [
        ['len', 'Chars', '!==', (n) => `must be ${n} characters`],
        ['min_len', 'Chars', '<', (n) => `must be at least ${n} characters`],
        ['max_len', 'Chars', '>', (n) => `must be at most ${n} characters`],
        ['len_bytes', 'Bytes', '!==', (n) => `must be ${n} bytes`],
        ['min_bytes', 'Bytes', '<', (n) => `must be at least ${n} bytes`],
        ['max_bytes', 'Bytes', '>', (n) => `must be at most ${n} bytes`],
      ];
      for (const [name, suffix, op, message] of measures) {
        if (!set(name)) continue;
        const n = (s as unknown as Record<string, bigint>)[schema.fields.find((x) => x.name === name)!.localName]!;
        out.push({ violated: `${v}${suffix} ${op} ${n}`, id: id(name), message: message(n) });
      }
      if (set('pattern'))
        out.push({
          violated: `!/${jsPattern(s.pattern)}/u.test(${v})`,
          id: id('pattern'),
          message: `does not match regex pattern ${quoted(s.pattern)}`,
        });
      const affixes: [string, string, (literal: string | undefined) => string, string][] = [
        ['prefix', s.prefix, (l) => `!${v}.startsWith(${l})`, 'does not have prefix'],
        ['suffix', s.suffix, (l) => `!${v}.endsWith(${l})`, 'does not have suffix'],
        ['contains', s.contains, (l) => `!${v}.includes(${l})`, 'does not contain substring'],
        ['not_contains', s.notContains, (l) => `${v}.includes(${l})`, 'contains substring'],
      ];
      for (const [name, value, violated, message] of affixes)
        if (set(name))
          out.push({ violated: violated(kind.literal(value)), id: id(name), message: `${message} ${quoted(value)}` });
      membership(s.in, s.notIn);
      const format = s.wellKnown.case ? FORMATS[s.wellKnown.case] : undefined;
      if (format && s.wellKnown.value) {
        const rule = id(StringRulesSchema.fields.find((f) => f.localName === s.wellKnown.case)!.name);
        out.push({ violated: `${v} === ''`, id: rule, message: `value is empty, which is not a valid ${format.name}` });
        out.push({
          violated: `${v} !== '' && !${format.pattern}.test(${v})`,
          id: rule,
          message: `must be a valid ${format.name}`,
        });
      }
      return out;
    }
    case 'bool': {
      const b = rules as BoolRules;
      if (set('const'))
        out.push({ violated: b.const ? `!${v}` : v, id: id('const'), message: `must equal ${b.const}` });
      return out;
    }
    case 'enum': {
      const e = rules as EnumRules;
      if (e.definedOnly && field.enum) {
        const defined = [...new Set(field.enum.values.map((x) => x.number))];
        out.push({
          violated: `!${list(defined)}.includes(${v})`,
          id: id('defined_only'),
          message: 'value must be one of the defined enum values',
        });
      }
      if (set('const'))
        out.push({ violated: `${v} !== ${e.const}`, id: id('const'), message: `must equal ${e.const}` });
      membership(e.in, e.notIn);
      return out;
    }
  }
  const n = rules as unknown as NumericRules;
  if (set('const'))
    out.push({
      violated: `${v} !== ${kind.literal(n.const)}`,
      id: id('const'),
      message: `must equal ${kind.print(n.const)}`,
    });
  const range = rangeRule(kind, n, v);
  if (range) out.push({ ...range, id: id(range.id) });
  membership(n.in, n.notIn);
  if (n.finite) out.push({ violated: `!Number.isFinite(${v})`, id: id('finite'), message: 'must be finite' });
  return out;
}

const NEGATED = { gt: '<=', gte: '<', lt: '>=', lte: '>' } as const;
const HOLDS = { gt: '>', gte: '>=', lt: '<', lte: '<=' } as const;
const WORDS = {
  gt: 'greater than',
  gte: 'greater than or equal to',
  lt: 'less than',
  lte: 'less than or equal to',
} as const;

/**
 * gt/gte/lt/lte as one rule, as protovalidate has them: with both bounds, a value must
 * lie between them, or (when the upper bound is below the lower) outside them; the rule
 * is named by its lower bound. A float NaN breaks any range.
 */
function rangeRule(kind: ScalarKind, rules: NumericRules, v: string): Rule | undefined {
  const lo = rules.greaterThan.case ? { kind: rules.greaterThan.case, value: rules.greaterThan.value! } : undefined;
  const hi = rules.lessThan.case ? { kind: rules.lessThan.case, value: rules.lessThan.value! } : undefined;
  if (!lo && !hi) return undefined;
  const holds = (b: { kind: keyof typeof HOLDS; value: unknown }) => `${v} ${HOLDS[b.kind]} ${kind.literal(b.value)}`;
  const breaks = (b: { kind: keyof typeof HOLDS; value: unknown }) =>
    `${v} ${NEGATED[b.kind]} ${kind.literal(b.value)}`;
  const words = (b: { kind: keyof typeof HOLDS; value: unknown }) => `${WORDS[b.kind]} ${kind.print(b.value)}`;
  if (lo && hi) {
    const between = hi.value >= lo.value;
    const violated = kind.float
      ? `!(${holds(lo)} ${between ? '&&' : '||'} ${holds(hi)})`
      : `${breaks(lo)} ${between ? '||' : '&&'} ${breaks(hi)}`;
    return { violated, id: lo.kind, message: `must be ${words(lo)} ${between ? 'and' : 'or'} ${words(hi)}` };
  }
  const bound = (lo ?? hi)!;
  return {
    violated: kind.float ? `!(${holds(bound)})` : breaks(bound),
    id: bound.kind,
    message: `must be ${words(bound)}`,
  };
}

/** `if (violated) out.push({ field, rule, message });`, or the push alone when `violated` is empty. */
function push(path: string, rule: Rule): string {
  const add = `out.push({ field: ${path}, rule: '${rule.id}', message: ${stringLiteral(rule.message)} });`;
  return rule.violated ? `if (${rule.violated}) ${add}` : add;
}

function elseBlock(lines: string[]): string[] {
  return lines.length === 0 ? [] : ['else {', ...lines.map((l) => `  ${l}`), '}'];
}

const RESERVED = new Set(
  (
    'm at out i raw item codePoints utf8Length wellFormed Math BigInt Number arguments await break case catch class const continue debugger default delete do else enum ' +
    'eval export extends false finally for function if implements import in instanceof interface let new null package ' +
    'private protected public return static super switch this throw true try typeof undefined var void while with yield'
  ).split(' '),
);

/** Suffixes of the locals derived from a field's (its string measures, its list items). */
const DERIVED = ['', 'Chars', 'Bytes', 'Item', 'ItemChars', 'ItemBytes', 'Pairs'];

/**
 * The local holding a field's value: its ts-proto name, unless that is a word the check
 * itself uses or it (or a local derived from it) is taken in this function.
 */
function variable(field: DescField, locals: Set<string>): string {
  const local = tsProtoLocalName(field.name);
  let name = RESERVED.has(local) ? `${local}Value` : local;
  for (let i = 2; DERIVED.some((d) => locals.has(name + d)); i++) name = `${local}${i}`;
  for (const d of DERIVED) locals.add(name + d);
  return name;
}

/** A single-quoted TypeScript string literal. */
function stringLiteral(s: string): string {
  return `'${JSON.stringify(s).slice(1, -1).replace(/\\"/g, '"').replace(/'/g, "\\'")}'`;
}
