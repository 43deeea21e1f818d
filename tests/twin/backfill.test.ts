import { PutObjectCommand } from '@aws-sdk/client-s3';
import { backfillTwin, LocalSnowpipe, openWarehouse, query } from '@snowgate/twin';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucket, startEmulators, type Emulators } from '../support/emulators';

// The backfill on the twin: real S3 (s3rver) and the real warehouse (DuckDB), loading through the local
// Snowpipe. "Now" is fixed so that the files' Firehose date paths are as old as the test says.
const now = new Date('2026-12-07T12:00:00Z');
const line = (id: string) => `{"received_at":"2026-11-20T10:00:00.000Z","request_id":"backfill","record":{"id":"${id}"}}`;

describe('pnpm snowflake:backfill on the twin', () => {
  let emulators: Emulators;
  let dir: string;
  beforeAll(async () => {
    emulators = await startEmulators();
    await createBucket(emulators.s3, 'landing');
    dir = mkdtempSync(join(tmpdir(), 'snowgate-backfill-'));
  });
  afterAll(async () => {
    await emulators?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads the files older than the REFRESH window that nothing loaded, each once: a second run loads nothing', async () => {
    const { instance, connection } = await openWarehouse(join(dir, 'warehouse.duckdb'));
    const files: Record<string, string> = {
      'events/2026/11/19/23/before-window': `${line('w1')}\n`,
      'events/2026/11/20/10/never-loaded': `${line('n1')}\n${line('n2')}\n`, // 17 days old: REFRESH would not reach it
      'events/2026/11/20/11/loaded-by-pipe': `${line('p1')}\n`,
      'events/2026/11/21/09/history-expired': `${line('h1')}\n`,
      'events/2026/11/22/08/bad-line': `${line('b1')}\nnot json\n`,
      'events/2026/12/05/10/recent': `${line('r1')}\n`, // 2 days old: ALTER PIPE … REFRESH's job
    };
    for (const [key, body] of Object.entries(files))
      await emulators.s3.send(new PutObjectCommand({ Bucket: 'landing', Key: key, Body: body }));
    // What the pipe did back then: one file loaded; another loaded, whose load history has since expired
    // (Snowflake keeps it 14 days): only its rows say it was loaded.
    const pipe = new LocalSnowpipe({ s3: emulators.s3, connection, bucket: 'landing', prefix: 'events/' });
    pipe.notify('events/2026/11/20/11/loaded-by-pipe');
    pipe.notify('events/2026/11/21/09/history-expired');
    await pipe.idle();
    await connection.run(`DELETE FROM copy_history WHERE file_name = 'events/2026/11/21/09/history-expired'`);

    const options = {
      s3: emulators.s3,
      connection,
      bucket: 'landing',
      prefix: 'events/',
      window: { from: '2026-11-20', to: '2026-12-06' },
      now,
    };
    const dry = await backfillTwin({ ...options, dryRun: true });
    expect(dry).toMatchObject({
      target: 'twin',
      listed: 5,
      alreadyLoaded: 2,
      failedBefore: [],
      recent: ['2026/12/05/10/recent'],
      toLoad: ['2026/11/20/10/never-loaded', '2026/11/22/08/bad-line'],
      chunks: 1,
      loadedFiles: 0,
    });
    const count = async () => Number((await query(connection, 'SELECT count(*) AS n FROM raw_events')).rows[0]!.n);
    expect(await count()).toBe(2); // the dry run loaded nothing

    const run = await backfillTwin({ ...options, dryRun: false, chunkSize: 1 });
    expect(run).toMatchObject({ chunks: 2, loadedFiles: 1, loadedRows: 2 });
    expect(run.skipped).toEqual([{ file: '2026/11/22/08/bad-line', error: expect.stringMatching(/^Error parsing JSON/) }]);
    expect(await count()).toBe(4);

    const again = await backfillTwin({ ...options, dryRun: false });
    expect(again).toMatchObject({ listed: 5, alreadyLoaded: 3, failedBefore: ['2026/11/22/08/bad-line'], toLoad: [], loadedFiles: 0 });
    const perFile = (
      await query(
        connection,
        'SELECT source_file, count(*) AS n, count(DISTINCT file_row_number) AS lines FROM raw_events GROUP BY 1 ORDER BY 1',
      )
    ).rows;
    expect(perFile).toEqual([
      { source_file: 'events/2026/11/20/10/never-loaded', n: 2, lines: 2 },
      { source_file: 'events/2026/11/20/11/loaded-by-pipe', n: 1, lines: 1 },
      { source_file: 'events/2026/11/21/09/history-expired', n: 1, lines: 1 },
    ]);
    // What a local user sees of it (pnpm query "select * from load_freshness"), as on Snowflake: two loads in the
    // history (one of the three was deleted above), one skipped file.
    const freshness = (await query(connection, 'SELECT * FROM load_freshness')).rows[0]!;
    expect(freshness).toMatchObject({ minutes_since_load: 0, files_loaded_last_hour: 2, files_failed_last_hour: 1 });
    expect(freshness.newest_loaded_at).toEqual(expect.any(String));
    connection.closeSync();
    instance.closeSync();
  });

  it('refuses a window that is not two dates in order', async () => {
    const { instance, connection } = await openWarehouse(join(dir, 'window.duckdb'));
    const options = { s3: emulators.s3, connection, bucket: 'landing', prefix: 'events/', dryRun: true, now };
    await expect(backfillTwin({ ...options, window: { from: '2026-11-31', to: '2026-12-01' } })).rejects.toThrow(/--from must be a date/);
    await expect(backfillTwin({ ...options, window: { from: '2026-12-02', to: '2026-12-01' } })).rejects.toThrow(/before --from/);
    connection.closeSync();
    instance.closeSync();
  });
});
