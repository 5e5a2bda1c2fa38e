// dprint (the formatter ts-proto's output goes through, inside ts-poet) takes time that
// grows faster than the text: a 300 KB message file costs about five times as much
// formatted whole as formatted one top-level statement at a time. Top-level statements
// separated by a blank line are formatted independently of each other, so formatting
// each alone and joining them with one blank line gives dprint's output for the whole
// text (test/gen/format-split.test.ts checks that on real ts-proto output). When a
// piece does not format on its own, the whole text is formatted as one, so the result
// and the errors are always dprint's. With a memo (format-memo.ts), pieces formatted
// by an earlier run are taken from it.
import type { PieceMemo } from './format-memo.js';

/** dprint-node's API, as ts-poet calls it. */
export interface Formatter {
  format(fileName: string, text: string, options?: Record<string, unknown>): string;
}

/** Below this size a text is formatted whole: splitting would save nothing. */
const MIN_SPLIT_CHARS = 16 * 1024;

export interface SplitOptions {
  /** Texts shorter than this are formatted whole (default 16 KB: splitting would save nothing). */
  minChars?: number | undefined;
  /** Pieces formatted by earlier runs. */
  memo?: PieceMemo | undefined;
}

/** `formatter` with the same output, formatting large texts one top-level statement at a time. */
export function splitFormatter(formatter: Formatter, split: SplitOptions = {}): Formatter {
  const minChars = split.minChars ?? MIN_SPLIT_CHARS;
  return {
    format(fileName, text, options) {
      if (text.length < minChars) return formatter.format(fileName, text, options);
      const pieces = topLevelPieces(text);
      if (pieces.length < 2) return formatter.format(fileName, text, options);
      const memo = split.memo?.open(pieces[0]!, { fileName, options });
      const out: string[] = [];
      for (const piece of pieces) {
        let formatted = memo?.get(piece);
        if (formatted === undefined) {
          try {
            formatted = formatter.format(fileName, piece, options);
          } catch {
            return formatter.format(fileName, text, options);
          }
          // A piece that formats to nothing (or not to whole lines) cannot be joined safely.
          if (!formatted.endsWith('\n') || formatted.trim() === '') return formatter.format(fileName, text, options);
        }
        memo?.set(piece, formatted);
        out.push(formatted);
      }
      memo?.close();
      return out.join('\n');
    },
  };
}

/**
 * `text` cut before each line that starts a top-level statement after a blank line:
 * at bracket depth 0, outside strings, template literals, comments and regular
 * expressions, not indented, and after a `;` or `}`. Each piece is trimmed. A mistaken cut can only give a
 * piece that does not parse alone, and then the caller formats the text whole.
 */
export function topLevelPieces(text: string): string[] {
  const cuts = [0];
  let depth = 0;
  /** Template literals open around the current position: the depth at which each `${` began. */
  const templates: number[] = [];
  let inTemplate = false;
  let lastSignificant = '';
  let lineStart = true;
  let blankBefore = false;
  let lineBlank = true;
  const n = text.length;
  let i = 0;
  const skipString = (quote: string) => {
    i++;
    while (i < n && text[i] !== quote && text[i] !== '\n') i += text[i] === '\\' ? 2 : 1;
    i++;
  };
  while (i < n) {
    const c = text[i]!;
    if (inTemplate) {
      if (c === '\\') i += 2;
      else if (c === '`') {
        inTemplate = false;
        lastSignificant = '`';
        i++;
      } else if (c === '$' && text[i + 1] === '{') {
        templates.push(depth);
        depth++;
        inTemplate = false;
        lastSignificant = '{';
        i += 2;
      } else i++;
      continue;
    }
    if (c === '\n') {
      blankBefore = lineBlank;
      lineBlank = true;
      lineStart = true;
      i++;
      continue;
    }
    if (c === ' ' || c === '\t' || c === '\r') {
      lineStart = false;
      i++;
      continue;
    }
    // Only after a statement that ended (`;` or `}`), so a cut never splits an expression.
    const ended = lastSignificant === '' || lastSignificant === ';' || lastSignificant === '}';
    if (lineStart && blankBefore && ended && depth === 0 && templates.length === 0 && i > 0) cuts.push(i);
    lineStart = false;
    lineBlank = false;
    if (c === '/' && text[i + 1] === '/') {
      while (i < n && text[i] !== '\n') i++;
      continue;
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? n : end + 2;
      continue;
    }
    if (c === '"' || c === "'") {
      skipString(c);
      lastSignificant = c;
      continue;
    }
    if (c === '`') {
      inTemplate = true;
      i++;
      continue;
    }
    if (c === '/' && (lastSignificant === '' || '(,=:[!&|?{};+-*%<>~^'.includes(lastSignificant))) {
      // A regular expression literal: skip it, classes included.
      i++;
      let inClass = false;
      while (i < n && text[i] !== '\n') {
        const r = text[i]!;
        if (r === '\\') i++;
        else if (r === '[') inClass = true;
        else if (r === ']') inClass = false;
        else if (r === '/' && !inClass) break;
        i++;
      }
      i++;
      lastSignificant = ')';
      continue;
    }
    if (c === '(' || c === '[' || c === '{') depth++;
    else if (c === ')' || c === ']') depth--;
    else if (c === '}') {
      if (templates.length > 0 && templates[templates.length - 1] === depth - 1) {
        templates.pop();
        depth--;
        inTemplate = true;
        i++;
        continue;
      }
      depth--;
    }
    lastSignificant = c;
    i++;
  }
  const pieces: string[] = [];
  for (let k = 0; k < cuts.length; k++) {
    const piece = text.slice(cuts[k], cuts[k + 1] ?? n).trim();
    if (piece !== '') pieces.push(piece);
  }
  return pieces;
}
