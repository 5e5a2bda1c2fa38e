// TypeScript declarations of messages and enums in their proto3 JSON form (what
// travels over HTTP): int64 as string, enums by name, Timestamp as an RFC 3339
// string, bytes as base64. Used by the browser fetch client, which sends and
// receives that JSON as it is.
import { ScalarType, type DescEnum, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { leadingComment } from './comments.js';
import { tsTypeName } from './names.js';
import { GLOBAL_NAMES, jsdoc } from './printer.js';

const WELL_KNOWN: Record<string, string> = {
  'google.protobuf.Timestamp': 'string',
  'google.protobuf.Duration': 'string',
  'google.protobuf.FieldMask': 'string',
  'google.protobuf.Struct': '{ [key: string]: unknown }',
  'google.protobuf.Value': 'unknown',
  'google.protobuf.ListValue': 'unknown[]',
  'google.protobuf.Empty': 'Record<string, never>',
  'google.protobuf.Any': "{ '@type': string; [key: string]: unknown }",
  'google.protobuf.DoubleValue': 'number | null',
  'google.protobuf.FloatValue': 'number | null',
  'google.protobuf.Int64Value': 'string | null',
  'google.protobuf.UInt64Value': 'string | null',
  'google.protobuf.Int32Value': 'number | null',
  'google.protobuf.UInt32Value': 'number | null',
  'google.protobuf.BoolValue': 'boolean | null',
  'google.protobuf.StringValue': 'string | null',
  'google.protobuf.BytesValue': 'string | null',
};

function scalarType(scalar: ScalarType): string {
  switch (scalar) {
    case ScalarType.INT64:
    case ScalarType.UINT64:
    case ScalarType.SINT64:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return 'string';
    case ScalarType.BOOL:
      return 'boolean';
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return 'string';
    default:
      return 'number';
  }
}

/** Collects the JSON-shape declarations one file needs, with unique local names. */
export class JsonTypeWriter {
  private readonly names = new Map<string, string>();
  private readonly taken = new Set<string>();
  private readonly order: (DescMessage | DescEnum)[] = [];

  constructor(reserved: Iterable<string> = []) {
    for (const r of [...GLOBAL_NAMES, ...reserved]) this.taken.add(r);
  }

  /** The TS type of a message's JSON form; schedules its declaration. */
  message(message: DescMessage): string {
    const wkt = WELL_KNOWN[message.typeName];
    if (wkt) return wkt;
    return this.named(message);
  }

  private named(desc: DescMessage | DescEnum): string {
    const existing = this.names.get(desc.typeName);
    if (existing) return existing;
    const base = tsTypeName(desc);
    let name = base;
    for (let i = 2; this.taken.has(name); i++) name = `${base}${i}`;
    this.taken.add(name);
    this.names.set(desc.typeName, name);
    this.order.push(desc);
    if (desc.kind === 'message') for (const f of desc.fields) this.field(f);
    return name;
  }

  private field(field: DescField): string {
    switch (field.fieldKind) {
      case 'scalar':
        return scalarType(field.scalar);
      case 'enum':
        return this.enumType(field.enum);
      case 'message': {
        // Answers write an unset message as null.
        const type = this.message(field.message);
        return type === 'unknown' || type.endsWith('| null') ? type : `${type} | null`;
      }
      case 'list': {
        const item =
          field.listKind === 'scalar'
            ? scalarType(field.scalar)
            : field.listKind === 'enum'
              ? this.enumType(field.enum)
              : this.message(field.message);
        return /[ |]/.test(item) ? `Array<${item}>` : `${item}[]`;
      }
      case 'map': {
        const value =
          field.mapKind === 'scalar'
            ? scalarType(field.scalar)
            : field.mapKind === 'enum'
              ? this.enumType(field.enum)
              : this.message(field.message);
        return `{ [key: string]: ${value} }`;
      }
    }
  }

  private enumType(e: DescEnum): string {
    return e.typeName === 'google.protobuf.NullValue' ? 'null' : this.named(e);
  }

  render(): string {
    return this.order.map((d) => (d.kind === 'enum' ? this.renderEnum(d) : this.renderMessage(d))).join('\n\n');
  }

  private renderEnum(e: DescEnum): string {
    return `${jsdoc(leadingComment(e), '')}export type ${this.names.get(e.typeName)} = ${e.values.map((v) => `'${v.name}'`).join(' | ')};`;
  }

  private renderMessage(m: DescMessage): string {
    const lines = m.fields.map(
      (f) => `${jsdoc(leadingComment(f), '  ')}  ${f.jsonName}?: ${this.field(f)} | undefined;`,
    );
    return `${jsdoc(leadingComment(m), '')}export interface ${this.names.get(m.typeName)} {\n${lines.join('\n')}${lines.length ? '\n' : ''}}`;
  }
}
