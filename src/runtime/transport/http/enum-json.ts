// Enum numbers the proto does not name, in the JSON a server answers and a client sends.
// proto3 enums are open: a message may hold any 32-bit number (the request decoder keeps
// one, a handler may set one, a newer peer may send one over gRPC). ts-proto's toJSON
// writes such a number as "UNRECOGNIZED", which is no value of the enum and which no
// proto3 JSON reader (tsk's own included) accepts; proto3 JSON writes the number itself.
// This puts the number back, reading it from the message the JSON was made from. Only
// routes whose messages hold an enum pay for the walk.
import type { FieldSchema, MessageSchema } from './route.js';
import { schemaSearch } from './schema-search.js';

type Json = Record<string, unknown>;

/** Whether an enum field appears in this message or any message below it (well-known types aside). */
export const containsEnum = schemaSearch((leaf) => leaf.kind === 'enum', isUserMessage);

/** Replaces what toJSON wrote for each unnamed enum number in `message` by the number. */
export function enumNumbersToJson(message: unknown, json: unknown, schema: MessageSchema): void {
  if (!isObject(message) || !isObject(json) || !containsEnum(schema)) return;
  for (const field of schema.fields) {
    const written = json[field.jsonName];
    const held = message[field.localName ?? field.jsonName];
    if (written === undefined || written === null || held === undefined || held === null) continue;
    const target = field.kind === 'map' ? field.value : field;
    const each = (w: unknown, h: unknown): unknown => {
      if (target.kind === 'enum') return typeof h === 'number' && !isNamed(target, h) ? h : w;
      if (target.kind === 'message' && isUserMessage(target.typeName)) enumNumbersToJson(h, w, target.schema());
      return w;
    };
    if (field.kind === 'map') {
      if (isObject(written) && isObject(held))
        for (const key of Object.keys(written)) written[key] = each(written[key], held[key]);
    } else if (field.repeated) {
      if (Array.isArray(written) && Array.isArray(held)) written.forEach((w, i) => (written[i] = each(w, held[i])));
    } else {
      json[field.jsonName] = each(written, held);
    }
  }
}

function isNamed(field: FieldSchema & { kind: 'enum' }, n: number): boolean {
  for (const name in field.values) if (field.values[name] === n) return true;
  return false;
}

/** Well-known types have their own JSON forms (and an Any's content is converted where it is unpacked). */
function isUserMessage(typeName: string): boolean {
  return !typeName.startsWith('google.protobuf.');
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
