import { describe, expect, it } from 'vitest';
import { duplicateKey, scanJson, spanText } from '@snowgate/core';

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

describe('duplicateKey', () => {
  const find = (text: string) => duplicateKey(text, JSON.parse(text), scanJson(text).top);

  it('finds a repeated key at the top level, and none where keys differ', () => {
    expect(find('{"id":"dk-1","id":"dk-2"}')).toEqual({ key: 'id', path: ['id'] });
    expect(find('{"id":"a","ID":"b","i d":1}')).toBeUndefined();
    expect(find('{}')).toBeUndefined();
    expect(find('"id"')).toBeUndefined();
  });

  it('finds it at any depth, with its path through objects and arrays', () => {
    expect(find('{"id":1,"user":{"name":"a","name":"b"}}')).toEqual({ key: 'name', path: ['user', 'name'] });
    expect(find('{"id":1,"items":[{"sku":1},{"sku":2},[0,{"q":1,"q":1}]]}')).toEqual({ key: 'q', path: ['items', 2, 1, 'q'] });
    // The same key in sibling objects, or in an object and its child, is no repetition.
    expect(find('{"a":{"a":{"a":1}},"b":[{"a":1},{"a":1}],"c":{}}')).toBeUndefined();
  });

  it('compares keys unescaped: "id" and "\\u0069d" are one key', () => {
    expect(find('{"id":"a","\\u0069d":"b"}')).toEqual({ key: 'id', path: ['id'] });
    expect(find('{"a\\"b":1,"a\\u0022b":2}')).toEqual({ key: 'a"b', path: ['a"b'] });
    expect(find('{"a\\\\":1,"a\\\\\\\\":2}')).toBeUndefined();
  });

  it('finds __proto__ twice, without touching any prototype', () => {
    expect(find('{"id":1,"__proto__":{"x":1},"__proto__":{"x":2}}')).toEqual({ key: '__proto__', path: ['__proto__'] });
    expect(find('{"id":1,"constructor":{"prototype":{"x":1}},"__proto__":1}')).toBeUndefined();
    expect(({} as { x?: unknown }).x).toBeUndefined();
  });

  it('is not fooled by colons, braces and commas inside strings', () => {
    expect(find('{"a:b":"{\\"a\\":1,\\"a\\":2}","a":"x,\\"a\\":"}')).toBeUndefined();
    expect(find('{"a:b":"c:d","x":[":",","],"a:b":0}')).toEqual({ key: 'a:b', path: ['a:b'] });
  });

  it('reads the text alone past the depth it walks, without recursion', () => {
    const deep = (inner: string) => '{"a":'.repeat(5_000) + inner + '}'.repeat(5_000);
    expect(find(deep('{"k":1,"k":2}'))).toEqual({ key: 'k', path: [...Array(5_000).fill('a'), 'k'] });
    expect(find(deep('{"k":1,"l":2}'))).toBeUndefined();
  });
});

describe('scanJson at an offset', () => {
  it('scans the nested value that starts there, its spans offsets into the whole text, and stops where it ends', () => {
    const text = '{"sentAt":"x","batch":[{"a":1},\n {"b":[2]}],"writeKey":"k","z":{"c":3}}';
    const at = text.indexOf('[');
    const { top, elements } = scanJson(text, at);
    expect([top.start, top.end, text.slice(top.start, top.end)]).toEqual([at, text.indexOf(']}],') + 3, '[{"a":1},\n {"b":[2]}]']);
    expect(elements!.map((e) => [text.slice(e.start, e.end), e.depth, e.members])).toEqual([
      ['{"a":1}', 1, 1],
      ['{"b":[2]}', 2, 1],
    ]);
    // Only the array's own members and line breaks: not those of the rest of the body.
    expect([top.members, top.lineBreak]).toEqual([2, true]);
    expect(scanJson(text).top.members).toBe(7);
  });
});
