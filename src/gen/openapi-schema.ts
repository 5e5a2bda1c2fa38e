// JSON Schemas (OpenAPI 3.1 dialect) of messages and enums in their proto3 JSON
// form: int64 as strings, enums by name, well-known types in their JSON shapes,
// buf.validate rules as the JSON Schema constraints they map to.
import { ScalarType, type DescEnum, type DescField, type DescMessage } from '@bufbuild/protobuf';
import { leadingComment } from './comments.js';
import { fieldRulesOf, itemRules, ruleConstraints } from './openapi-validate.js';

export type JsonSchema = Record<string, unknown>;

/** Component key of a message or enum: its full proto name. */
export function componentName(desc: DescMessage | DescEnum): string {
  return desc.typeName;
}

export function refTo(desc: DescMessage | DescEnum): JsonSchema {
  return { $ref: `#/components/schemas/${componentName(desc)}` };
}

const INT64 = new Set([ScalarType.INT64, ScalarType.SINT64, ScalarType.SFIXED64]);
const UINT64 = new Set([ScalarType.UINT64, ScalarType.FIXED64]);
const INT32 = new Set([ScalarType.INT32, ScalarType.SINT32, ScalarType.SFIXED32]);
const UINT32 = new Set([ScalarType.UINT32, ScalarType.FIXED32]);

/** A scalar's proto3 JSON schema as a server writes it (and accepts it). */
export function scalarSchema(scalar: ScalarType): JsonSchema {
  if (INT64.has(scalar)) return { type: 'string', format: 'int64', pattern: '^-?[0-9]+$' };
  if (UINT64.has(scalar)) return { type: 'string', format: 'uint64', pattern: '^[0-9]+$' };
  if (INT32.has(scalar)) return { type: 'integer', format: 'int32' };
  if (UINT32.has(scalar)) return { type: 'integer', format: 'uint32', minimum: 0, maximum: 4294967295 };
  switch (scalar) {
    case ScalarType.DOUBLE:
      return { type: 'number', format: 'double' };
    case ScalarType.FLOAT:
      return { type: 'number', format: 'float' };
    case ScalarType.BOOL:
      return { type: 'boolean' };
    case ScalarType.BYTES:
      return { type: 'string', format: 'byte', contentEncoding: 'base64' };
    default:
      return { type: 'string' };
  }
}

const WRAPPER_SCALARS: Record<string, ScalarType> = {
  'google.protobuf.DoubleValue': ScalarType.DOUBLE,
  'google.protobuf.FloatValue': ScalarType.FLOAT,
  'google.protobuf.Int64Value': ScalarType.INT64,
  'google.protobuf.UInt64Value': ScalarType.UINT64,
  'google.protobuf.Int32Value': ScalarType.INT32,
  'google.protobuf.UInt32Value': ScalarType.UINT32,
  'google.protobuf.BoolValue': ScalarType.BOOL,
  'google.protobuf.StringValue': ScalarType.STRING,
  'google.protobuf.BytesValue': ScalarType.BYTES,
};

/** Well-known types whose JSON form is not an object of their fields. */
function wellKnownSchema(typeName: string): JsonSchema | undefined {
  const wrapped = WRAPPER_SCALARS[typeName];
  if (wrapped !== undefined) {
    const inner = scalarSchema(wrapped);
    return { ...inner, type: [inner['type'], 'null'] };
  }
  switch (typeName) {
    case 'google.protobuf.Timestamp':
      return {
        type: 'string',
        format: 'date-time',
        description: 'RFC 3339 time in UTC, e.g. "2024-01-02T03:04:05.678Z".',
      };
    case 'google.protobuf.Duration':
      return {
        type: 'string',
        pattern: '^-?[0-9]+(\\.[0-9]{1,9})?s$',
        description: 'Seconds with an "s" suffix, e.g. "1.5s".',
      };
    case 'google.protobuf.FieldMask':
      return {
        type: 'string',
        description: 'Comma-separated field paths in lowerCamelCase, e.g. "title,author.name".',
      };
    case 'google.protobuf.Struct':
      return { type: 'object', additionalProperties: true };
    case 'google.protobuf.Value':
      return { description: 'Any JSON value.' };
    case 'google.protobuf.ListValue':
      return { type: 'array', items: {} };
    case 'google.protobuf.Empty':
      return { type: 'object', additionalProperties: false };
    case 'google.protobuf.Any':
      return {
        type: 'object',
        // An empty Any is {}: `@type` is there whenever the Any holds a message.
        properties: {
          '@type': { type: 'string', description: 'type.googleapis.com/<full message name>; absent in an empty Any' },
        },
        additionalProperties: true,
      };
  }
  return undefined;
}

/**
 * Builds the schemas of the messages and enums that requests and responses use,
 * reachable from the roots, keyed by component name.
 */
export class SchemaSet {
  readonly components = new Map<string, JsonSchema>();

  /** A reference to the message (schedules its component); well-known JSON forms are inlined. */
  message(message: DescMessage): JsonSchema {
    const wkt = wellKnownSchema(message.typeName);
    if (wkt) return wkt;
    const key = componentName(message);
    if (!this.components.has(key)) {
      this.components.set(key, {}); // placeholder first: messages may refer to themselves
      this.components.set(key, this.messageBody(message));
    }
    return refTo(message);
  }

  enumRef(e: DescEnum): JsonSchema {
    if (e.typeName === 'google.protobuf.NullValue') return { type: 'null' };
    const key = componentName(e);
    if (!this.components.has(key)) {
      const lines = e.values
        .map((v) => {
          const comment = leadingComment(v);
          return comment ? `- ${v.name}: ${comment.replace(/\s*\n\s*/g, ' ')}` : undefined;
        })
        .filter(Boolean);
      const description = [leadingComment(e), ...lines].filter(Boolean).join('\n\n');
      this.components.set(key, {
        type: 'string',
        enum: e.values.map((v) => v.name),
        ...(description ? { description } : {}),
      });
    }
    return refTo(e);
  }

  /** An object schema of a message's fields, leaving out the named top-level fields. */
  messageBody(message: DescMessage, without: ReadonlySet<string> = new Set()): JsonSchema {
    const properties: Record<string, JsonSchema> = {};
    const required: string[] = [];
    for (const field of message.fields) {
      if (without.has(field.name)) continue;
      properties[field.jsonName] = this.field(field);
      if (fieldRulesOf(field)?.required || field.proto.label === 2 /* proto2 required */) required.push(field.jsonName);
    }
    const description = leadingComment(message);
    return {
      type: 'object',
      ...(description ? { description } : {}),
      ...deprecated(message),
      properties,
      ...(required.length > 0 ? { required } : {}),
    };
  }

  /** A field's schema: its value kind, its rules and its comment. */
  field(field: DescField): JsonSchema {
    let schema: JsonSchema;
    const rules = fieldRulesOf(field);
    switch (field.fieldKind) {
      case 'scalar':
        schema = { ...scalarSchema(field.scalar), ...ruleConstraints(rules, 'value') };
        break;
      case 'enum':
        schema = this.enumRef(field.enum);
        break;
      case 'message':
        // Answers write an unset message as null (and requests may send null for "unset").
        schema = orNull(this.message(field.message));
        break;
      case 'list': {
        const item =
          field.listKind === 'scalar'
            ? { ...scalarSchema(field.scalar), ...ruleConstraints(itemRules(rules), 'value') }
            : field.listKind === 'enum'
              ? this.enumRef(field.enum)
              : this.message(field.message);
        schema = { type: 'array', items: item, ...ruleConstraints(rules, 'list') };
        break;
      }
      case 'map': {
        const value =
          field.mapKind === 'scalar'
            ? scalarSchema(field.scalar)
            : field.mapKind === 'enum'
              ? this.enumRef(field.enum)
              : this.message(field.message);
        schema = {
          type: 'object',
          additionalProperties: value,
          ...mapKeySchema(field.mapKey),
          ...ruleConstraints(rules, 'map'),
        };
        break;
      }
    }
    const notes = [leadingComment(field)];
    if (field.oneof && !field.oneof.proto.name.startsWith('_') && field.oneof.fields.length > 1) {
      notes.push(`At most one of ${field.oneof.fields.map((f) => `\`${f.jsonName}\``).join(', ')} may be set.`);
    }
    const description = notes.filter(Boolean).join('\n\n');
    const described = description
      ? { ...schema, description: [schema['description'], description].filter(Boolean).join('\n\n') }
      : schema;
    return { ...described, ...deprecated(field) };
  }
}

/** OpenAPI's `deprecated` for what the proto marks `deprecated = true` (an rpc, a field, a message). */
export function deprecated(desc: { deprecated: boolean }): { deprecated?: true } {
  return desc.deprecated ? { deprecated: true } : {};
}

/** A schema that also takes null, unless it does already (wrappers, google.protobuf.Value). */
function orNull(schema: JsonSchema): JsonSchema {
  const type = schema['type'];
  if (type === undefined && schema['$ref'] === undefined) return schema; // any JSON value
  if (type === 'null' || (Array.isArray(type) && type.includes('null'))) return schema;
  return { anyOf: [schema, { type: 'null' }] };
}

/** The constraint a map's keys have in JSON, where every key is a string. */
export function mapKeySchema(key: ScalarType): JsonSchema {
  if (key === ScalarType.BOOL) return { propertyNames: { enum: ['true', 'false'] } };
  if (key === ScalarType.STRING) return {};
  if (UINT32.has(key) || UINT64.has(key)) return { propertyNames: { pattern: '^[0-9]+$' } };
  return { propertyNames: { pattern: '^-?[0-9]+$' } };
}
