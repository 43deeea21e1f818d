import { PutObjectCommand } from '@aws-sdk/client-s3';
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
