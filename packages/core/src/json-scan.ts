/**
 * A single iterative pass over JSON text that `JSON.parse` has already accepted.
 * It finds what `JSON.parse` does not tell us:
 *
 * - the exact text of each element of a top-level array, so that records are
 *   forwarded *as received* (big integers, key order and escapes untouched);
 * - the nesting depth of each element, without recursion (10,000-deep input is fine);
 * - `\uD800`-style escapes that decode to lone surrogates, which are not Unicode
 *   text and would poison a whole landing file for Snowpipe (`ON_ERROR = SKIP_FILE`);
 * - line breaks between tokens, which must go before a record becomes one NDJSON line;
 * - how many object members the text has, which `JSON.parse` silently merges when
 *   a key repeats (see `duplicateKey`).
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
  /** Object members in the text: the colons outside strings (valid JSON has no other). */
  members: number;
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
const COLON = 0x3a;
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
 * Scans JSON text already validated by `JSON.parse`. With `at`, scans only the
 * object or array that starts at that offset, a value nested in `text` (spans stay
 * offsets into `text`): the Segment routes read the `batch` array of a body so.
 *
 * @example
 * scanJson('[{"id":1}, {"id":2,"a":[1]}]').elements
 * // → [{ start: 1, end: 9, depth: 1, ... }, { start: 11, end: 27, depth: 2, ... }]
 */
export function scanJson(text: string, at?: number): JsonScan {
  const n = text.length;
  let first = at ?? 0;
  while (first < n && isWhitespace(text.charCodeAt(first))) first++;
  let last = n - 1;
  while (last >= first && isWhitespace(text.charCodeAt(last))) last--;

  const top: JsonSpan = { start: first, end: last + 1, depth: 0, loneSurrogate: false, lineBreak: false, members: 0 };
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
      element = { start: i, end: i, depth: 0, loneSurrogate: false, lineBreak: false, members: 0 };
    }

    if (c === QUOTE) {
      inString = true;
    } else if (c === COLON) {
      top.members++;
      if (element) (element as JsonSpan).members++;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth > top.depth) top.depth = depth;
      if (element && depth - 1 > (element as JsonSpan).depth) (element as JsonSpan).depth = depth - 1;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (isArray && depth === 1) closeElement();
      depth--;
      if (at !== undefined && depth === 0) {
        // The nested value ends here; the rest of the text is not its own.
        top.end = i + 1;
        break;
      }
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

/** A key that repeats within one object. */
export interface DuplicateKey {
  /** The key, unescaped. */
  key: string;
  /** Where its second occurrence is, from the root of the value: keys and array indexes, the key itself last. */
  path: (string | number)[];
}

/** Past this depth the parsed value is not walked recursively; the text is read instead (iteratively). */
const WALK_MAX_DEPTH = 1_000;

/**
 * The first key that repeats within one object, at any depth of a value, or
 * undefined. `text` is the value's JSON text alone, `value` what `JSON.parse`
 * made of it, and `scan` its span from `scanJson` (members and depth).
 * Keys are compared unescaped: `"id"` and `"\u0069d"` are one key.
 * `JSON.parse` keeps the last of repeated keys, DuckDB's JSON the first: a record
 * that repeats a key does not say one thing.
 *
 * Cheap when no key repeats, which is nearly always: the scan's member count is
 * compared with the parsed value's own keys (no allocation); only when they
 * differ is the text read again, with a key set per object, to name the key.
 *
 * @example
 * const text = '{"id":1,"a":[{"b":1,"b":2}]}';
 * duplicateKey(text, JSON.parse(text), scanJson(text).top) // → { key: 'b', path: ['a', 0, 'b'] }
 */
export function duplicateKey(text: string, value: unknown, scan: Pick<JsonSpan, 'members' | 'depth'>): DuplicateKey | undefined {
  if (scan.members < 2) return undefined;
  if (scan.depth <= WALK_MAX_DEPTH && countMembers(value) === scan.members) return undefined;
  return locateDuplicateKey(text);
}

/**
 * Keys of every object in a parsed value: `JSON.parse` makes each member an own,
 * enumerable property (`__proto__` included). Only a filter: a polluted prototype
 * can make the count too high, never too low, and then the text decides.
 */
function countMembers(value: unknown): number {
  let count = 0;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const v: unknown = value[i];
      if (typeof v === 'object' && v !== null) count += countMembers(v);
    }
    return count;
  }
  const object = value as Record<string, unknown>;
  for (const key in object) {
    count++;
    const v = object[key];
    if (typeof v === 'object' && v !== null) count += countMembers(v);
  }
  return count;
}

type Frame = { keys: Set<string>; key: string } | { index: number };

function locateDuplicateKey(text: string): DuplicateKey | undefined {
  const end = text.length;
  // One frame per open object (its keys so far, the current one) or array (the current index).
  const frames: Frame[] = [];
  let expectKey = false;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      let j = i + 1;
      let escaped = false;
      for (let d = text.charCodeAt(j); d !== QUOTE && j < end; d = text.charCodeAt(++j)) {
        if (d === BACKSLASH) {
          escaped = true;
          j++;
        }
      }
      if (expectKey) {
        const frame = frames[frames.length - 1] as { keys: Set<string>; key: string };
        const key = escaped ? (JSON.parse(text.slice(i, j + 1)) as string) : text.slice(i + 1, j);
        if (frame.keys.has(key)) {
          const path: (string | number)[] = frames.slice(0, -1).map((f) => ('index' in f ? f.index : f.key));
          path.push(key);
          return { key, path };
        }
        frame.keys.add(key);
        frame.key = key;
        expectKey = false;
      }
      i = j;
    } else if (c === OPEN_BRACE) {
      frames.push({ keys: new Set(), key: '' });
      expectKey = true;
    } else if (c === OPEN_BRACKET) {
      frames.push({ index: 0 });
      expectKey = false;
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      frames.pop();
      expectKey = false;
    } else if (c === COMMA) {
      const frame = frames[frames.length - 1]!;
      if ('index' in frame) frame.index++;
      else expectKey = true;
    }
  }
  return undefined;
}
