// The streaming endpoint's table side in DuckDB: rows, the dedup table and the channel's offset together,
// offsets that outlive the process, a row the pipe cannot read counted and not loaded, a dropped channel.
import { join } from 'node:path';
import { openWarehouse, query } from '@snowgate/twin';
import { describe, expect, it } from 'vitest';
import { DuckDbStreamingSink } from '../../packages/twin/src/streaming-sink';
import { removeDir, tempDataDir } from './support';

const CHANNEL = { database: 'SNOWGATE', schema: 'RAW', pipe: 'RAW_EVENTS_STREAMING_PIPE', channel: 'snowgate-local-shardId-000000000000' };

/** A row as the endpoint hands it over: the parsed object and its NDJSON line's text. */
const row = (id: string, line = 1, extra: Record<string, unknown> = {}) => {
  const value = {
    received_at: '2026-12-07T10:00:00.000Z',
    request_id: `req-${id}`,
    record: { id },
    source_file: 'kinesis:shardId-000000000000:42',
    file_row_number: line,
    loaded_at: '2026-12-07T10:00:01.000Z',
    ...extra,
  };
  return { value, text: JSON.stringify(value) };
};
/** A row as the text arrived, and what JSON.parse makes of it (what the endpoint hands over). */
const rowOfText = (text: string) => ({ text, value: JSON.parse(text) as Record<string, unknown> });

describe('the DuckDB sink of the streaming endpoint', () => {
  it('writes rows, raw_events_unique and the offset together, keeps the offset across a restart, and forgets it when the channel is dropped', async () => {
    const dataDir = tempDataDir();
    const path = join(dataDir, 'warehouse.duckdb');
    try {
      let warehouse = await openWarehouse(path);
      let sink = new DuckDbStreamingSink(warehouse.connection);
      await sink.append(CHANNEL, [row('a'), row('b', 2, { auth: 'apiKey', producer: 'shop' })], '100');
      // The same event again (a new message with the same id): two rows, one kept in raw_events_unique.
      await sink.append(CHANNEL, [row('a', 1, { received_at: '2026-12-07T10:00:02.000Z' })], '200');
      // A row without its request_id is not loaded (ON_ERROR = CONTINUE): counted, and the offset still moves.
      await sink.append(CHANNEL, [row('c'), row('d', 2, { request_id: undefined })], '300');
      expect(await sink.committedOffset(CHANNEL)).toBe('300');
      expect(sink.snapshot()).toEqual([
        expect.objectContaining({ channel: CHANNEL.channel, offsetToken: '300', rowsInserted: 4, rowsErrorCount: 1 }),
      ]);
      expect(sink.snapshot()[0]!.lastErrorMessage).toMatch(/request_id/);
      const tables = async () => ({
        raw: (await query(warehouse.connection, `SELECT record->>'id' AS id, auth, producer FROM raw_events ORDER BY 1, received_at`)).rows,
        unique: (
          await query(warehouse.connection, `SELECT record->>'id' AS id, received_at::VARCHAR AS at FROM raw_events_unique ORDER BY 1`)
        ).rows,
      });
      expect(await tables()).toEqual({
        raw: [
          { id: 'a', auth: null, producer: null },
          { id: 'a', auth: null, producer: null },
          { id: 'b', auth: 'apiKey', producer: 'shop' },
          { id: 'c', auth: null, producer: null },
        ],
        unique: [
          { id: 'a', at: '2026-12-07 10:00:02+00' },
          { id: 'b', at: '2026-12-07 10:00:00+00' },
          { id: 'c', at: '2026-12-07 10:00:00+00' },
        ],
      });
      warehouse.connection.closeSync();
      warehouse.instance.closeSync();

      // A restarted twin: the offset is read back from the warehouse, with the rows it covers.
      warehouse = await openWarehouse(path);
      sink = new DuckDbStreamingSink(warehouse.connection);
      await sink.load();
      expect(await sink.committedOffset(CHANNEL)).toBe('300');
      expect(sink.snapshot()[0]).toMatchObject({ offsetToken: '300', rowsInserted: 4 });
      await sink.drop(CHANNEL);
      expect(await sink.committedOffset(CHANNEL)).toBeUndefined();
      expect((await query(warehouse.connection, 'SELECT count(*) AS n FROM raw_events')).rows).toEqual([{ n: 4 }]);
      warehouse.connection.closeSync();
      warehouse.instance.closeSync();
    } finally {
      removeDir(dataDir);
    }
  });

  it("stores a record as its row's text holds it (big integers, key order, escapes), and one whose text is ambiguous as parsed", async () => {
    const dataDir = tempDataDir();
    const warehouse = await openWarehouse(join(dataDir, 'warehouse.duckdb'));
    try {
      const sink = new DuckDbStreamingSink(warehouse.connection);
      const raw = '{"id":"big-1","n":12345678901234567890,"z":1,"7":0,"a":"\\u00e9\\/"}';
      const tail = '"source_file":"kinesis:shardId-000000000000:42","file_row_number":1,"loaded_at":"2026-12-07T10:00:01.000Z"';
      await sink.append(
        CHANNEL,
        [
          rowOfText(`{"received_at":"2026-12-07T10:00:00.000Z","request_id":"r1","record":${raw},${tail}}`),
          // A nested "record" first, then the row's own: the nested one is not taken for it.
          rowOfText(
            `{"received_at":"2026-12-07T10:00:00.000Z","request_id":"r2","x":{"a":1,"record":{"id":"inner"}},"record":{"id":"outer"},${tail}}`,
          ),
        ],
        '1',
      );
      const { rows } = await query(warehouse.connection, `SELECT request_id, record::VARCHAR AS record FROM raw_events ORDER BY 1`);
      expect(rows).toEqual([
        { request_id: 'r1', record: raw },
        { request_id: 'r2', record: '{"id":"outer"}' },
      ]);
    } finally {
      warehouse.connection.closeSync();
      warehouse.instance.closeSync();
      removeDir(dataDir);
    }
  });
});
