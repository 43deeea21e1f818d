import {
  assessReplay,
  limitsSchema,
  REPLAY_MAX_DECODED_BYTES,
  replayCandidates,
  replayMarkerText,
  type QuarantineObject,
} from '@snowgate/core';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const base: QuarantineObject = {
  schema: 'snowgate.quarantine/v1',
  request_id: 'req-9',
  received_at: '2026-12-03T08:00:00.000Z',
  status: 207,
  reasons: ['missing_id'],
  headers: {},
  accepted: 1,
  rejected: 2,
  records: [],
};
const input = (data: string, truncated = false) => ({ encoding: 'utf8' as const, size: data.length, truncated, data });

describe('replay: what a quarantine object holds, judged again', () => {
  it('recovers rejected records by their index, and says which cannot be replayed', () => {
    const object = {
      ...base,
      records: [
        { index: 1, reason: 'missing_id' as const, message: '', issues: [], input: input('{"uid":1}') },
        { index: 4, reason: 'missing_id' as const, message: '', issues: [], input: input('{"uid":', true) },
      ],
    };
    expect(replayCandidates(object)).toEqual([
      { index: 1, reason: 'missing_id', raw: '{"uid":1}' },
      { index: 4, reason: 'missing_id', raw: undefined, unrecoverable: expect.stringMatching(/^truncated in the quarantine/) },
    ]);
    // A body refused whole: a JSON array's elements, exactly as sent; or its lines.
    const array = {
      ...base,
      status: 415,
      reasons: ['unsupported_media_type' as const],
      records: [],
      body: input('[{"id":1}, {"id" : 2}]'),
    };
    expect(replayCandidates(array).map((c) => c.raw)).toEqual(['{"id":1}', '{"id" : 2}']);
    const lines = { ...array, body: input('{"id":1}\r\n\n{"id": \n{"id":3}') };
    expect(replayCandidates(lines).map((c) => [c.index, c.raw])).toEqual([
      [0, '{"id":1}'],
      [1, '{"id": '],
      [2, '{"id":3}'],
    ]);
  });

  it("keeps the original request id, time and producer, marks each envelope, and maps verdicts to the object's indices", () => {
    const object = { ...base, producer: 'acme' };
    const { accepted, rejected } = assessReplay(
      object,
      [
        { index: 7, text: '{"id":"a"}' },
        { index: 3, text: '{"no":"id"}' },
        { index: 9, text: '{"id":' },
      ],
      limitsSchema.parse({}),
      undefined,
      'run-1',
      'errors/x.json',
    );
    expect(accepted).toEqual([expect.objectContaining({ index: 7, partitionKey: 'a' })]);
    expect(accepted[0]!.data).toBe(
      `{"received_at":"2026-12-03T08:00:00.000Z","request_id":"req-9","producer":"acme",${replayMarkerText({ run: 'run-1', object: 'errors/x.json', index: 7 })},"record":{"id":"a"}}`,
    );
    expect(rejected.map((r) => [r.index, r.reason, r.message])).toEqual([
      [3, 'missing_id', 'record 3 has no id'],
      [9, 'malformed_json', 'record 9 is still not valid JSON'],
    ]);
  });

  it('keeps the caller of the original request (auth and producer), so that the replayed row is the same event', () => {
    const object = { ...base, auth: 'iam' as const, producer: 'arn:aws:iam::123456789012:user/orders' };
    const { accepted } = assessReplay(
      object,
      [{ index: 2, text: '{"id":1}' }],
      limitsSchema.parse({}),
      undefined,
      'run-1',
      'errors/x.json',
    );
    expect(accepted[0]!.data).toMatch(
      /^\{"received_at":"[^"]+","request_id":"req-9","auth":"iam","producer":"arn:aws:iam::123456789012:user\/orders","replay":\{[^}]+\},"record":\{"id":1\}\}$/,
    );
  });

  it('rejects a replayed record that repeats a key, as the handler does', () => {
    const refused = {
      ...base,
      status: 415,
      reasons: ['unsupported_media_type' as const],
      records: [],
      body: input('[{"id":"dk-1","id":"dk-2"}, {"id":"ok"}]'),
    };
    const inputs = replayCandidates(refused).map((c) => ({ index: c.index, text: c.raw! }));
    const { accepted, rejected } = assessReplay(refused, inputs, limitsSchema.parse({}), undefined, 'run-1', 'errors/x.json');
    expect(accepted.map((a) => a.partitionKey)).toEqual(['ok']);
    expect(rejected).toEqual([{ index: 0, reason: 'duplicate_key', message: 'record 0 repeats the key "id" at $.id' }]);
  });

  it("judges in chunks within the stage's limits, by count and by bytes", () => {
    const limits = limitsSchema.parse({ maxBodyBytes: 1_000, maxRecordsPerRequest: 3 });
    const inputs = Array.from({ length: 10 }, (_, i) => ({ index: i, text: JSON.stringify({ id: `r${i}`, pad: 'x'.repeat(300) }) }));
    const { accepted, rejected } = assessReplay(base, inputs, limits, undefined, 'run-1', 'errors/x.json');
    expect(rejected).toEqual([]);
    expect(accepted.map((a) => a.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it("recovers the records of a compressed body refused as too large, however far it inflates, up to replay's own bound", () => {
    // 2,000 records of 4 KB: 8 MB, which brotli takes to about 7 KB (more than 1,100 times).
    const records = Array.from({ length: 2_000 }, (_, i) => ({ id: `r${i}`, pad: 'x'.repeat(4_000) }));
    const compressed = brotliCompressSync(JSON.stringify(records));
    expect(8_000_000 / compressed.byteLength).toBeGreaterThan(1_100);
    const body = { encoding: 'base64' as const, size: compressed.byteLength, truncated: false, data: compressed.toString('base64') };
    const tooLarge = {
      ...base,
      status: 413,
      reasons: ['body_too_large' as const],
      headers: { 'content-encoding': 'br' },
      records: [],
      body,
    };
    const candidates = replayCandidates(tooLarge);
    expect(candidates).toHaveLength(2_000);
    expect(candidates[1999]).toEqual({ index: 1999, reason: 'body_too_large', raw: JSON.stringify(records[1999]) });

    // Past REPLAY_MAX_DECODED_BYTES, said as such (not "does not decompress").
    const bomb = gzipSync(Buffer.alloc(REPLAY_MAX_DECODED_BYTES + 1, 0x20));
    const [refused] = replayCandidates({
      ...tooLarge,
      headers: { 'content-encoding': 'gzip' },
      body: { ...body, size: bomb.byteLength, data: bomb.toString('base64') },
    });
    expect(refused).toEqual({
      index: 0,
      reason: 'body_too_large',
      raw: undefined,
      unrecoverable: `gzip body that decompresses to more than ${REPLAY_MAX_DECODED_BYTES} bytes, replay's bound`,
    });
  });
});
