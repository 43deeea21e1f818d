import fc from 'fast-check';

/** Bodies from "almost right" to "anything at all". */
const recordArb = fc
  .dictionary(fc.oneof(fc.string(), fc.constantFrom('id', '__proto__', 'constructor', 'prototype')), fc.jsonValue({ maxDepth: 3 }), {
    maxKeys: 5,
  })
  .chain((rest) =>
    fc.oneof(
      fc.constant(rest),
      fc
        .oneof(
          fc.string(),
          fc.integer(),
          fc.double(),
          fc.constant(null),
          fc.boolean(),
          fc.constant(''),
          fc.array(fc.integer(), { maxLength: 2 }),
        )
        .map((id) => ({ ...rest, id })),
    ),
  );

/** A record's text that repeats a key, at the top level or one down, sometimes escaped (`"\\u0069d"` is `"id"`). */
const duplicateKeyRecordArb = fc
  .tuple(
    recordArb,
    fc.constantFrom(['"id"', '"id"'], ['"id"', '"\\u0069d"'], ['"__proto__"', '"__proto__"'], ['"a"', '"\\u0061"']),
    fc.jsonValue({ maxDepth: 2 }),
    fc.boolean(),
  )
  .map(([r, [first, second], value, nested]) => {
    const members = JSON.stringify(r).slice(1, -1);
    const repeated = `${first}:${JSON.stringify(value)},${second}:"again"`;
    return nested ? `{"id":"n","nested":{${repeated}}${members ? `,${members}` : ''}}` : `{${members ? `${members},` : ''}${repeated}}`;
  });

export const bodyArb = fc.oneof(
  recordArb.map((r) => JSON.stringify(r)),
  duplicateKeyRecordArb,
  fc
    .array(
      fc.oneof(
        recordArb.map((r) => JSON.stringify(r)),
        duplicateKeyRecordArb,
      ),
      { maxLength: 8 },
    )
    .map((rs) => `[${rs.join(',')}]`),
  fc
    .array(
      fc.oneof(
        recordArb.map((r) => JSON.stringify(r)),
        duplicateKeyRecordArb,
      ),
      { maxLength: 8 },
    )
    .map((rs) => rs.join('\n')),
  fc.array(recordArb, { maxLength: 8 }).map((rs) => JSON.stringify(rs)),
  fc.array(recordArb, { maxLength: 8 }).map((rs) => rs.map((r) => JSON.stringify(r)).join('\n')),
  fc
    .array(
      fc.oneof(
        recordArb.map((r) => JSON.stringify(r)),
        fc.string(),
      ),
      { maxLength: 6 },
    )
    .map((lines) => lines.join('\n')),
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.string({ unit: 'binary' }),
  fc.string().map((s) => `{"id":"a","x":${s}`),
  fc.constantFrom('', ' ', '\n', '{', '[', ']', 'null', 'NaN', "{'id':1}", '{"id":"\\ud800"}', '{"id":1}garbage', '\ufeff{"id":1}'),
  fc.uint8Array({ maxLength: 64 }),
);

export const contentTypeArb = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/x-ndjson',
  'application/ndjson',
  'application/vnd.acme+json',
  'text/plain',
  'application/json; charset=latin1',
  'application/json,application/json',
  'application/json,application/x-ndjson',
  '',
  null,
);
