// Whether a kind of field appears anywhere in a message, so the HTTP layer's JSON
// rewrites (duration-json.ts, enum-json.ts) only walk the routes whose messages need them.
import type { FieldSchema, MessageSchema } from './route.js';

/** A field's own schema, or its value's for a map. */
function leafOf(field: FieldSchema) {
  return field.kind === 'map' ? field.value : field;
}

type Leaf = ReturnType<typeof leafOf>;

/**
 * A test, remembered per message, of whether a field `matches` appears in a message or
 * in the messages below it that `descend` lets the search into. A recursive message
 * is decided by its other paths.
 */
export function schemaSearch(
  matches: (leaf: Leaf) => boolean,
  descend: (typeName: string) => boolean,
): (schema: MessageSchema) => boolean {
  const known = new WeakMap<MessageSchema, boolean>();
  const search = (schema: MessageSchema, visiting: Set<MessageSchema>): boolean => {
    const cached = known.get(schema);
    if (cached !== undefined) return cached;
    if (visiting.has(schema)) return false;
    visiting.add(schema);
    const found = schema.fields.some((f) => {
      const leaf = leafOf(f);
      if (matches(leaf)) return true;
      return leaf.kind === 'message' && descend(leaf.typeName) && search(leaf.schema(), visiting);
    });
    visiting.delete(schema);
    known.set(schema, found);
    return found;
  };
  return (schema) => search(schema, new Set());
}
