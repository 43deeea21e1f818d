import { PutObjectCommand } from '@aws-sdk/client-s3';
import { createClients, LOCAL_CREDENTIALS } from '@snowgate/functions/clients';
import { openWarehouse, query, TWIN_NAMES } from '@snowgate/twin';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmulators } from '../../packages/twin/src/emulators';

const root = new URL('../../', import.meta.url).pathname;

/** `pnpm snowflake:backfill` as a user runs it: a process of its own, its exit code and both streams. */
function backfill(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'cli/snowflake.ts'), 'backfill', ...args], {
    cwd: root,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    timeout: 60_000,
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

const day = (daysAgo: number) => new Date(Date.now() - daysAgo * 86_400_000).toISOString().slice(0, 10);
const path = (daysAgo: number, name: string) => `events/${day(daysAgo).replaceAll('-', '/')}/10/${name}`;

describe('pnpm snowflake:backfill --twin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'snowgate-backfill-cli-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('loads, on a stopped twin, a landing file older than the REFRESH window that was never loaded; run again, it loads nothing', {
    timeout: 120_000,
  }, async () => {
    // Files that landed while nothing loaded them (as if the twin's Snowpipe had been down): one 10 days old, one 2 days old.
    const emulators = await startEmulators(dir, [TWIN_NAMES.landing]);
    const { s3, kinesis } = createClients(
      { region: 'us-east-1', s3Endpoint: emulators.s3Endpoint, kinesisEndpoint: emulators.kinesisEndpoint },
      LOCAL_CREDENTIALS,
    );
    const envelope = (id: string) => `{"received_at":"${new Date().toISOString()}","request_id":"cli","record":{"id":"${id}"}}\n`;
    await s3.send(new PutObjectCommand({ Bucket: TWIN_NAMES.landing, Key: path(10, 'old'), Body: envelope('old-1') + envelope('old-2') }));
    await s3.send(new PutObjectCommand({ Bucket: TWIN_NAMES.landing, Key: path(2, 'recent'), Body: envelope('recent-1') }));
    s3.destroy();
    kinesis.destroy();
    await emulators.stop();

    const window = ['--twin', '--data-dir', dir, '--from', day(12), '--to', day(0)];
    const dry = await backfill([...window, '--dry-run']);
    expect(dry).toMatchObject({ code: 0, stderr: '' });
    expect(dry.stdout).toContain('twin, ');
    expect(dry.stdout).toContain('2 files listed, 0 already loaded, 1 to load in 1 COPY chunk(s)');
    expect(dry.stdout).toContain('dry run: nothing loaded');
    expect(dry.stdout).toContain('1 newer than 7 days (or of unknown age, or loading now) are left to ALTER PIPE … REFRESH:');

    const first = await backfill([...window, '--json']);
    expect(first).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(first.stdout)).toMatchObject({
      target: 'twin',
      listed: 2,
      toLoad: [path(10, 'old').slice('events/'.length)],
      loadedFiles: 1,
      loadedRows: 2,
    });
    const again = await backfill([...window, '--json']);
    expect(JSON.parse(again.stdout)).toMatchObject({ listed: 2, alreadyLoaded: 1, toLoad: [], loadedFiles: 0 });

    const { instance, connection } = await openWarehouse(join(dir, 'warehouse.duckdb'), { readOnly: true });
    const rows = (await query(connection, `SELECT record->>'id' AS id, source_file FROM raw_events ORDER BY id`)).rows;
    expect(rows).toEqual([
      { id: 'old-1', source_file: path(10, 'old') },
      { id: 'old-2', source_file: path(10, 'old') },
    ]);
    connection.closeSync();
    instance.closeSync();
  });

  it('says in one line what is missing or wrong, and exits non-zero', async () => {
    expect(await backfill(['--twin', '--from', '2026-11-01'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^snowflake: --from DATE and --to DATE are required/),
    });
    expect(await backfill(['--twin', '--stage', 'dev', '--from', '2026-11-01', '--to', '2026-11-02'])).toMatchObject({
      code: 1,
      stderr: expect.stringMatching(/^snowflake: backfill on --stage STAGE \(Snowflake\) or --twin, one of them\n$/),
    });
    expect(await backfill(['--twin', '--data-dir', dir, '--from', '2026-11-02', '--to', '2026-11-01'])).toMatchObject({
      code: 1,
      stderr: 'snowflake: --to (2026-11-01) is before --from (2026-11-02)\n',
    });
  });
});
