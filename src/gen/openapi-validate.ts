// buf.validate (protovalidate) field rules as JSON Schema constraints, where one
// maps onto the other. Rules are read from the `buf.validate.field` extension when
// the protos import buf/validate/validate.proto; otherwise there are none.
// Rules without a JSON Schema twin (CEL, unique, in/not_in on int64...) stay
// server-side only.
import { getExtension, hasExtension, type DescExtension, type DescField, type Registry } from '@bufbuild/protobuf';
import type { JsonSchema } from './openapi-schema.js';

type OneofValue = { case: string | undefined; value?: unknown };

/** The part of buf.validate.FieldRules this mapping reads (a dynamic message). */
export interface FieldRules {
  required?: boolean;
  type?: OneofValue;
}

/** The rules every item of a repeated field must meet (`repeated.items`). */
export function itemRules(rules: FieldRules | undefined): FieldRules | undefined {
  return rules?.type?.case === 'repeated' ? (rules.type.value as { items?: FieldRules }).items : undefined;
}

/** A field's buf.validate.field rules, or undefined when it has none. */
export function fieldRulesOf(field: DescField, registry: Registry): FieldRules | undefined {
  const ext = registry.getExtension('buf.validate.field') as DescExtension | undefined;
  const options = field.proto.options;
  if (!ext || !options || !hasExtension(options, ext)) return undefined;
  return getExtension(options, ext) as FieldRules;
}

type Rules = Record<string, unknown>;

const NUMERIC = new Set(['int32', 'uint32', 'sint32', 'fixed32', 'sfixed32', 'float', 'double']);

/**
 * Constraints for a field's schema. `value` is a singular field (or one item of a
 * repeated one); `list` and `map` take the repeated and map rules.
 */
export function ruleConstraints(rules: FieldRules | undefined, shape: 'value' | 'list' | 'map'): JsonSchema {
  const kind = rules?.type?.case;
  if (!rules || !kind) return {};
  const r = (rules.type!.value ?? {}) as Rules;
  const out: JsonSchema = {};
  if (shape === 'list' && kind === 'repeated') {
    setCount(out, 'minItems', r['minItems']);
    setCount(out, 'maxItems', r['maxItems']);
    if (r['unique'] === true) out['uniqueItems'] = true;
    return out;
  }
  if (shape === 'map' && kind === 'map') {
    setCount(out, 'minProperties', r['minPairs']);
    setCount(out, 'maxProperties', r['maxPairs']);
    return out;
  }
  if (shape !== 'value') return out;
  if (kind === 'string') {
    const len = positive(r['len']);
    if (len !== undefined) {
      out['minLength'] = len;
      out['maxLength'] = len;
    }
    setCount(out, 'minLength', r['minLen']);
    setCount(out, 'maxLength', r['maxLen']);
    const patterns: string[] = [];
    if (typeof r['pattern'] === 'string' && r['pattern']) patterns.push(r['pattern']);
    if (typeof r['prefix'] === 'string' && r['prefix']) patterns.push(`^${escapeRegExp(r['prefix'])}`);
    if (typeof r['suffix'] === 'string' && r['suffix']) patterns.push(`${escapeRegExp(r['suffix'])}$`);
    if (typeof r['contains'] === 'string' && r['contains']) patterns.push(escapeRegExp(r['contains']));
    // JSON Schema takes one pattern per schema; further ones go into allOf.
    if (patterns.length > 0) out['pattern'] = patterns[0];
    if (patterns.length > 1) out['allOf'] = patterns.slice(1).map((p) => ({ pattern: p }));
    const inList = r['in'];
    if (Array.isArray(inList) && inList.length > 0) out['enum'] = inList;
    if (typeof r['const'] === 'string' && r['const']) out['const'] = r['const'];
    const format = STRING_FORMATS[(r['wellKnown'] as OneofValue | undefined)?.case ?? ''];
    if (format && (r['wellKnown'] as OneofValue).value === true) out['format'] = format;
    return out;
  }
  if (kind === 'bytes') {
    // Lengths count bytes, which the base64 text does not show directly: left to the server.
    return out;
  }
  if (NUMERIC.has(kind)) {
    const lt = r['lessThan'] as OneofValue | undefined;
    const gt = r['greaterThan'] as OneofValue | undefined;
    if (lt?.case === 'lt') out['exclusiveMaximum'] = Number(lt.value);
    if (lt?.case === 'lte') out['maximum'] = Number(lt.value);
    if (gt?.case === 'gt') out['exclusiveMinimum'] = Number(gt.value);
    if (gt?.case === 'gte') out['minimum'] = Number(gt.value);
    const inList = r['in'];
    if (Array.isArray(inList) && inList.length > 0) out['enum'] = inList.map(Number);
    return out;
  }
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
function positive(value: unknown): number | undefined {
  if (typeof value !== 'bigint' && typeof value !== 'number') return undefined;
  const n = Number(value);
  return n > 0 ? n : undefined;
}

function setCount(out: JsonSchema, key: string, value: unknown): void {
  const n = positive(value);
  if (n !== undefined) out[key] = n;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
