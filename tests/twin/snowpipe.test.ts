import { PutObjectCommand } from '@aws-sdk/client-s3';
import { DuckDBInstance } from '@duckdb/node-api';
import { LocalSnowpipe, openWarehouse, query } from '@snowgate/twin';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { gzipSync } from 'node:zlib';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucket, startEmulators, type Emulators } from '../support/emulators';

const line = (id: string) => `{"received_at":"2026-11-22T00:00:00.000Z","request_id":"group","record":{"id":"${id}"}}`;

describe('the local Snowpipe, loading queued files in groups', () => {
  let emulators: Emulators;
  let dir: string;
  beforeAll(async () => {
    emulators = await startEmulators();
    await createBucket(emulators.s3, 'landing');
    dir = mkdtempSync(join(tmpdir(), 'snowgate-pipe-'));
  });
  afterAll(async () => {
    await emulators?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads each good file whole and once, and skips each bad one whole, when they arrive together', async () => {
    const { instance, connection } = await openWarehouse(join(dir, 'warehouse.duckdb'));
    const pipe = new LocalSnowpipe({ s3: emulators.s3, connection, bucket: 'landing', prefix: 'events/' });
    const files: Record<string, string> = {
      'events/a': `${line('a1')}\n${line('a2')}\n`,
      'events/b': `${line('b1')}\nnot json\n${line('b3')}\n`,
      'events/c': `${line('c1')}\n`,
      'events/d': `${line('d1')}\n{"received_at":"yesterday","request_id":"group","record":{"id":"d2"}}\n`,
      'events/e': `${line('e1')}\n${line('e2')}\n${line('e3')}\n`,
    };
    for (const [key, body] of Object.entries(files))
      await emulators.s3.send(new PutObjectCommand({ Bucket: 'landing', Key: key, Body: body }));

    await pipe.refresh(); // one turn: all five queue together
    pipe.notify('events/missing'); // announced, never there
    await pipe.idle();
    await pipe.refresh(); // announced again: nothing loads twice
    await pipe.idle();

    const rows = (await query(connection, `SELECT record->>'id' AS id, source_file, file_row_number FROM raw_events ORDER BY id`)).rows;
    expect(rows).toEqual([
      { id: 'a1', source_file: 'events/a', file_row_number: 1 },
      { id: 'a2', source_file: 'events/a', file_row_number: 2 },
      { id: 'c1', source_file: 'events/c', file_row_number: 1 },
      { id: 'e1', source_file: 'events/e', file_row_number: 1 },
      { id: 'e2', source_file: 'events/e', file_row_number: 2 },
      { id: 'e3', source_file: 'events/e', file_row_number: 3 },
    ]);
    const history = (
      await query(connection, `SELECT file_name, status, row_count, first_error_line_number FROM copy_history ORDER BY file_name`)
    ).rows;
    expect(history).toMatchObject([
      { file_name: 'events/a', status: 'LOADED', row_count: 2 },
      { file_name: 'events/b', status: 'LOAD_FAILED', row_count: 0, first_error_line_number: 2 },
      { file_name: 'events/c', status: 'LOADED', row_count: 1 },
      { file_name: 'events/d', status: 'LOAD_FAILED', row_count: 0, first_error_line_number: 2 },
      { file_name: 'events/e', status: 'LOADED', row_count: 3 },
      { file_name: 'events/missing', status: 'LOAD_FAILED' },
    ]);
    expect(pipe.snapshot()).toMatchObject({ loadedFiles: 3, loadedRows: 6, skippedFiles: 3, alreadyLoaded: 5, queued: 0 });
    connection.closeSync();
    instance.closeSync();
  });

  it('loads a record that repeats a key, from a file the API did not write, with the last value, as ALLOW_DUPLICATE = TRUE does', async () => {
    const { instance, connection } = await openWarehouse(join(dir, 'duplicates.duckdb'));
    const pipe = new LocalSnowpipe({ s3: emulators.s3, connection, bucket: 'landing', prefix: 'foreign/' });
    const file = [
      '{"received_at":"2026-11-22T00:00:00.000Z","request_id":"foreign","record":{"id":"dk-1","n":12345678901234567890,"id":"dk-2"}}',
      '{"received_at":"2026-11-22T00:00:00.000Z","request_id":"foreign","record":{"id":"dk-3","user":{"plan":"pro","\\u0070lan":"free"}}}',
      line('plain'),
    ].join('\n');
    await emulators.s3.send(new PutObjectCommand({ Bucket: 'landing', Key: 'foreign/dup', Body: `${file}\n` }));
    await pipe.refresh();
    await pipe.idle();
    const rows = (
      await query(
        connection,
        `SELECT record->>'id' AS id, record->'user'->>'plan' AS plan, record::VARCHAR AS text FROM raw_events ORDER BY file_row_number`,
      )
    ).rows;
    expect(rows.map((r) => [r.id, r.plan])).toEqual([
      ['dk-2', null],
      ['dk-3', 'free'],
      ['plain', null],
    ]);
    // Only such a line is re-serialized; the others keep their text exactly.
    expect(rows[2]!.text).toBe('{"id":"plain"}');
    connection.closeSync();
    instance.closeSync();
  });

  it('loads who sent each event into the auth and producer columns, as the pipe COPY reads them', async () => {
    const { instance, connection } = await openWarehouse(join(dir, 'callers.duckdb'));
    const pipe = new LocalSnowpipe({ s3: emulators.s3, connection, bucket: 'landing', prefix: 'callers/' });
    const at = '"received_at":"2026-11-22T00:00:00.000Z","request_id":"r"';
    const body = [
      `{${at},"auth":"apiKey","producer":"acme-web","record":{"id":"p-1"}}`,
      `{${at},"auth":"iam","producer":"arn:aws:sts::123456789012:assumed-role/orders/w1","record":{"id":"p-2"}}`,
      `{${at},"auth":"jwt","producer":"svc-billing","record":{"id":"p-3"}}`,
      `{${at},"record":{"id":"p-4"}}`,
    ].join('\n');
    await emulators.s3.send(new PutObjectCommand({ Bucket: 'landing', Key: 'callers/1', Body: body }));
    await pipe.refresh();
    await pipe.idle();
    expect((await query(connection, `SELECT record->>'id' AS id, auth, producer FROM raw_events ORDER BY id`)).rows).toEqual([
      { id: 'p-1', auth: 'apiKey', producer: 'acme-web' },
      { id: 'p-2', auth: 'iam', producer: 'arn:aws:sts::123456789012:assumed-role/orders/w1' },
      { id: 'p-3', auth: 'jwt', producer: 'svc-billing' },
      { id: 'p-4', auth: null, producer: null },
    ]);
    connection.closeSync();
    instance.closeSync();
  });

  it('keeps one row per event in raw_events_latest: per caller, a string id apart from a number id, the latest received', async () => {
    const { instance, connection } = await openWarehouse(join(dir, 'latest.duckdb'));
    const pipe = new LocalSnowpipe({ s3: emulators.s3, connection, bucket: 'landing', prefix: 'latest/' });
    const env = (minute: number, producer: string, record: string) =>
      `{"received_at":"2026-11-22T00:${String(minute).padStart(2, '0')}:00.000Z","request_id":"r${minute}","auth":"apiKey","producer":"${producer}","record":${record}}`;
    const load = async (key: string, lines: string[]) => {
      await emulators.s3.send(new PutObjectCommand({ Bucket: 'landing', Key: key, Body: lines.join('\n') }));
      pipe.notify(key);
      await pipe.idle();
    };
    await load('latest/1', [
      env(1, 'a', '{"id":1,"type":"num"}'),
      env(1, 'a', '{"id":"1","type":"str"}'), // not the same id: a string
      env(1, 'b', '{"id":1,"type":"num","from":"b"}'), // not the same caller
      env(2, 'a', '{"id":"x","v":1}'),
      env(3, 'a', '{"id":"x","v":2}'), // the same event again, received later: kept
    ]);
    // Later loads: a retry received later replaces the row; a late copy of an older delivery does not.
    await load('latest/2', [env(5, 'a', '{"id":1,"type":"num","v":"retried"}'), env(0, 'a', '{"id":"x","v":0}')]);
    const latest = async () =>
      (await query(connection, `SELECT producer, record::VARCHAR AS record FROM raw_events_latest ORDER BY producer, record`)).rows;
    const expected = [
      { producer: 'a', record: '{"id":"1","type":"str"}' },
      { producer: 'a', record: '{"id":"x","v":2}' },
      { producer: 'a', record: '{"id":1,"type":"num","v":"retried"}' },
      { producer: 'b', record: '{"id":1,"type":"num","from":"b"}' },
    ];
    expect(await latest()).toEqual(expected);
    // Kept as it loads, not computed per query: no window over raw_events when it is read.
    const plan = (await query(connection, `EXPLAIN SELECT * FROM raw_events_latest WHERE received_at > '2026-11-22'`)).rows
      .map((r) => String(r.explain_value))
      .join('\n');
    expect(plan).toContain('raw_events_unique');
    expect(plan).not.toMatch(/WINDOW|raw_events[^_]/);
    // The same rows as deduplicating all of history at once.
    const full = await query(
      connection,
      `SELECT producer, record::VARCHAR AS record FROM raw_events
       QUALIFY row_number() OVER (PARTITION BY auth, producer, json_type(record, '$.id') = 'VARCHAR', record->>'$.id'
         ORDER BY received_at DESC, loaded_at DESC, source_file DESC, file_row_number DESC) = 1
       ORDER BY producer, record`,
    );
    expect(full.rows).toEqual(expected);
    connection.closeSync();
    instance.closeSync();
  });

  it('opens a warehouse made before the auth and producer columns: adds them, and fills raw_events_latest from history', async () => {
    const path = join(dir, 'older.duckdb');
    const older = await DuckDBInstance.create(path);
    const c = await older.connect();
    await c.run(`CREATE TABLE raw_events (record JSON NOT NULL, received_at TIMESTAMPTZ NOT NULL, request_id VARCHAR NOT NULL,
      source_file VARCHAR NOT NULL, file_row_number BIGINT NOT NULL, loaded_at TIMESTAMPTZ NOT NULL)`);
    await c.run(`INSERT INTO raw_events VALUES ('{"id":"o-1","v":1}', '2026-11-01', 'r', 'f', 1, now()),
      ('{"id":"o-1","v":2}', '2026-11-02', 'r', 'f', 2, now()), ('{"id":"o-2"}', '2026-11-01', 'r', 'f', 3, now())`);
    c.closeSync();
    older.closeSync();
    const { instance, connection } = await openWarehouse(path);
    const columns = (await query(connection, `SELECT column_name FROM information_schema.columns WHERE table_name = 'raw_events'`)).rows;
    expect(columns.map((r) => r.column_name).slice(-2)).toEqual(['auth', 'producer']);
    expect((await query(connection, `SELECT record::VARCHAR AS record FROM raw_events_latest ORDER BY record`)).rows).toEqual([
      { record: '{"id":"o-1","v":2}' },
      { record: '{"id":"o-2"}' },
    ]);
    connection.closeSync();
    instance.closeSync();
  });
});

describe('the local Snowpipe on a stage that switched compression', () => {
  it('loads gzip and uncompressed landing files side by side, each once, the same rows', async () => {
    const emulators = await startEmulators();
    const dir = mkdtempSync(join(tmpdir(), 'snowgate-pipe-'));
    try {
      await createBucket(emulators.s3, 'mixed');
      const { instance, connection } = await openWarehouse(join(dir, 'warehouse.duckdb'));
      const pipe = new LocalSnowpipe({ s3: emulators.s3, connection, bucket: 'mixed', prefix: 'events/' });
      const plain = `${line('p1')}\n${line('p2')}\n`;
      const zipped = `${line('z1')}\n${line('z2')}\n${line('z3')}\n`;
      await emulators.s3.send(new PutObjectCommand({ Bucket: 'mixed', Key: 'events/before-switch', Body: plain }));
      await emulators.s3.send(new PutObjectCommand({ Bucket: 'mixed', Key: 'events/after-switch.gz', Body: gzipSync(zipped) }));
      // A corrupt gzip file fails whole, once, instead of being retried forever.
      await emulators.s3.send(new PutObjectCommand({ Bucket: 'mixed', Key: 'events/cut.gz', Body: gzipSync(zipped).subarray(0, 30) }));
      await pipe.refresh();
      await pipe.idle();
      await pipe.refresh();
      await pipe.idle();
      const loaded = await query(connection, `SELECT record->>'id' AS id, source_file FROM raw_events ORDER BY id`);
      expect(loaded.rows.map((r) => [r.id, r.source_file])).toEqual([
        ['p1', 'events/before-switch'],
        ['p2', 'events/before-switch'],
        ['z1', 'events/after-switch.gz'],
        ['z2', 'events/after-switch.gz'],
        ['z3', 'events/after-switch.gz'],
      ]);
      const history = await query(connection, `SELECT file_name, status, row_count FROM copy_history ORDER BY file_name`);
      expect(history.rows.map((r) => [r.file_name, r.status, Number(r.row_count)])).toEqual([
        ['events/after-switch.gz', 'LOADED', 3],
        ['events/before-switch', 'LOADED', 2],
        ['events/cut.gz', 'LOAD_FAILED', 0],
      ]);
      connection.closeSync();
      instance.closeSync();
    } finally {
      await emulators.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
