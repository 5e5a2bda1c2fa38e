// What JSON.parse lets through in a request body but protojson refuses, found in one
// pass over the text before parsing: nesting deep enough to overflow the stack later,
// and a key given twice in one object (JSON.parse keeps the last silently).

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;

/** An object being read: its keys so far (made with the second key), and whether a key comes next. */
interface OpenObject {
  first?: string;
  keys?: Set<string>;
  keyNext: boolean;
}

/**
 * Why a JSON text cannot be a request body although it may parse, or undefined.
 * Malformed text is left to the parser, which says where it breaks.
 */
export function jsonShapeProblem(text: string, maxDepth: number): string | undefined {
  // One entry per open object or array; arrays are undefined.
  const open: (OpenObject | undefined)[] = [];
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i + 1;
      let escaped = false;
      for (i = start; i < text.length; i++) {
        const s = text.charCodeAt(i);
        if (s === BACKSLASH) {
          escaped = true;
          i++;
        } else if (s === QUOTE) break;
      }
      const top = open[open.length - 1];
      if (top?.keyNext) {
        top.keyNext = false;
        const key = keyText(text.slice(start, i), escaped);
        if (key !== undefined && seenBefore(top, key)) return `key ${JSON.stringify(key)} appears twice in one object`;
      }
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (open.length >= maxDepth) return `nested deeper than ${maxDepth} levels`;
      open.push(c === OPEN_OBJECT ? { keyNext: true } : undefined);
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      open.pop();
    } else if (c === COMMA) {
      const top = open[open.length - 1];
      if (top) top.keyNext = true;
    }
  }
  return undefined;
}

/** A key as JSON.parse reads it: escapes decoded (`"\u0061"` is `"a"`); undefined when malformed. */
function keyText(raw: string, escaped: boolean): string | undefined {
  if (!escaped) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return undefined;
  }
}

function seenBefore(object: OpenObject, key: string): boolean {
  if (object.first === undefined) {
    object.first = key;
    return false;
  }
  object.keys ??= new Set([object.first]);
  if (object.keys.has(key)) return true;
  object.keys.add(key);
  return false;
}
