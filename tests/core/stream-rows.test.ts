import {
  assessRequest,
  isAfterOffset,
  limitsSchema,
  packingSchema,
  packRecords,
  rowsOfStreamRecord,
  streamChannelName,
  streamSourceFile,
} from '@snowgate/core';
import { describe, expect, it } from 'vitest';

const limits = limitsSchema.parse({});

/** The Kinesis records the handler writes for these records, or for this body as sent (real envelopes, packed or single). */
function streamRecords(records: unknown[] | string, mode: 'packed' | 'single') {
  const { accepted } = assessRequest(
    {
      requestId: 'req-1',
      receivedAt: new Date('2026-12-04T01:02:03.456Z'),
      headers: { 'content-type': 'application/json' },
      body: typeof records === 'string' ? records : JSON.stringify(records),
      isBase64Encoded: false,
    },
    limits,
  );
  return packRecords(accepted, packingSchema.parse({ mode }), 'req-1');
}

const LOADED = '2026-12-04T01:02:04.000Z';

describe('rows of a Kinesis record for the streaming pipe', () => {
  it('makes one row per envelope of a packed record, numbered by line, with where it was on the stream', () => {
    const [pack] = streamRecords([{ id: 'a', n: 1 }, { id: 'b' }, { id: 3 }], 'packed');
    const { rows, unreadable } = rowsOfStreamRecord(pack!.data, 'shardId-000000000001', '4959', LOADED);
    expect(unreadable).toEqual([]);
    expect(rows.map((row) => JSON.parse(row))).toEqual(
      [{ id: 'a', n: 1 }, { id: 'b' }, { id: 3 }].map((record, i) => ({
        received_at: '2026-12-04T01:02:03.456Z',
        request_id: 'req-1',
        record,
        source_file: 'kinesis:shardId-000000000001:4959',
        file_row_number: i + 1,
        loaded_at: LOADED,
      })),
    );
  });

  it('makes one row of a single record, and keeps the caller (auth, producer)', () => {
    const data = '{"received_at":"2026-12-04T01:02:03.456Z","request_id":"r","auth":"apiKey","producer":"shop","record":{"id":"x"}}';
    expect(rowsOfStreamRecord(data, 'shardId-000000000000', '1', LOADED).rows.map((row) => JSON.parse(row))).toEqual([
      {
        received_at: '2026-12-04T01:02:03.456Z',
        request_id: 'r',
        auth: 'apiKey',
        producer: 'shop',
        record: { id: 'x' },
        source_file: 'kinesis:shardId-000000000000:1',
        file_row_number: 1,
        loaded_at: LOADED,
      },
    ]);
    expect(streamRecords([{ id: 'x' }], 'single')).toHaveLength(1);
  });

  it('keeps the record as received: integers beyond double precision, key order and escapes, no parse round trip', () => {
    const raw = '{"id":"big-1","n":12345678901234567890,"z":1,"7":0,"a":"\\u00e9\\/\\ud83d\\ude00","f":1.0}';
    const [pack] = streamRecords(`[${raw}, {"id":"x"}]`, 'packed');
    const { rows } = rowsOfStreamRecord(pack!.data, 'shardId-000000000001', '4959', LOADED);
    expect(rows[0]).toBe(
      `{"received_at":"2026-12-04T01:02:03.456Z","request_id":"req-1","record":${raw},` +
        `"source_file":"kinesis:shardId-000000000001:4959","file_row_number":1,"loaded_at":"${LOADED}"}`,
    );
    expect(JSON.parse(rows[1]!)).toMatchObject({ record: { id: 'x' }, file_row_number: 2 });
  });

  it("re-serializes a record it cannot take as written: a line not in the envelope's own layout, a record key repeated", () => {
    const reordered = '{"request_id":"r","received_at":"2026-12-04T01:02:03.456Z","record":{"id":1, "b":2}}';
    const repeated = '{"received_at":"2026-12-04T01:02:03.456Z","request_id":"r","record":{"id":1},"record":{"id":2}}';
    const { rows } = rowsOfStreamRecord(`${reordered}\n${repeated}`, 's', '7', LOADED);
    expect(rows).toEqual([
      `{"received_at":"2026-12-04T01:02:03.456Z","request_id":"r","record":{"id":1,"b":2},"source_file":"kinesis:s:7","file_row_number":1,"loaded_at":"${LOADED}"}`,
      `{"received_at":"2026-12-04T01:02:03.456Z","request_id":"r","record":{"id":2},"source_file":"kinesis:s:7","file_row_number":2,"loaded_at":"${LOADED}"}`,
    ]);
  });

  it('reports a line that is not an envelope and still makes rows of the others', () => {
    const good = '{"received_at":"2026-12-04T01:02:03.456Z","request_id":"r","record":{"id":1}}';
    const { rows, unreadable } = rowsOfStreamRecord(`${good}\n{"oops"\n{"record":{"id":2}}\n${good}`, 's', '7', LOADED);
    expect(rows.map((r) => JSON.parse(r).file_row_number)).toEqual([1, 4]);
    expect(unreadable.map((u) => [u.source_file, u.line])).toEqual([
      ['kinesis:s:7', 2],
      ['kinesis:s:7', 3],
    ]);
    expect(unreadable[0]!.reason).toMatch(/^not JSON/);
    expect(unreadable[1]!.reason).toMatch(/^not a Snowgate envelope/);
  });
});

describe('offsets and channels', () => {
  it('compares sequence numbers as numbers, not as text', () => {
    // As text '9' > '10…'; as numbers it is not.
    expect(isAfterOffset('10', '9')).toBe(true);
    expect(isAfterOffset('9', '10')).toBe(false);
    expect(
      isAfterOffset('49590338271490256608559692538361571095921575989136588899', '49590338271490256608559692538361571095921575989136588898'),
    ).toBe(true);
    expect(isAfterOffset('5', '5')).toBe(false);
    expect(isAfterOffset('1', undefined)).toBe(true);
  });

  it('names a channel per shard and a row source per record', () => {
    expect(streamChannelName('snowgate-prod', 'shardId-000000000002')).toBe('snowgate-prod-shardId-000000000002');
    expect(streamSourceFile('shardId-000000000002', '42')).toBe('kinesis:shardId-000000000002:42');
  });
});
