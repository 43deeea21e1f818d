/**
 * A single iterative pass over JSON text that `JSON.parse` has already accepted.
 * It finds what `JSON.parse` does not tell us:
 *
 * - the exact text of each element of a top-level array, so that records are
 *   forwarded *as received* (big integers, key order and escapes untouched);
 * - the nesting depth of each element, without recursion (10,000-deep input is fine);
 * - `\uD800`-style escapes that decode to lone surrogates, which are not Unicode
 *   text and would poison a whole landing file for Snowpipe (`ON_ERROR = SKIP_FILE`);
 * - line breaks between tokens, which must go before a record becomes one NDJSON line.
 */

export interface JsonSpan {
  /** Offset of the first character of the value. */
  start: number;
  /** Offset one past its last character. */
  end: number;
  /** Nesting depth: 0 for a scalar, 1 for `{}` or `[]`, 2 for `{"a":{}}`... */
  depth: number;
  /** An escape in a string decodes to a lone UTF-16 surrogate. */
  loneSurrogate: boolean;
  /** A CR or LF appears between tokens (never inside a string in valid JSON). */
  lineBreak: boolean;
}

export interface JsonScan {
  /** The whole value, trimmed of surrounding whitespace. */
  top: JsonSpan;
  /** The elements of a top-level array, or `null` when the value is not an array. */
  elements: JsonSpan[] | null;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const COMMA = 0x2c;
const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
const TAB = 0x09;
const LOWER_U = 0x75;

function isWhitespace(c: number): boolean {
  return c === SPACE || c === LF || c === CR || c === TAB;
}

function hex4(text: string, at: number): number {
  return Number.parseInt(text.slice(at, at + 4), 16);
}

const isHighSurrogate = (u: number) => u >= 0xd800 && u <= 0xdbff;
const isLowSurrogate = (u: number) => u >= 0xdc00 && u <= 0xdfff;

/**
 * Scans JSON text already validated by `JSON.parse`.
 *
 * @example
 * scanJson('[{"id":1}, {"id":2,"a":[1]}]').elements
 * // → [{ start: 1, end: 9, depth: 1, ... }, { start: 11, end: 27, depth: 2, ... }]
 */
export function scanJson(text: string): JsonScan {
  const n = text.length;
  let first = 0;
  while (first < n && isWhitespace(text.charCodeAt(first))) first++;
  let last = n - 1;
  while (last >= first && isWhitespace(text.charCodeAt(last))) last--;

  const top: JsonSpan = { start: first, end: last + 1, depth: 0, loneSurrogate: false, lineBreak: false };
  const isArray = text.charCodeAt(first) === OPEN_BRACKET;
  const elements: JsonSpan[] | null = isArray ? [] : null;

  let depth = 0;
  let inString = false;
  let lastNonWs = -1;
  let element: JsonSpan | null = null;

  const closeElement = () => {
    if (element && elements) {
      element.end = lastNonWs + 1;
      elements.push(element);
    }
    element = null;
  };

  for (let i = first; i <= last; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === BACKSLASH) {
        if (text.charCodeAt(i + 1) === LOWER_U) {
          const unit = hex4(text, i + 2);
          let lone = false;
          if (isHighSurrogate(unit)) {
            const pairs = text.charCodeAt(i + 6) === BACKSLASH && text.charCodeAt(i + 7) === LOWER_U && isLowSurrogate(hex4(text, i + 8));
            if (pairs) i += 6;
            else lone = true;
          } else if (isLowSurrogate(unit)) {
            lone = true;
          }
          if (lone) {
            top.loneSurrogate = true;
            if (element) (element as JsonSpan).loneSurrogate = true;
          }
          i += 5;
        } else {
          i += 1;
        }
      } else if (c === QUOTE) {
        inString = false;
        lastNonWs = i;
      }
      continue;
    }

    if (isWhitespace(c)) {
      if (c === LF || c === CR) {
        top.lineBreak = true;
        if (element) (element as JsonSpan).lineBreak = true;
      }
      continue;
    }

    // Entering a new element of the top-level array.
    if (isArray && depth === 1 && element === null && c !== COMMA && c !== CLOSE_BRACKET) {
      element = { start: i, end: i, depth: 0, loneSurrogate: false, lineBreak: false };
    }

    if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > top.depth) top.depth = depth;
      if (element && depth - 1 > (element as JsonSpan).depth) (element as JsonSpan).depth = depth - 1;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (isArray && depth === 1) closeElement();
      depth--;
    } else if (c === COMMA && isArray && depth === 1) {
      closeElement();
      continue;
    }
    lastNonWs = i;
  }
  return { top, elements };
}

/**
 * The text of a span as one line: line breaks between tokens are dropped
 * (valid JSON never has a raw line break inside a string).
 */
export function spanText(text: string, span: JsonSpan): string {
  const raw = text.slice(span.start, span.end);
  return span.lineBreak ? raw.replace(/[\r\n]/g, '') : raw;
}
