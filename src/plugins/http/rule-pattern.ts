// `string.pattern` as a JavaScript RegExp, for the patterns that mean the same in RE2
// (protovalidate's engine) and in JavaScript with the `u` flag: anchors, literals,
// `.`, groups, alternation, classes of literals and ranges, \d \w and their negations,
// and repetition with counts up to 1000. Anything else (\s, \b, flags, named groups,
// POSIX classes, backreferences, ...) is left to protovalidate.

const SYNTAX = '^$\\.*+?()[]{}|/';
const CONTROL_ESCAPES: Record<string, string> = { n: '\n', t: '\t', r: '\r', f: '\f', v: '\v' };
const CLASS_ESCAPES = 'dDwW';
const MAX_REPEAT = 1000;

/** The source of an equivalent `u`-flag RegExp literal (between the slashes), or undefined. */
export function jsPattern(re2: string): string | undefined {
  try {
    const parser = new Parser([...re2]);
    const out = parser.alternation();
    if (parser.pos !== parser.chars.length) return undefined;
    new RegExp(out.source, 'u'); // a last guard: what we print must compile
    return out.source;
  } catch {
    return undefined;
  }
}

interface Piece {
  source: string;
  /** Whether it holds a counted repetition (RE2 limits nesting them). */
  counted: boolean;
}

class Unsupported extends Error {}

class Parser {
  pos = 0;
  constructor(readonly chars: string[]) {}

  alternation(): Piece {
    const branches = [this.sequence()];
    while (this.peek() === '|') {
      this.pos++;
      branches.push(this.sequence());
    }
    return { source: branches.map((b) => b.source).join('|'), counted: branches.some((b) => b.counted) };
  }

  private sequence(): Piece {
    let source = '';
    let counted = false;
    for (let c = this.peek(); c !== undefined && c !== '|' && c !== ')'; c = this.peek()) {
      const atom = this.atom();
      const repeat = atom.anchor ? undefined : this.quantifier();
      if (repeat?.counted && atom.counted) throw new Unsupported();
      source += atom.source + (repeat?.source ?? '');
      counted ||= atom.counted || (repeat?.counted ?? false);
    }
    return { source, counted };
  }

  private atom(): Piece & { anchor?: boolean } {
    const c = this.next();
    switch (c) {
      case '^':
      case '$':
        return { source: c, counted: false, anchor: true };
      case '.':
        return { source: '[^\\n]', counted: false }; // RE2's `.` excludes only \n
      case '(': {
        const capture = !(this.peek() === '?' && this.chars[this.pos + 1] === ':');
        if (!capture) this.pos += 2;
        else if (this.peek() === '?') throw new Unsupported();
        const inner = this.alternation();
        if (this.next() !== ')') throw new Unsupported();
        return { source: `(${capture ? '' : '?:'}${inner.source})`, counted: inner.counted };
      }
      case '[':
        return { source: this.characterClass(), counted: false };
      case '\\':
        return { source: this.escape(''), counted: false };
      case '*':
      case '+':
      case '?':
      case '{':
      case '}':
      case ']':
      case ')':
      case undefined:
        throw new Unsupported();
      default:
        return { source: literal(c), counted: false };
    }
  }

  private quantifier(): Piece | undefined {
    const c = this.peek();
    let source: string;
    let counted = false;
    if (c === '*' || c === '+' || c === '?') {
      this.pos++;
      source = c;
    } else if (c === '{') {
      const match = /^\{(\d+)(,(\d*))?\}/.exec(this.chars.slice(this.pos).join(''));
      if (!match) throw new Unsupported(); // RE2 reads a stray `{` as a literal, JavaScript's `u` mode rejects it
      const min = Number(match[1]);
      const max = match[3] === undefined || match[3] === '' ? undefined : Number(match[3]);
      if (min > MAX_REPEAT || (max !== undefined && (max > MAX_REPEAT || max < min))) throw new Unsupported();
      this.pos += match[0].length;
      source = match[0];
      counted = true;
    } else return undefined;
    if (this.peek() === '?') {
      this.pos++;
      source += '?'; // lazy or greedy, whether a string matches is the same
    }
    const after = this.peek();
    if (after === '*' || after === '+' || after === '?' || after === '{') throw new Unsupported();
    return { source, counted };
  }

  private characterClass(): string {
    let source = '[';
    if (this.peek() === '^') {
      this.pos++;
      source += '^';
    }
    if (this.peek() === ']') throw new Unsupported(); // a literal `]` in RE2, an empty class in JavaScript
    let items = 0;
    for (;;) {
      const c = this.next();
      if (c === undefined || c === '[') throw new Unsupported();
      if (c === ']') break;
      items++;
      if (c === '\\' && CLASS_ESCAPES.includes(this.peek() ?? '')) {
        source += `\\${this.next()}`;
        if (this.peek() === '-' && this.chars[this.pos + 1] !== ']') throw new Unsupported();
        continue;
      }
      const low = c === '\\' ? this.escapedChar('-') : c;
      if (this.peek() === '-' && this.chars[this.pos + 1] !== ']') {
        this.pos++;
        const h = this.next();
        if (h === undefined || h === '[' || h === ']') throw new Unsupported();
        const high = h === '\\' ? this.escapedChar('-') : h;
        if (high.codePointAt(0)! < low.codePointAt(0)!) throw new Unsupported();
        source += `${literal(low, '-')}-${literal(high, '-')}`;
      } else source += literal(low, '-');
    }
    if (items === 0) throw new Unsupported();
    return `${source}]`;
  }

  /** After a backslash outside a class: a class escape, or a character. */
  private escape(extra: string): string {
    const c = this.peek();
    if (c !== undefined && CLASS_ESCAPES.includes(c)) {
      this.pos++;
      return `\\${c}`;
    }
    return literal(this.escapedChar(extra));
  }

  /** After a backslash: the character an escape both engines read alike stands for. */
  private escapedChar(extra: string): string {
    const c = this.next();
    if (c === undefined) throw new Unsupported();
    if (SYNTAX.includes(c) || extra.includes(c)) return c;
    const control = CONTROL_ESCAPES[c];
    if (control === undefined) throw new Unsupported();
    return control;
  }

  private peek(): string | undefined {
    return this.chars[this.pos];
  }

  private next(): string | undefined {
    return this.chars[this.pos++];
  }
}

/** One character as it reads in a `u`-flag RegExp literal (escaped when it is syntax, `/`, or not printable). */
function literal(c: string, extra = ''): string {
  if (SYNTAX.includes(c) || extra.includes(c)) return `\\${c}`;
  const code = c.codePointAt(0)!;
  if (code < 0x20 || code === 0x7f || code === 0x2028 || code === 0x2029) return `\\u{${code.toString(16)}}`;
  return c;
}
