import { describe, expect, it } from 'vitest';
import {
  assessRequest,
  envelopeSchema,
  limitsSchema,
  responseOf,
  statusOf,
  type IncomingRequest,
  type RejectionReason,
} from '@snowgate/core';
import { fixture } from '../support/events';

const limits = limitsSchema.parse({});

function request(
  body: string | Uint8Array | undefined,
  contentType: string | null = 'application/json',
  extra: Record<string, string> = {},
): IncomingRequest {
  const isBase64Encoded = body instanceof Uint8Array;
  return {
    requestId: 'req-1',
    receivedAt: new Date('2026-11-22T04:05:06.789Z'),
    headers: { ...(contentType === null ? {} : { 'content-type': contentType }), ...extra },
    body: isBase64Encoded ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded,
  };
}

function outcome(req: IncomingRequest, custom = limits) {
  const a = assessRequest(req, custom);
  const reasons: RejectionReason[] = a.requestRejection ? [a.requestRejection.reason] : a.rejected.map((r) => r.reason);
  return { status: statusOf(a), accepted: a.accepted.length, reasons, a };
}

const nested = (depth: number) => '{"id":1,"a":'.concat('['.repeat(depth - 2), '1', ']'.repeat(depth - 2), '}');

describe('assessRequest: the bad inputs of the contract', () => {
  const cases: [string, IncomingRequest, number, RejectionReason[]][] = [
    ['truncated JSON', request('{"id":"a","x":'), 400, ['malformed_json']],
    ['trailing garbage', request('{"id":"a"} trailing'), 400, ['malformed_json']],
    ['NaN', request('{"id":"a","x":NaN}'), 400, ['malformed_json']],
    ['single quotes', request("{'id':'a'}"), 400, ['malformed_json']],
    ['empty body', request(''), 400, ['empty_body']],
    ['absent body', request(undefined), 400, ['empty_body']],
    ['whitespace body', request(' \n\t '), 400, ['empty_body']],
    ['top-level string', request('"hello"'), 422, ['not_an_object']],
    ['top-level number', request('42'), 422, ['not_an_object']],
    ['top-level null', request('null'), 422, ['not_an_object']],
    ['empty array', request('[]'), 422, ['empty_batch']],
    ['id missing', request('{"type":"x"}'), 422, ['missing_id']],
    ['id null', request('{"id":null}'), 422, ['missing_id']],
    ['id empty string', request('{"id":""}'), 422, ['invalid_id']],
    ['id blank string', request('{"id":"   "}'), 422, ['invalid_id']],
    ['id object', request('{"id":{"a":1}}'), 422, ['invalid_id']],
    ['id array', request('{"id":[1]}'), 422, ['invalid_id']],
    ['id boolean', request('{"id":true}'), 422, ['invalid_id']],
    ['id overflowing number', request('{"id":1e400}'), 422, ['invalid_id']],
    ['id longer than a partition key', request(JSON.stringify({ id: 'x'.repeat(257) })), 422, ['invalid_id']],
    ['10,000-deep nesting', request(nested(10_000)), 422, ['too_deep']],
    ['duplicate key', request('{"id":"dk-1","id":"dk-2"}'), 422, ['duplicate_key']],
    ['escaped lone surrogate', request('{"id":"a","s":"\\ud800"}'), 422, ['invalid_unicode']],
    ['lone surrogate in a string body', request('{"id":"a","s":"\ud800"}'), 400, ['invalid_utf8']],
    [
      'invalid UTF-8 bytes',
      request(new Uint8Array([0x7b, 0x22, 0x69, 0x64, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d])),
      400,
      ['invalid_utf8'],
    ],
    ['body over the limit', request(`{"id":"a","pad":"${'x'.repeat(limits.maxBodyBytes)}"}`), 413, ['body_too_large']],
    // Over maxRecordBytes (1,023,999), in a body under maxBodyBytes (1,037,653).
    ['record over maxRecordBytes', request(JSON.stringify({ id: 'a', pad: 'x'.repeat(1_030_000) })), 413, ['record_too_large']],
    ['501 records', request(JSON.stringify(Array.from({ length: 501 }, (_, i) => ({ id: i })))), 413, ['too_many_records']],
    ['missing content type', request('{"id":"a"}', null), 415, ['unsupported_media_type']],
    ['wrong content type', request('{"id":"a"}', 'text/plain'), 415, ['unsupported_media_type']],
    ['form content type', request('id=a', 'application/x-www-form-urlencoded'), 415, ['unsupported_media_type']],
    ['non-UTF-8 charset', request('{"id":"a"}', 'application/json; charset=iso-8859-1'), 415, ['unsupported_encoding']],
    [
      'unsupported content encoding',
      request('{"id":"a"}', 'application/json', { 'content-encoding': 'compress' }),
      415,
      ['unsupported_encoding'],
    ],
    ['a plain body labelled gzip', request('{"id":"a"}', 'application/json', { 'content-encoding': 'gzip' }), 400, ['invalid_compression']],
    ['conflicting duplicate content types', request('{"id":"a"}', 'application/json,text/plain'), 415, ['unsupported_media_type']],
  ];
  it.each(cases)('%s → %i %j', (_name, req, status, reasons) => {
    const o = outcome(req);
    expect(o.status).toBe(status);
    expect(o.reasons).toEqual(reasons);
    expect(o.accepted).toBe(0);
  });
});

describe('assessRequest: good input', () => {
  it('accepts a single event, its text untouched (big integers included)', () => {
    const body = fixture('single.json');
    const { status, a } = outcome(request(body));
    expect(status).toBe(202);
    expect(a.accepted).toHaveLength(1);
    const [record] = a.accepted;
    expect(record!.partitionKey).toBe('evt-1');
    expect(record!.data).toContain('"amount":12345678901234567890');
    expect(record!.data).not.toMatch(/\n/);
    expect(envelopeSchema.parse(JSON.parse(record!.data))).toMatchObject({
      request_id: 'req-1',
      received_at: '2026-11-22T04:05:06.789Z',
      record: { id: 'evt-1' },
    });
  });

  it('accepts a pretty-printed batch, one line per record, each record exactly as sent', () => {
    const body = fixture('batch.json');
    const { status, a } = outcome(request(body));
    expect(status).toBe(202);
    expect(a.accepted.map((r) => r.partitionKey)).toEqual(['evt-10', '11', 'evt-12']);
    const original = JSON.parse(body) as unknown[];
    a.accepted.forEach((r, i) => {
      expect(r.data.includes('\n')).toBe(false);
      expect(JSON.parse(r.data).record).toEqual(original[i]);
    });
    expect(a.accepted[2]!.data).toContain('"note": "comma, bracket ] and \\"quote\\""');
  });

  it('answers 207 for a mixed batch, with an error for each rejected record', () => {
    const { status, a } = outcome(request(fixture('batch-mixed.json')));
    expect(status).toBe(207);
    expect(a.accepted.map((r) => r.index)).toEqual([0, 4]);
    expect(responseOf(a)).toEqual({
      requestId: 'req-1',
      accepted: 2,
      rejected: 3,
      errors: [
        { index: 1, reason: 'missing_id', message: 'record 1 has no id' },
        { index: 2, reason: 'missing_id', message: 'record 2 has no id' },
        { index: 3, reason: 'not_an_object', message: 'record 3 is a string, not a JSON object' },
      ],
    });
    expect(a.rejected[0]!.input).toBe('{"type": "no id"}');
  });

  it('reads NDJSON, CRLF and blank lines included, and rejects a malformed line alone', () => {
    const ok = outcome(request(fixture('events.ndjson'), 'application/x-ndjson'));
    expect(ok.status).toBe(202);
    expect(ok.a.accepted.map((r) => r.partitionKey)).toEqual(['evt-30', 'evt-31', 'evt-32']);
    const mixed = outcome(request('{"id":1}\n{"id":\n{"id":3}\n', 'application/x-ndjson'));
    expect(mixed.status).toBe(207);
    expect(mixed.a.rejected).toMatchObject([{ index: 1, reason: 'malformed_json', input: '{"id":' }]);
    expect(outcome(request('nope\n{"id":\n', 'application/x-ndjson')).status).toBe(400);
  });

  it('reads base64 bodies like plain ones, and drops a UTF-8 BOM', () => {
    const text = '\ufeff{"id":"ü-1"}';
    const plain = outcome(request(text));
    const base64 = outcome(request(new TextEncoder().encode(text)));
    expect(plain.status).toBe(202);
    expect(base64.status).toBe(202);
    expect(base64.a.accepted[0]!.data).toBe(plain.a.accepted[0]!.data);
  });

  it('accepts agreeing duplicate content types, charset and +json media types', () => {
    expect(outcome(request('{"id":1}', 'application/json, application/json')).status).toBe(202);
    expect(outcome(request('{"id":1}', 'application/json; charset="UTF-8"')).status).toBe(202);
    expect(outcome(request('{"id":1}', 'application/vnd.acme.event+json')).status).toBe(202);
    expect(outcome(request('{"id":1}', 'application/json', { 'content-encoding': 'identity' })).status).toBe(202);
  });

  it('accepts numeric ids and paired surrogates (emoji)', () => {
    expect(outcome(request('{"id":0}')).status).toBe(202);
    expect(outcome(request('{"id":-1.5}')).status).toBe(202);
    expect(outcome(request('{"id":"a","e":"\\ud83d\\ude00"}')).status).toBe(202);
  });

  it('answers 413 when every record is too large, 422 when reasons differ', () => {
    const small = limitsSchema.parse({ maxRecordBytes: 100_000 });
    const big = JSON.stringify({ id: 'a', pad: 'x'.repeat(110_000) });
    expect(outcome(request(`[${big},${big}]`), small).status).toBe(413);
    expect(outcome(request(`[${big},{"x":1}]`), small).status).toBe(422);
  });

  it('applies configured limits', () => {
    const tight = limitsSchema.parse({ maxRecordsPerRequest: 2, maxDepth: 2 });
    expect(outcome(request('[{"id":1},{"id":2},{"id":3}]'), tight).reasons).toEqual(['too_many_records']);
    expect(outcome(request('{"id":1,"a":{"b":1}}'), tight).status).toBe(202);
    expect(outcome(request('{"id":1,"a":{"b":{"c":1}}}'), tight).reasons).toEqual(['too_deep']);
  });
});

describe('limits at their boundaries', () => {
  it('refuses half a million tiny records before building any of them, and says how many', () => {
    const json = outcome(request(`[${'1,'.repeat(500_000)}1]`));
    expect(json.status).toBe(413);
    expect(responseOf(json.a)).toMatchObject({ rejected: 500_001, errors: [{ reason: 'too_many_records' }] });
    const ndjson = outcome(request('{}\n'.repeat(340_000), 'application/x-ndjson'));
    expect(ndjson.status).toBe(413);
    expect(ndjson.reasons).toEqual(['too_many_records']);
  });

  it('takes 500 NDJSON lines and refuses 501, blank lines not counted', () => {
    const lines = (n: number) => Array.from({ length: n }, (_, i) => `{"id":${i}}`).join('\n\n');
    expect(outcome(request(lines(500), 'application/x-ndjson')).status).toBe(202);
    expect(outcome(request(lines(501), 'application/x-ndjson')).reasons).toEqual(['too_many_records']);
  });

  it('takes an id of 256 characters as the partition key, untrimmed', () => {
    const long = outcome(request(JSON.stringify({ id: 'k'.repeat(256) })));
    expect(long.a.accepted[0]!.partitionKey).toHaveLength(256);
    expect(outcome(request('{"id":" a "}')).a.accepted[0]!.partitionKey).toBe(' a ');
  });

  it('accepts a record whose stream entry is exactly maxRecordBytes, and refuses one byte more', () => {
    const tight = limitsSchema.parse({ maxRecordBytes: 300 });
    const body = (pad: number) => JSON.stringify({ id: 'k', p: 'x'.repeat(pad) });
    const base = outcome(request(body(0)), tight).a.accepted[0]!.bytes;
    const exact = 300 - base;
    expect(outcome(request(body(exact)), tight).a.accepted[0]!.bytes).toBe(300);
    expect(outcome(request(body(exact + 1)), tight).reasons).toEqual(['record_too_large']);
  });
});

describe('text as received', () => {
  it('quarantines a rejected pretty-printed record exactly as sent', () => {
    const body = '[\n  {\n    "x": 1\n  },\n  {"id": 2}\n]';
    const { a } = outcome(request(body));
    expect(a.rejected[0]!.input).toBe('{\n    "x": 1\n  }');
  });

  it('puts an NDJSON record holding a CR between tokens on one line', () => {
    const { a } = outcome(request('{"id":1,\r"a":2}\r\n', 'application/x-ndjson'));
    expect(a.accepted[0]!.data).not.toMatch(/[\r\n]/);
    expect(JSON.parse(a.accepted[0]!.data).record).toEqual({ id: 1, a: 2 });
  });

  it('reads a base64-encoded NDJSON body like a plain one', () => {
    const ndjson = fixture('events.ndjson');
    const plain = outcome(request(ndjson, 'application/x-ndjson'));
    const base64 = outcome(request(new TextEncoder().encode(ndjson), 'application/x-ndjson'));
    expect(base64.a.accepted.map((r) => r.data)).toEqual(plain.a.accepted.map((r) => r.data));
  });

  it('treats repeated Content-Types that differ only by a UTF-8 charset as one', () => {
    expect(outcome(request('{"id":1}', 'application/json;charset=utf-8, application/json')).status).toBe(202);
  });
});

describe('duplicate keys', () => {
  it('rejects a record that repeats a key, as missing_id would: 207 beside good records, 422 alone', () => {
    const body =
      '[{"id":"dk-0"},{"id":"dk-1","id":"dk-2"},{"id":"dk-3","user":{"plan":"pro","plan":"free"}},{"id":"dk-4","\\u0069d":"dk-5"}]';
    const { status, a } = outcome(request(body));
    expect(status).toBe(207);
    expect(a.accepted.map((r) => r.partitionKey)).toEqual(['dk-0']);
    expect(responseOf(a).errors).toEqual([
      { index: 1, reason: 'duplicate_key', message: 'record 1 repeats the key "id" at $.id' },
      { index: 2, reason: 'duplicate_key', message: 'record 2 repeats the key "plan" at $.user.plan' },
      { index: 3, reason: 'duplicate_key', message: 'record 3 repeats the key "id" at $.id' },
    ]);
    expect(a.rejected[1]).toMatchObject({
      input: '{"id":"dk-3","user":{"plan":"pro","plan":"free"}}',
      issues: [{ path: ['user', 'plan'], message: 'duplicate key "plan"' }],
    });
    expect(outcome(request('{"id":"dk-1","id":"dk-2"}'))).toMatchObject({ status: 422, reasons: ['duplicate_key'] });
    expect(outcome(request('{"id":"dk-1","id":null}'))).toMatchObject({ status: 422, reasons: ['duplicate_key'] });
  });

  it('finds them in pretty-printed JSON and in NDJSON lines, and names odd keys and array positions', () => {
    const pretty = outcome(request('[\n  {\n    "id": 1,\n    "a": [0, {"x y": 1,\r\n "x y": 2}]\n  }\n]'));
    expect(pretty.a.rejected.map((r) => r.message)).toEqual(['record 0 repeats the key "x y" at $.a[1]["x y"]']);
    const ndjson = outcome(request('{"id":1}\r\n {"id":2,"__proto__":{},"__proto__":{}}\n', 'application/x-ndjson'));
    expect(ndjson.status).toBe(207);
    expect(ndjson.a.rejected).toMatchObject([
      { index: 1, reason: 'duplicate_key', message: 'record 1 repeats the key "__proto__" at $.__proto__' },
    ]);
  });

  it('accepts the same key in different objects', () => {
    expect(outcome(request('{"id":1,"user":{"id":2,"org":{"id":3}},"items":[{"id":4},{"id":5}]}')).status).toBe(202);
  });
});

describe('prototype keys', () => {
  it('accepts __proto__ and constructor.prototype keys as data, and leaves Object.prototype alone', () => {
    const body = '[{"id":1,"__proto__":{"polluted":true}},{"id":2,"constructor":{"prototype":{"polluted":true}}},{"__proto__":{"id":"x"}}]';
    const { status, a } = outcome(request(body));
    expect(status).toBe(207);
    expect(a.accepted.map((r) => r.partitionKey)).toEqual(['1', '2']);
    expect(a.rejected).toMatchObject([{ index: 2, reason: 'missing_id' }]);
    expect(a.accepted[0]!.data).toContain('"__proto__":{"polluted":true}');
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(Object.prototype).not.toHaveProperty('id');
  });
});
