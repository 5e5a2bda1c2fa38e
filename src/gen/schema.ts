// Emits the MessageSchema consts the runtime's HTTP binder reads: for each message
// reachable from a route, its fields with proto and JSON names and kinds.
import { ScalarType, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { FeatureSet_FieldPresence } from '@bufbuild/protobuf/wkt';
import { tsProtoLocalName } from './names.js';
import type { TsFile } from './printer.js';

const SCALAR_NAMES: Record<number, string> = {
  [ScalarType.DOUBLE]: 'double',
  [ScalarType.FLOAT]: 'float',
  [ScalarType.INT32]: 'int32',
  [ScalarType.UINT32]: 'uint32',
  [ScalarType.SINT32]: 'sint32',
  [ScalarType.FIXED32]: 'fixed32',
  [ScalarType.SFIXED32]: 'sfixed32',
  [ScalarType.INT64]: 'int64',
  [ScalarType.UINT64]: 'uint64',
  [ScalarType.SINT64]: 'sint64',
  [ScalarType.FIXED64]: 'fixed64',
  [ScalarType.SFIXED64]: 'sfixed64',
  [ScalarType.BOOL]: 'bool',
  [ScalarType.STRING]: 'string',
  [ScalarType.BYTES]: 'bytes',
};

/** Well-known types are leaves: the binder only needs their type name. */
function isWellKnown(message: DescMessage): boolean {
  return message.typeName.startsWith('google.protobuf.');
}

export class SchemaWriter {
  private readonly names = new Map<string, string>();
  private readonly order: DescMessage[] = [];

  /** `imports` gives each message's ts-proto const, which a schema points to for packing into Any. */
  constructor(private readonly imports: TsFile) {}

  /** The const name holding a message's schema; schedules it (and what it refers to) for output. */
  ref(message: DescMessage): string {
    const existing = this.names.get(message.typeName);
    if (existing) return existing;
    // Declared in the file's own namespace, so a message named `HelloSchema` beside `Hello` is imported under another name.
    const name = this.imports.declare(
      isWellKnown(message) ? `${message.name}Schema` : `${this.imports.message(message)}Schema`,
    );
    this.names.set(message.typeName, name);
    this.order.push(message);
    if (!isWellKnown(message)) for (const field of message.fields) this.fieldMessage(field);
    return name;
  }

  private fieldMessage(field: DescField): void {
    if (field.fieldKind === 'message') this.ref(field.message);
    else if (field.fieldKind === 'list' && field.listKind === 'message') this.ref(field.message);
    else if (field.fieldKind === 'map' && field.mapKind === 'message') this.ref(field.message);
  }

  render(): string {
    return this.order.map((m) => this.renderOne(m)).join('\n\n');
  }

  private renderOne(message: DescMessage): string {
    const name = this.names.get(message.typeName)!;
    const wellKnown = isWellKnown(message);
    const fields = wellKnown ? [] : message.fields.map((f) => `    ${this.fieldSchema(f)},`);
    return [
      `const ${name}: MessageSchema = {`,
      `  typeName: '${message.typeName}',`,
      fields.length ? `  fields: [\n${fields.join('\n')}\n  ],` : '  fields: [],',
      ...(wellKnown ? [] : [`  type: () => ${this.imports.message(message)},`]),
      '};',
    ].join('\n');
  }

  private fieldSchema(field: DescField): string {
    const local = tsProtoLocalName(field.name);
    const head = [
      `name: '${field.name}', jsonName: '${field.jsonName}'`,
      ...(local !== field.jsonName ? [`localName: '${local}'`] : []),
      ...(field.oneof ? [`oneof: '${field.oneof.name}'`] : []),
      ...(tracksPresence(field) ? ['optional: true'] : []),
    ].join(', ');
    switch (field.fieldKind) {
      case 'scalar':
        return `{ ${head}, kind: 'scalar', scalar: '${SCALAR_NAMES[field.scalar]}' }`;
      case 'enum':
        return `{ ${head}, ${enumPart(field.enum)} }`;
      case 'message':
        return `{ ${head}, kind: 'message', typeName: '${field.message.typeName}', schema: () => ${this.names.get(field.message.typeName)} }`;
      case 'list': {
        const rep = `${head}, repeated: true`;
        if (field.listKind === 'scalar') return `{ ${rep}, kind: 'scalar', scalar: '${SCALAR_NAMES[field.scalar]}' }`;
        if (field.listKind === 'enum') return `{ ${rep}, ${enumPart(field.enum)} }`;
        return `{ ${rep}, kind: 'message', typeName: '${field.message.typeName}', schema: () => ${this.names.get(field.message.typeName)} }`;
      }
      case 'map': {
        const valueHead = `name: 'value', jsonName: 'value'`;
        let value: string;
        if (field.mapKind === 'scalar')
          value = `{ ${valueHead}, kind: 'scalar', scalar: '${SCALAR_NAMES[field.scalar]}' }`;
        else if (field.mapKind === 'enum') value = `{ ${valueHead}, ${enumPart(field.enum)} }`;
        else
          value = `{ ${valueHead}, kind: 'message', typeName: '${field.message.typeName}', schema: () => ${this.names.get(field.message.typeName)} }`;
        return `{ ${head}, kind: 'map', key: '${SCALAR_NAMES[field.mapKey]}', value: ${value} }`;
      }
    }
  }
}

function enumPart(e: { typeName: string; values: readonly { name: string; number: number }[] }): string {
  const values = e.values.map((v) => `${v.name}: ${v.number}`).join(', ');
  return `kind: 'enum', enumName: '${e.typeName}', values: { ${values} }`;
}

/** A singular scalar or enum outside any oneof that still tells unset from its default (proto3 `optional`). */
function tracksPresence(field: DescField): boolean {
  return (
    (field.fieldKind === 'scalar' || field.fieldKind === 'enum') &&
    !field.oneof &&
    field.presence === FeatureSet_FieldPresence.EXPLICIT
  );
}
