import { describe, expect, it } from 'vitest';
import { scanJson, spanText } from '@snowgate/core';

describe('scanJson', () => {
  it('finds the exact text of each top-level array element', () => {
    const text = ' [ {"a":"],[{"} , 2,"x\\"]" ,[[]], {"b":{"c":[1,2]}} ] ';
    const scan = scanJson(text);
    expect(scan.elements!.map((s) => text.slice(s.start, s.end))).toEqual(['{"a":"],[{"}', '2', '"x\\"]"', '[[]]', '{"b":{"c":[1,2]}}']);
    expect(scan.elements!.map((s) => s.depth)).toEqual([1, 0, 0, 2, 3]);
    expect(scan.top.depth).toBe(4);
  });

  it('gives no elements for a non-array and none for an empty array', () => {
    expect(scanJson('{"a":[1]}').elements).toBeNull();
    expect(scanJson('[ ]').elements).toEqual([]);
  });

  it('measures 100,000-deep nesting without recursion', () => {
    const depth = 100_000;
    expect(scanJson('['.repeat(depth) + ']'.repeat(depth)).top.depth).toBe(depth);
  });

  it('flags escapes that are lone surrogates, and only those', () => {
    expect(scanJson('"\\ud83d\\ude00"').top.loneSurrogate).toBe(false);
    expect(scanJson('"\\ud83d"').top.loneSurrogate).toBe(true);
    expect(scanJson('"\\ude00"').top.loneSurrogate).toBe(true);
    expect(scanJson('"\\ud83d\\u0041"').top.loneSurrogate).toBe(true);
    expect(scanJson('"\\\\ud800"').top.loneSurrogate).toBe(false);
    const scan = scanJson('[{"a":"ok"},{"a":"\\udc00"}]');
    expect(scan.elements!.map((e) => e.loneSurrogate)).toEqual([false, true]);
  });

  it('turns a multi-line value into one line', () => {
    const text = '[{\r\n  "a": 1,\n  "b": "x y"\n}]';
    const [element] = scanJson(text).elements!;
    expect(spanText(text, element!)).toBe('{  "a": 1,  "b": "x y"}');
  });
});
