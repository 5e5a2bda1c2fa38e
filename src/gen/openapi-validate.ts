// buf.validate (protovalidate) field rules as JSON Schema constraints, where one
// maps onto the other. Rules are read from the `buf.validate.field` extension when
// the protos import buf/validate/validate.proto; otherwise there are none.
// Rules without a JSON Schema twin (CEL, unique, in/not_in on int64...) stay
// server-side only.
import { getExtension, hasExtension, type DescField } from '@bufbuild/protobuf';
import {
  field as fieldRulesOption,
  type FieldRules,
  type Int32Rules,
  type MapRules,
  type RepeatedRules,
  type StringRules,
} from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';
import type { JsonSchema } from './openapi-schema.js';

export type { FieldRules } from '@bufbuild/protovalidate/gen/buf/validate/validate_pb.js';

/** The bounds every 32-bit and floating-point rule message shares. */
type NumberRules = Pick<Int32Rules, 'lessThan' | 'greaterThan' | 'in'>;

/** The rules every item of a repeated field must meet (`repeated.items`). */
export function itemRules(rules: FieldRules | undefined): FieldRules | undefined {
  return rules?.type.case === 'repeated' ? rules.type.value.items : undefined;
}

/** A field's buf.validate.field rules, or undefined when it has none. */
export function fieldRulesOf(field: DescField): FieldRules | undefined {
  const options = field.proto.options;
  return options && hasExtension(options, fieldRulesOption) ? getExtension(options, fieldRulesOption) : undefined;
}

/**
 * Constraints for a field's schema. `value` is a singular field (or one item of a
 * repeated one); `list` and `map` take the repeated and map rules.
 */
export function ruleConstraints(rules: FieldRules | undefined, shape: 'value' | 'list' | 'map'): JsonSchema {
  const type = rules?.type;
  if (!type?.case) return {};
  if (shape === 'list') return type.case === 'repeated' ? listConstraints(type.value) : {};
  if (shape === 'map') return type.case === 'map' ? mapConstraints(type.value) : {};
  switch (type.case) {
    case 'string':
      return stringConstraints(type.value);
    case 'int32':
    case 'uint32':
    case 'sint32':
    case 'fixed32':
    case 'sfixed32':
    case 'float':
    case 'double':
      return numberConstraints(type.value);
    default:
      // bytes: lengths count bytes, which the base64 text does not show directly; the rest has no JSON Schema twin.
      return {};
  }
}

function listConstraints(r: RepeatedRules): JsonSchema {
  const out: JsonSchema = {};
  setCount(out, 'minItems', r.minItems);
  setCount(out, 'maxItems', r.maxItems);
  if (r.unique === true) out['uniqueItems'] = true;
  return out;
}

function mapConstraints(r: MapRules): JsonSchema {
  const out: JsonSchema = {};
  setCount(out, 'minProperties', r.minPairs);
  setCount(out, 'maxProperties', r.maxPairs);
  return out;
}

function stringConstraints(r: StringRules): JsonSchema {
  const out: JsonSchema = {};
  const len = positive(r.len);
  if (len !== undefined) {
    out['minLength'] = len;
    out['maxLength'] = len;
  }
  setCount(out, 'minLength', r.minLen);
  setCount(out, 'maxLength', r.maxLen);
  const patterns: string[] = [];
  if (r.pattern) patterns.push(r.pattern);
  if (r.prefix) patterns.push(`^${escapeRegExp(r.prefix)}`);
  if (r.suffix) patterns.push(`${escapeRegExp(r.suffix)}$`);
  if (r.contains) patterns.push(escapeRegExp(r.contains));
  // JSON Schema takes one pattern per schema; further ones go into allOf.
  if (patterns.length > 0) out['pattern'] = patterns[0];
  if (patterns.length > 1) out['allOf'] = patterns.slice(1).map((p) => ({ pattern: p }));
  if (r.in.length > 0) out['enum'] = r.in;
  if (r.const) out['const'] = r.const;
  const format = STRING_FORMATS[r.wellKnown.case ?? ''];
  if (format && r.wellKnown.value === true) out['format'] = format;
  return out;
}

function numberConstraints(r: NumberRules): JsonSchema {
  const out: JsonSchema = {};
  if (r.lessThan.case === 'lt') out['exclusiveMaximum'] = r.lessThan.value;
  if (r.lessThan.case === 'lte') out['maximum'] = r.lessThan.value;
  if (r.greaterThan.case === 'gt') out['exclusiveMinimum'] = r.greaterThan.value;
  if (r.greaterThan.case === 'gte') out['minimum'] = r.greaterThan.value;
  if (r.in.length > 0) out['enum'] = r.in;
  return out;
}

const STRING_FORMATS: Record<string, string> = {
  email: 'email',
  hostname: 'hostname',
  ipv4: 'ipv4',
  ipv6: 'ipv6',
  uri: 'uri',
  uriRef: 'uri-reference',
  uuid: 'uuid',
};

/** Lengths and counts are uint64 in the rules (bigint); zero means "not set" for these. */
function positive(value: bigint | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  return n > 0 ? n : undefined;
}

function setCount(out: JsonSchema, key: string, value: bigint | undefined): void {
  const n = positive(value);
  if (n !== undefined) out[key] = n;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
