// google.api.http path templates: parsing and matching.
//
//   Template = "/" Segments [ ":" Verb ]
//   Segment  = "*" | "**" | LITERAL | "{" FieldPath [ "=" Segments ] "}"
//
// A template compiles to a flat list of atoms, each tagged with the variable it feeds,
// so matching a request path is one left-to-right walk over its segments.

export type Atom =
  | { kind: 'literal'; value: string; variable?: number | undefined }
  | { kind: 'wildcard'; variable?: number | undefined }
  | { kind: 'deep'; variable?: number | undefined };

export interface PathTemplate {
  source: string;
  atoms: Atom[];
  /** Field paths of the variables, in order: `['name']`, `['book', 'id']`. */
  variables: string[][];
  /** Per variable: whether it spans segments (`{name=shelves/*}`, `{path=**}`). */
  multiSegment: boolean[];
  verb?: string | undefined;
}

export class TemplateError extends Error {
  override readonly name = 'TemplateError';
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
const LITERAL = /^[A-Za-z0-9\-._~%!$&'()+,;=@]+$/;

export function parseTemplate(source: string): PathTemplate {
  if (!source.startsWith('/')) throw new TemplateError(`path template "${source}" must start with "/"`);
  let body = source.slice(1);
  let verb: string | undefined;
  // The verb is a ":" after the last "/" that is outside braces.
  const lastSlash = body.lastIndexOf('/');
  const lastClose = body.lastIndexOf('}');
  const colon = body.lastIndexOf(':');
  if (colon > lastSlash && colon > lastClose) {
    verb = body.slice(colon + 1);
    body = body.slice(0, colon);
    if (!LITERAL.test(verb)) throw new TemplateError(`path template "${source}" has an invalid verb ":${verb}"`);
  }
  const atoms: Atom[] = [];
  const variables: string[][] = [];
  for (const raw of splitTopLevel(body, source)) {
    if (raw.startsWith('{')) {
      if (!raw.endsWith('}')) throw new TemplateError(`path template "${source}" has an unclosed variable`);
      const inner = raw.slice(1, -1);
      const eq = inner.indexOf('=');
      const fieldPath = (eq < 0 ? inner : inner.slice(0, eq)).split('.');
      if (!fieldPath.every((p) => IDENT.test(p)))
        throw new TemplateError(`path template "${source}" has an invalid variable "{${inner}}"`);
      const index = variables.length;
      variables.push(fieldPath);
      const sub = eq < 0 ? ['*'] : inner.slice(eq + 1).split('/');
      for (const s of sub) atoms.push(plainAtom(s, source, index));
    } else {
      atoms.push(plainAtom(raw, source));
    }
  }
  const deepAt = atoms.findIndex((a) => a.kind === 'deep');
  if (deepAt >= 0 && deepAt !== atoms.length - 1)
    throw new TemplateError(`path template "${source}": "**" must be the last segment`);
  const multiSegment = variables.map((_, v) => {
    const own = atoms.filter((a) => a.variable === v);
    return own.length > 1 || own.some((a) => a.kind === 'deep');
  });
  return { source, atoms, variables, multiSegment, verb };
}

function splitTopLevel(body: string, source: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of body) {
    if (ch === '{') depth++;
    if (ch === '}') depth--;
    if (depth < 0 || depth > 1) throw new TemplateError(`path template "${source}" has unbalanced braces`);
    if (ch === '/' && depth === 0) {
      parts.push(current);
      current = '';
    } else current += ch;
  }
  if (depth !== 0) throw new TemplateError(`path template "${source}" has unbalanced braces`);
  parts.push(current);
  if (parts.some((p) => p === '')) throw new TemplateError(`path template "${source}" has an empty segment`);
  return parts;
}

function plainAtom(segment: string, source: string, variable?: number): Atom {
  if (segment === '*') return { kind: 'wildcard', variable };
  if (segment === '**') return { kind: 'deep', variable };
  if (!LITERAL.test(segment)) throw new TemplateError(`path template "${source}" has an invalid segment "${segment}"`);
  return { kind: 'literal', value: segment, variable };
}

/** A raw URL path (no query) as segments, split once per request for every template tried; undefined if it is not absolute. */
export function splitPath(rawPath: string): string[] | undefined {
  return rawPath.startsWith('/') ? rawPath.slice(1).split('/') : undefined;
}

/** What a template matches, without its variable names: templates of one shape match the same paths. */
export function templateShape(template: PathTemplate): string {
  const segments = template.atoms.map((a) => (a.kind === 'literal' ? a.value : a.kind === 'wildcard' ? '*' : '**'));
  return `/${segments.join('/')}${template.verb === undefined ? '' : `:${template.verb}`}`;
}

/**
 * Matches a URL path, split by splitPath, against a template. Returns the decoded
 * variable values by index, or undefined when it does not match.
 */
export function matchSegments(template: PathTemplate, segments: readonly string[]): string[] | undefined {
  const { atoms } = template;
  const count = segments.length;
  // A verb is the suffix of the last segment; the rest of that segment is matched as usual.
  let last = segments[count - 1]!;
  if (template.verb !== undefined) {
    const suffix = `:${template.verb}`;
    if (!last.endsWith(suffix)) return undefined;
    last = last.slice(0, -suffix.length);
  }
  const deep = atoms.length > 0 && atoms[atoms.length - 1]!.kind === 'deep';
  if (deep ? count < atoms.length - 1 : count !== atoms.length) return undefined;
  // Most variables are one segment: values[v] holds it until a second segment joins it.
  const values: string[] = new Array(template.variables.length);
  for (let a = 0; a < atoms.length; a++) {
    const atom = atoms[a]!;
    if (atom.kind === 'deep') {
      if (atom.variable !== undefined) {
        const rest = segments.slice(a, count - 1);
        if (a < count) rest.push(last);
        const joined = rest.join('/');
        const before = values[atom.variable];
        values[atom.variable] = before === undefined ? joined : joined === '' ? before : `${before}/${joined}`;
      }
      break;
    }
    const seg = a === count - 1 ? last : segments[a]!;
    if (seg === '') return undefined;
    if (atom.kind === 'literal' && seg !== atom.value) return undefined;
    if (atom.variable !== undefined) {
      const before = values[atom.variable];
      values[atom.variable] = before === undefined ? seg : `${before}/${seg}`;
    }
  }
  for (let v = 0; v < values.length; v++) {
    const raw = values[v] ?? '';
    if (raw.includes('%')) {
      try {
        // As google.api.http says: a multi-segment variable is decoded except %2F and %2f,
        // which stay as they are, so an encoded "/" never reads as a segment boundary.
        values[v] = template.multiSegment[v]
          ? raw
              .split('/')
              .map((p) => decodeURIComponent(p.replace(/%2([fF])/g, '%252$1')))
              .join('/')
          : decodeURIComponent(raw);
      } catch {
        return undefined; // malformed percent-encoding never matches
      }
    } else values[v] = raw;
  }
  return values;
}

/** Expands a template with variable values (client side); single-segment values are fully escaped. */
export function expandTemplate(template: PathTemplate, values: string[]): string {
  const out: string[] = [];
  let lastVar = -1;
  for (const atom of template.atoms) {
    if (atom.variable === undefined) {
      if (atom.kind !== 'literal') throw new TemplateError(`cannot expand unnamed wildcard in "${template.source}"`);
      out.push(atom.value);
      continue;
    }
    if (atom.variable === lastVar) continue; // a multi-segment variable is written once
    lastVar = atom.variable;
    const value = values[atom.variable] ?? '';
    out.push(
      template.multiSegment[atom.variable]
        ? value.split('/').map(encodeURIComponent).join('/')
        : encodeURIComponent(value),
    );
  }
  const verb = template.verb !== undefined ? `:${template.verb}` : '';
  return `/${out.join('/')}${verb}`;
}
