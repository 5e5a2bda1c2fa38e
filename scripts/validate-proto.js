// Writes proto/buf/validate/validate.proto from the descriptor that the npm package
// @bufbuild/protovalidate ships (its generated validate_pb.js embeds the file), so
// tsk's bundled copy is exactly the rules the validator enforces. No package ships
// the .proto source itself; this prints the descriptor back as proto source.
//
//   node scripts/validate-proto.js          # (re)writes the file
//   node scripts/validate-proto.js --check  # exits 1 if the file is out of date
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRegistry, getExtension, hasExtension, isFieldSet, ScalarType } from '@bufbuild/protobuf';
import { reflect } from '@bufbuild/protobuf/reflect';
import * as wkt from '@bufbuild/protobuf/wkt';
import * as pv from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const target = path.join(root, 'proto', 'buf', 'validate', 'validate.proto');
const packageJson = JSON.parse(
  fs.readFileSync(path.join(root, 'node_modules', '@bufbuild', 'protovalidate', 'package.json'), 'utf8'),
);

const SCALAR_NAMES = {
  [ScalarType.DOUBLE]: 'double',
  [ScalarType.FLOAT]: 'float',
  [ScalarType.INT64]: 'int64',
  [ScalarType.UINT64]: 'uint64',
  [ScalarType.INT32]: 'int32',
  [ScalarType.FIXED64]: 'fixed64',
  [ScalarType.FIXED32]: 'fixed32',
  [ScalarType.BOOL]: 'bool',
  [ScalarType.STRING]: 'string',
  [ScalarType.BYTES]: 'bytes',
  [ScalarType.UINT32]: 'uint32',
  [ScalarType.SFIXED32]: 'sfixed32',
  [ScalarType.SFIXED64]: 'sfixed64',
  [ScalarType.SINT32]: 'sint32',
  [ScalarType.SINT64]: 'sint64',
};
const LABELS = { 1: 'optional', 2: 'required', 3: 'repeated' };
const MAX_FIELD_NUMBER = 536870911;

/** Every custom option this file can carry: the extensions it declares. */
const extensions = [pv.field, pv.predefined, pv.message, pv.oneof];

export function printValidateProto() {
  const file = pv.file_buf_validate_validate.proto;
  const out = [];
  out.push(
    `// Printed by scripts/validate-proto.js from the descriptor in @bufbuild/protovalidate@${packageJson.version}`,
  );
  out.push('// (Apache-2.0, Copyright Buf Technologies, Inc.). Do not edit: regenerate instead.');
  out.push('');
  out.push(`syntax = "${file.syntax || 'proto2'}";`);
  out.push('');
  out.push(`package ${file.package};`);
  out.push('');
  for (const dep of file.dependency) out.push(`import "${dep}";`);
  out.push('');
  out.push(...printOptions(file.options, '', 'option '));
  out.push('');
  const syntax = file.syntax || 'proto2';
  for (const e of file.extension.length ? groupExtensions(file.extension) : []) out.push(...e, '');
  for (const m of file.messageType) out.push(...printMessage(m, '', syntax), '');
  for (const e of file.enumType) out.push(...printEnum(e, ''), '');
  return `${out
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}

function groupExtensions(fields) {
  const byExtendee = new Map();
  for (const f of fields) byExtendee.set(f.extendee, [...(byExtendee.get(f.extendee) ?? []), f]);
  return [...byExtendee].map(([extendee, fs]) => [
    `extend ${extendee} {`,
    ...fs.map((f) => `  ${printField(f, 'proto2', [])}`),
    '}',
  ]);
}

function printMessage(m, indent, syntax) {
  const inner = `${indent}  `;
  const lines = [`${indent}message ${m.name} {`];
  lines.push(...printOptions(m.options, inner, 'option '));
  const mapEntries = new Map(m.nestedType.filter((n) => n.options?.mapEntry).map((n) => [n.name, n]));
  const oneofFields = new Map();
  m.field.forEach((f) => {
    if (
      f.oneofIndex !== undefined &&
      isFieldSet(f, wkt.FieldDescriptorProtoSchema.field.oneofIndex) &&
      !f.proto3Optional
    ) {
      oneofFields.set(f.oneofIndex, [...(oneofFields.get(f.oneofIndex) ?? []), f]);
    }
  });
  const printedOneofs = new Set();
  for (const f of m.field) {
    const inOneof = isFieldSet(f, wkt.FieldDescriptorProtoSchema.field.oneofIndex) && !f.proto3Optional;
    if (inOneof) {
      if (printedOneofs.has(f.oneofIndex)) continue;
      printedOneofs.add(f.oneofIndex);
      const oneof = m.oneofDecl[f.oneofIndex];
      lines.push(`${inner}oneof ${oneof.name} {`);
      lines.push(...printOptions(oneof.options, `${inner}  `, 'option '));
      for (const member of oneofFields.get(f.oneofIndex))
        lines.push(`${inner}  ${printField(member, syntax, mapEntries, true)}`);
      lines.push(`${inner}}`);
    } else {
      lines.push(`${inner}${printField(f, syntax, mapEntries)}`);
    }
  }
  for (const n of m.nestedType) if (!n.options?.mapEntry) lines.push(...printMessage(n, inner, syntax));
  for (const e of m.enumType) lines.push(...printEnum(e, inner));
  if (m.extension.length) for (const e of groupExtensions(m.extension)) lines.push(...e.map((l) => inner + l));
  for (const r of m.extensionRange) lines.push(`${inner}extensions ${range(r.start, r.end)};`);
  for (const r of m.reservedRange) lines.push(`${inner}reserved ${range(r.start, r.end)};`);
  if (m.reservedName.length) lines.push(`${inner}reserved ${m.reservedName.map((n) => JSON.stringify(n)).join(', ')};`);
  lines.push(`${indent}}`);
  return lines;
}

function range(start, endExclusive) {
  const end = endExclusive - 1;
  if (end === start) return String(start);
  return `${start} to ${end >= MAX_FIELD_NUMBER ? 'max' : end}`;
}

function typeName(f, mapEntries) {
  if (f.type === 11 || f.type === 14 || f.type === 10) {
    const short = f.typeName.slice(f.typeName.lastIndexOf('.') + 1);
    const entry = mapEntries instanceof Map ? mapEntries.get(short) : undefined;
    if (entry && f.label === 3) return `map<${typeName(entry.field[0], [])}, ${typeName(entry.field[1], [])}>`;
    return f.typeName;
  }
  return SCALAR_NAMES[f.type];
}

function printField(f, syntax, mapEntries, inOneof = false) {
  const type = typeName(f, mapEntries);
  let label = '';
  if (!inOneof && !type.startsWith('map<')) {
    if (f.label === 3) label = 'repeated ';
    else if (syntax === 'proto2') label = `${LABELS[f.label]} `;
    else if (f.proto3Optional) label = 'optional ';
  }
  const options = [];
  if (isFieldSet(f, wkt.FieldDescriptorProtoSchema.field.defaultValue)) options.push(`default = ${defaultValue(f)}`);
  options.push(...printOptions(f.options, '', ''));
  return `${label}${type} ${f.name} = ${f.number}${options.length ? ` [${options.join(', ')}]` : ''};`;
}

function defaultValue(f) {
  if (f.type === 9) return JSON.stringify(f.defaultValue);
  return f.defaultValue;
}

function printEnum(e, indent) {
  const inner = `${indent}  `;
  const lines = [`${indent}enum ${e.name} {`];
  lines.push(...printOptions(e.options, inner, 'option '));
  for (const v of e.value) {
    const options = printOptions(v.options, '', '');
    lines.push(`${inner}${v.name} = ${v.number}${options.length ? ` [${options.join(', ')}]` : ''};`);
  }
  for (const r of e.reservedRange)
    lines.push(`${inner}reserved ${r.start === r.end ? r.start : `${r.start} to ${r.end}`};`);
  if (e.reservedName.length) lines.push(`${inner}reserved ${e.reservedName.map((n) => JSON.stringify(n)).join(', ')};`);
  lines.push(`${indent}}`);
  return lines;
}

/** Options as `name = value` items: standard ones by field name, custom ones as `(ext)` aggregates. */
function printOptions(options, indent, prefix) {
  if (!options) return [];
  const items = [];
  const r = reflect(options.$typeName === undefined ? undefined : schemaOf(options), options);
  for (const field of r.fields) {
    if (field.name === 'uninterpreted_option' || !r.isSet(field)) continue;
    items.push(`${field.name} = ${scalarText(field, r.get(field))}`);
  }
  for (const ext of extensions) {
    if (ext.extendee.typeName !== options.$typeName || !hasExtension(options, ext)) continue;
    const value = getExtension(options, ext);
    items.push(`(${ext.typeName}) = ${aggregate(value)}`);
  }
  return items.map((i) => (prefix ? `${indent}${prefix}${i};` : i));
}

function schemaOf(message) {
  const name = message.$typeName.split('.').pop();
  // biome-ignore lint/performance/noDynamicNamespaceImportAccess: the schema is looked up by the message's name; this script is not bundled
  return wkt[`${name}Schema`];
}

function scalarText(field, value) {
  if (field.fieldKind === 'enum') return field.enum.values.find((v) => v.number === value).name;
  if (typeof value === 'string') return quote(value);
  return String(value);
}

/** A message as a text-format aggregate: `{ a: 1 b { c: "x" } }`. */
function aggregate(message) {
  const r = reflect(registry.getMessage(message.$typeName), message);
  const parts = [];
  for (const field of r.fields) {
    if (!r.isSet(field)) continue;
    const value = r.get(field);
    if (field.fieldKind === 'list') {
      for (const item of value) parts.push(`${field.name}${listItem(field, item)}`);
    } else if (field.fieldKind === 'message') {
      parts.push(`${field.name} ${aggregate(value.message)}`);
    } else if (field.fieldKind === 'map') {
      throw new Error(`map options are not printed (${field.name})`);
    } else {
      parts.push(`${field.name}: ${scalarText(field, value)}`);
    }
  }
  return `{ ${parts.join(' ')} }`;
}

function listItem(field, item) {
  if (field.listKind === 'message') return ` ${aggregate(item.message)}`;
  if (field.listKind === 'enum') return `: ${field.enum.values.find((v) => v.number === item).name}`;
  return `: ${typeof item === 'string' ? quote(item) : String(item)}`;
}

/** A text-format string literal: C escapes for quotes, backslashes and control characters. */
function quote(text) {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0);
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\${code.toString(8).padStart(3, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

const registry = createRegistry(
  pv.file_buf_validate_validate,
  wkt.file_google_protobuf_descriptor,
  wkt.file_google_protobuf_duration,
  wkt.file_google_protobuf_field_mask,
  wkt.file_google_protobuf_timestamp,
);

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const text = printValidateProto();
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(target) ? fs.readFileSync(target, 'utf8') : '';
    if (current !== text) {
      console.error(`${path.relative(root, target)} is out of date: run node scripts/validate-proto.js`);
      process.exit(1);
    }
  } else {
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, text);
    console.log(`wrote ${path.relative(root, target)}`);
  }
}
