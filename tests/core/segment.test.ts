import { compileContracts, readSchemaDir } from '@snowgate/contracts';
import {
  assessSegmentRequest,
  contractSettingsSchema,
  buildQuarantineObject,
  envelopeSchema,
  limitsSchema,
  presentedWriteKey,
  redactWriteKey,
  segmentBodyFormat,
  segmentResponseOf,
  segmentRouteOf,
  segmentStatusOf,
  type IncomingRequest,
  type SegmentRoute,
} from '@snowgate/core';
import { readFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { fixture } from '../support/events';

const limits = limitsSchema.parse({});

function request(body: string | Uint8Array, headers: Record<string, string> = { 'content-type': 'application/json' }): IncomingRequest {
  const isBase64Encoded = body instanceof Uint8Array;
  return {
    requestId: 'req-1',
    receivedAt: new Date('2026-11-22T04:05:06.789Z'),
    headers,
    body: isBase64Encoded ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded,
  };
}

/** The records on the stream: each envelope's `record`, as text. */
function assess(route: SegmentRoute, body: string | Uint8Array, headers?: Record<string, string>) {
  const a = assessSegmentRequest(request(body, headers), route, limits);
  const records = a.accepted.map((r) => {
    envelopeSchema.parse(JSON.parse(r.data));
    return r.data.slice(r.data.indexOf(',"record":') + ',"record":'.length, -1);
  });
  return { a, status: segmentStatusOf(a), records, keys: a.accepted.map((r) => r.partitionKey) };
}

describe('segmentRouteOf', () => {
  it('names the Segment routes and nothing else', () => {
    expect(['batch', 'track', 'identify', 'page', 'screen', 'group', 'alias'].map((r) => segmentRouteOf(`POST /v1/${r}`))).toEqual([
      'batch',
      'track',
      'identify',
      'page',
      'screen',
      'group',
      'alias',
    ]);
    expect([segmentRouteOf('POST /events'), segmentRouteOf('GET /v1/batch'), segmentRouteOf('POST /v1/import')]).toEqual([
      undefined,
      undefined,
      undefined,
    ]);
  });
});

describe('assessSegmentRequest: what the real SDKs send', () => {
  it("Segment's analytics-node batch: one record per message, its messageId the id and the partition key, its text kept", () => {
    const body = fixture('segment-batch.json');
    const { status, records, keys, a } = assess('batch', body);
    expect(status).toBe(200);
    expect(keys).toEqual(['seg-fixture-1', 'seg-fixture-2', 'seg-fixture-3']);
    const messages = (JSON.parse(body) as { batch: unknown[] }).batch;
    records.forEach((record, i) => {
      const asSent = JSON.stringify(messages[i]);
      // The message's own text, byte for byte, then the id appended.
      expect(record).toBe(`${asSent.slice(0, -1)},"id":${JSON.stringify(keys[i])}}`);
    });
    // The batch's writeKey and sentAt belong to the request, not to a message.
    expect(records.join('\n')).not.toContain('writeKey');
    expect(segmentResponseOf(a)).toEqual({ success: true, requestId: 'req-1', accepted: 3, rejected: 0, errors: [] });
  });

  it("RudderStack's rudder-sdk-node batch: gzipped, labelled application/x-www-form-urlencoded", () => {
    const gz = readFileSync(new URL('../events/rudder-batch.json.gz', import.meta.url));
    const { status, keys, records } = assess('batch', gz, {
      'content-type': 'application/x-www-form-urlencoded',
      'content-encoding': 'gzip',
    });
    expect(status).toBe(200);
    expect(keys).toEqual(['rs-fixture-2', 'rs-fixture-3', 'rs-fixture-4']);
    expect(records.map((r) => (JSON.parse(r) as { type: string }).type)).toEqual(['screen', 'group', 'alias']);
    expect(records[0]).toContain(JSON.stringify((JSON.parse(gunzipSync(gz).toString()) as { batch: unknown[] }).batch[0]).slice(0, -1));
  });

  it('form-urlencoded and text/plain are read as JSON on these routes only when it is JSON; other types are refused', () => {
    expect(segmentBodyFormat('application/x-www-form-urlencoded')).toBe('json');
    expect(segmentBodyFormat('application/json; charset=utf-8')).toBe('json');
    // What analytics.js and RudderStack's beacons send, so that a page's request needs no preflight.
    expect(segmentBodyFormat('text/plain')).toBe('json');
    expect(segmentBodyFormat('text/plain;charset=UTF-8')).toBe('json');
    expect(() => segmentBodyFormat('text/plain; charset=latin1')).toThrow(/charset latin1/);
    for (const type of ['application/x-ndjson', 'text/csv', 'multipart/form-data']) {
      expect(() => segmentBodyFormat(type)).toThrow(/not supported on the Segment routes/);
    }
    expect(() => segmentBodyFormat(undefined)).toThrow(/Content-Type is required/);
    expect(() => segmentBodyFormat('application/x-www-form-urlencoded; charset=latin1')).toThrow(/charset latin1/);
    expect(assess('batch', 'batch=1', { 'content-type': 'application/x-www-form-urlencoded' })).toMatchObject({
      status: 400,
      a: { requestRejection: { reason: 'malformed_json' } },
    });
  });
});

describe('assessSegmentRequest: ids, types, and the batch-level context', () => {
  it('rejects a message without a messageId, or with one that is not a non-empty string, and takes its neighbours (200)', () => {
    const batch = [
      { type: 'track', event: 'ok', messageId: 'm-1' },
      { type: 'track', event: 'none' },
      { type: 'track', messageId: null },
      { type: 'track', messageId: 42 },
      { type: 'track', messageId: '  ' },
      { type: 'track', messageId: 'x'.repeat(257) },
      { type: 'track', messageId: 'm-7', id: 'other' },
      'not an object',
      { type: 'track', messageId: 'm-9', a: 1, a2: { b: 1 } },
    ];
    const body = JSON.stringify({ batch }).replace('"a2":{"b":1}', '"a2":{"b":1,"b":2}');
    const { status, keys, a } = assess('batch', body);
    expect(status).toBe(200);
    expect(keys).toEqual(['m-1']);
    expect(a.rejected.map((r) => [r.index, r.reason])).toEqual([
      [1, 'missing_id'],
      [2, 'missing_id'],
      [3, 'invalid_id'],
      [4, 'invalid_id'],
      [5, 'invalid_id'],
      [6, 'invalid_id'],
      [7, 'not_an_object'],
      [8, 'duplicate_key'],
    ]);
    expect(a.rejected[0]!.message).toBe('message 1 has no messageId');
    // The quarantine keeps each rejected message as received: nothing appended.
    expect(a.rejected[0]!.input).toBe('{"type":"track","event":"none"}');
  });

  it('a batch with no acceptable message is a 422, quarantined', () => {
    const { status, a } = assess('batch', '{"batch":[{"type":"track"}]}');
    expect(status).toBe(422);
    expect(segmentResponseOf(a)).toMatchObject({ success: false, accepted: 0, rejected: 1, errors: [{ index: 0, reason: 'missing_id' }] });
  });

  it('a message that carries an id equal to its messageId is kept as it is', () => {
    expect(assess('batch', '{"batch":[{"messageId":"m-1","id":"m-1"}]}').records).toEqual(['{"messageId":"m-1","id":"m-1"}']);
  });

  it('the single-call routes append the call as type, and refuse a message of another type', () => {
    expect(assess('track', '{"event":"Signed Up","messageId":"t-1"}').records).toEqual([
      '{"event":"Signed Up","messageId":"t-1","id":"t-1","type":"track"}',
    ]);
    expect(assess('identify', '{"type":"identify", "messageId":"t-2"}').records).toEqual([
      '{"type":"identify", "messageId":"t-2","id":"t-2"}',
    ]);
    const wrong = assess('page', '{"type":"track","messageId":"t-3"}');
    expect([wrong.status, wrong.a.rejected.map((r) => r.reason)]).toEqual([422, ['invalid_type']]);
    const missing = assess('track', '{"event":"x"}');
    expect([missing.status, missing.a.rejected.map((r) => r.reason)]).toEqual([422, ['missing_id']]);
    expect(assess('alias', '["not","an","object"]').a.rejected.map((r) => r.reason)).toEqual(['not_an_object']);
  });

  it("applies the batch's context and integrations, exactly as sent, to each message that has none of its own", () => {
    const body = `{"context":{"ip":"10.0.0.1", "big":12345678901234567890},"batch":[
      {"messageId":"c-1","type":"track"},
      {"messageId":"c-2","type":"track","context":{"ip":"mine"}}
    ],"integrations":{"All":false}}`;
    const { records, a } = assess('batch', body);
    expect(a.rejected).toEqual([]);
    expect(records).toEqual([
      '{"messageId":"c-1","type":"track","id":"c-1","context":{"ip":"10.0.0.1", "big":12345678901234567890},"integrations":{"All":false}}',
      '{"messageId":"c-2","type":"track","context":{"ip":"mine"},"id":"c-2","integrations":{"All":false}}',
    ]);
  });

  it('a batch-level context counts towards the depth of each message it is applied to', () => {
    const deep = `{"context":${'{"a":'.repeat(70)}1${'}'.repeat(70)},"batch":[{"messageId":"d-1"},{"messageId":"d-2","context":{}}]}`;
    const { a } = assess('batch', deep);
    expect(a.rejected.map((r) => [r.index, r.reason])).toEqual([[0, 'too_deep']]);
    expect(a.accepted.map((r) => r.partitionKey)).toEqual(['d-2']);
  });
});

describe('assessSegmentRequest: the body as a whole', () => {
  const cases: [string, string, number, string][] = [
    ['not JSON', '{"batch":[', 400, 'malformed_json'],
    ['an array', '[{"messageId":"a"}]', 422, 'invalid_batch'],
    ['no batch', '{"messageId":"a"}', 422, 'invalid_batch'],
    ['batch not an array', '{"batch":{"messageId":"a"}}', 422, 'invalid_batch'],
    ['empty batch', '{"batch":[]}', 422, 'empty_batch'],
    ['batch twice', '{"batch":[{"messageId":"a"}],"batch":[{"messageId":"b"}]}', 422, 'duplicate_key'],
    ['a key twice in the batch context', '{"batch":[{"messageId":"a"}],"context":{"ip":"1","x":{"ip":1},"ip":"2"}}', 422, 'duplicate_key'],
    ['too many', JSON.stringify({ batch: Array.from({ length: 501 }, (_, i) => ({ messageId: `m-${i}` })) }), 413, 'too_many_records'],
  ];
  it.each(cases)('%s: %s %s', (_name, body, status, reason) => {
    const { a } = assess('batch', body);
    expect([segmentStatusOf(a), a.requestRejection?.reason]).toEqual([status, reason]);
  });

  it('quarantines a body refused whole with its writeKey redacted', () => {
    const body = '{"batch":[],"writeKey":"sg_aaaaaaaaaaaa_secret","sentAt":"2026-01-01T00:00:00Z"}';
    const { a } = assess('batch', body);
    const q = buildQuarantineObject(a, { status: 422, headers: {}, sourceIp: undefined, maxInputBytes: 1_000_000 });
    expect(q.body?.data).toBe('{"batch":[],"writeKey":"[redacted]","sentAt":"2026-01-01T00:00:00Z"}');
    expect(redactWriteKey(Buffer.from('{"writeKey" : "a\\"b"}'))).toBe('{"writeKey":"[redacted]"}');
    // A compressed body is kept as received (the SDKs that compress send no writeKey in the body).
    const gz = gzipSync('{"batch":[]}');
    const compressed = assessSegmentRequest(
      request(gz, { 'content-type': 'application/json', 'content-encoding': 'gzip' }),
      'batch',
      limits,
    );
    expect(Buffer.from(compressed.body as Uint8Array)).toEqual(gz);
  });
});

describe('the browser SDKs: their routes, text/plain bodies, and the write key they carry', () => {
  it("names analytics.js's routes by initial, its batch route and RudderStack's beacon route", () => {
    expect(
      ['POST /v1/t', 'POST /v1/p', 'POST /v1/i', 'POST /v1/g', 'POST /v1/a', 'POST /v1/s', 'POST /v1/b', 'POST /beacon/v1/batch'].map(
        segmentRouteOf,
      ),
    ).toEqual(['track', 'page', 'identify', 'group', 'alias', 'screen', 'batch', 'batch']);
    expect(segmentRouteOf('POST /v1/m')).toBeUndefined();
    expect(segmentRouteOf('POST /v1/x')).toBeUndefined();
  });

  it('keeps the writeKey analytics.js puts in each message out of the record, and out of a quarantined message', () => {
    const text = '{"type":"track","writeKey":"sg_aaaaaaaaaaaa_secret","messageId":"ajs-1","event":"Clicked"}';
    const single = assess('track', text, { 'content-type': 'text/plain' });
    expect(single.status).toBe(200);
    expect(single.records).toEqual(['{"type":"track","messageId":"ajs-1","event":"Clicked","id":"ajs-1"}']);
    // First, last, and with spaces around it.
    const first = assess('track', '{ "writeKey" : "k" , "messageId":"a"}', { 'content-type': 'text/plain' });
    expect(first.records).toEqual(['{ "messageId":"a","id":"a","type":"track"}']);
    const last = assess('page', '{"messageId":"b","writeKey":"k"}', { 'content-type': 'text/plain' });
    expect(last.records).toEqual(['{"messageId":"b","id":"b","type":"page"}']);
    // analytics.js's batch: {writeKey, batch, sentAt}, each message with its key too.
    const batch = JSON.stringify({
      writeKey: 'sg_aaaaaaaaaaaa_secret',
      batch: [
        { type: 'track', messageId: 'ajs-2', writeKey: 'sg_aaaaaaaaaaaa_secret', event: 'A' },
        { type: 'track', writeKey: 'sg_aaaaaaaaaaaa_secret', event: 'no id' },
      ],
      sentAt: '2026-12-01T00:00:00Z',
    });
    const b = assess('batch', batch, { 'content-type': 'text/plain' });
    expect(b.status).toBe(200);
    expect(b.records.join('')).not.toContain('secret');
    expect(b.a.rejected.map((r) => r.reason)).toEqual(['missing_id']);
    const q = buildQuarantineObject(b.a, { status: 200, headers: {}, sourceIp: undefined, maxInputBytes: 1_000_000 });
    expect(JSON.stringify(q)).not.toContain('secret');
    expect(JSON.stringify(q)).toContain('[redacted]');
  });

  it('finds the write key where each SDK puts it: the Basic header, the writeKey query parameter, the body', () => {
    const basic = `Basic ${Buffer.from('sg_h:').toString('base64')}`;
    expect(presentedWriteKey({ headers: { authorization: basic }, query: { writeKey: 'sg_q' }, body: '{"writeKey":"sg_b"}' })).toBe('sg_h');
    expect(presentedWriteKey({ headers: {}, query: { writeKey: 'sg_q' }, body: '{"writeKey":"sg_b"}' })).toBe('sg_q');
    expect(presentedWriteKey({ headers: {}, body: '{"batch":[],"writeKey":"sg_b"}' })).toBe('sg_b');
    expect(presentedWriteKey({ headers: {}, body: '{"batch":[{"writeKey":"nested"}]}' })).toBeUndefined();
    expect(presentedWriteKey({ headers: {}, body: 'eyJ3cml0ZUtleSI6IngifQ==', isBase64Encoded: true })).toBeUndefined();
    expect(presentedWriteKey({ headers: {}, body: '{"writeKey":' })).toBeUndefined();
  });
});

describe('assessSegmentRequest with schema contracts', () => {
  const contracts = (unknown: 'accept' | 'reject') =>
    compileContracts(readSchemaDir('schemas'), contractSettingsSchema.parse({ mode: 'enforce', unknown }));

  it('checks each record as it is stored: with the call of a single-call route as its type', () => {
    const a = assessSegmentRequest(request('{"messageId":"t-1","event":"x"}'), 'track', limits, contracts('reject'));
    expect(a.rejected.map((r) => [r.reason, r.message])).toEqual([['unknown_schema', expect.stringContaining('type "track"')]]);
  });

  it('stores the same text, and counts repeated keys the same, whether contracts run or not', () => {
    const body =
      '{"context":{"ip":"1"},"batch":[{"messageId":"c-1","type":"track"},{"messageId":"c-2","a":1,"a":2},{"messageId":"c-3","context":{}}]}';
    const off = assessSegmentRequest(request(body), 'batch', limits);
    const on = assessSegmentRequest(request(body), 'batch', limits, contracts('accept'));
    expect(on.accepted.map((r) => r.data.replace(/^.*"record":/, ''))).toEqual(off.accepted.map((r) => r.data.replace(/^.*"record":/, '')));
    expect([on.rejected.map((r) => r.reason), off.rejected.map((r) => r.reason)]).toEqual([['duplicate_key'], ['duplicate_key']]);
    expect(on.accepted.map((r) => r.partitionKey)).toEqual(['c-1', 'c-3']);
  });
});
