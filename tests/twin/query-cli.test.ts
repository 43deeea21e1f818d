import { parseStageConfig } from '@snowgate/config';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { post } from './support';
import { useTwin } from './use-twin';

const root = new URL('../../', import.meta.url).pathname;
const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } });

/** `pnpm query` as a user runs it: a process of its own, its exit code and both streams. */
function query(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'cli/query.ts'), ...args], {
    cwd: root,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('pnpm query', () => {
  const running = useTwin(stage);

  it('prints a clean table: numbers unquoted, a header and a row count, (0 rows) for an empty result', { timeout: 60_000 }, async () => {
    expect((await post(running.twin.endpoints.api, JSON.stringify([{ id: 'q-1' }, { id: 'q-2' }, { id: 'q-3' }]))).status).toBe(202);
    for (let i = 0; i < 100 && running.twin.status().snowpipe.loadedRows < 3; i++) await new Promise((r) => setTimeout(r, 100));
    const dir = ['--data-dir', running.dataDir];

    const counted = await query([...dir, "select count(*) as n, 'three' as word, 9007199254740993::BIGINT as big from raw_events"]);
    expect(counted).toMatchObject({ code: 0, stderr: '' });
    expect(counted.stdout.split('\n')).toEqual([
      ' n | word  | big',
      '---+-------+------------------',
      ' 3 | three | 9007199254740993',
      '(1 row)',
      '',
    ]);

    const empty = await query([...dir, "select record->>'id' as id, received_at from raw_events where false"]);
    expect(empty).toMatchObject({ code: 0, stdout: ' id | received_at\n----+-------------\n(0 rows)\n' });

    // JSON: a 64-bit count is a number, one past 2^53 stays exact as a string.
    const json = await query([
      ...dir,
      '--json',
      "select count(*) as n, 9007199254740993::BIGINT as big, record->>'id' as id from raw_events group by id order by id",
    ]);
    expect(json.code).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual(['q-1', 'q-2', 'q-3'].map((id) => ({ n: 1, big: '9007199254740993', id })));
  });

  it('answers --help with its usage and exit 0; an unknown option is one line and exit 2', async () => {
    const help = await query(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/^Usage: pnpm query/);
    for (const option of ['--data-dir', '--json', '--dialect', '--help']) expect(help.stdout).toContain(option);
    expect(help.stdout).toContain('Example');
    expect((await query(['-h'])).stdout).toBe(help.stdout);

    const unknown = await query(['--jsn', 'select 1']);
    expect(unknown.code).toBe(2);
    expect(unknown.stdout).toBe('');
    expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringMatching(/^pnpm query: Unknown option '--jsn'/)]);
  });
});
