import { Dialect, parse } from '@polyglot-sql/sdk';
import { COPY_FILES_MAX } from '@snowgate/core';
import { apiSession, backfillCopy, backfillSnowflake, type SnowflakeVariables } from '@snowgate/snowflake';
import { JwtSource, SqlApiClient } from '@snowgate/snowflake-api';
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeOutcome } from '../support/fake-snowflake';
import { type FakeAccount, startFakeSnowflakeAccount } from '../support/fake-snowflake-catalog';
import { DEV_VARIABLES } from '../support/snowflake-variables';

// The backfill over the SQL API client, against the fake SQL API with handlers that keep state as
// Snowflake does: the stage's files (LIST), COPY_HISTORY, RAW_EVENTS' source_file, and COPY's own
// load metadata (a file it loaded is skipped by the next COPY). They refuse what Snowflake refuses
// (more than 1,000 FILES, COPY without a warehouse in the request) and any statement they do not know.

const variables: SnowflakeVariables = {
  ...DEV_VARIABLES,
  alert_role_arn: 'arn:aws:iam::123456789012:role/dev-snowgate-Alarms-SnowflakeAlertRole1',
  aws_role_arn: 'arn:aws:iam::123456789012:role/dev-snowgate-Snowflake-Role1',
};
const now = new Date('2026-12-07T12:00:00Z');

interface Account {
  /** Keys in the landing bucket (`events/…`), with their line count; `bad` ones fail (SKIP_FILE). */
  files: Map<string, { rows: number; bad?: boolean }>;
  /** COPY_HISTORY of the last 14 days: key → status as Snowflake writes it ('Loaded', 'Load failed'). */
  history: Map<string, string>;
  /** RAW_EVENTS.source_file → rows. */
  table: Map<string, number>;
  /** COPY's load metadata (64 days). */
  bulkLoaded: Set<string>;
  statements: string[];
}

let running: FakeAccount | undefined;
afterEach(() => running?.fake.close());

/** A session over the SQL API to a fake whose one handler plays `account`. */
async function fakeSnowflake(account: Account) {
  const handle = (sqlText: string, warehouse: string | undefined): FakeOutcome => {
    account.statements.push(sqlText);
    const answer = (rows: Record<string, unknown>[]): FakeOutcome => {
      const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
      return { columns, rows: rows.map((row) => columns.map((c) => (row[c] === undefined ? null : String(row[c])))) };
    };
    const refuse = (message: string): FakeOutcome => ({ error: { code: '002003', sqlState: '42000', message } });
    if (warehouse !== 'SNOWGATE_WH') return refuse('No active warehouse selected in the current session.');
    const list = /^LIST @SNOWGATE\.DEV\.LANDING\/(\d{4}\/\d{2}\/\d{2}\/)$/.exec(sqlText);
    if (list) {
      return answer(
        [...account.files.entries()]
          .filter(([key]) => key.startsWith(`events/${list[1]}`))
          .map(([key, f]) => ({ name: `s3://dev-landing-1a2b/${key}`, size: f.rows * 100, md5: 'x', last_modified: 'Fri, 20 Nov 2026' })),
      );
    }
    if (sqlText.startsWith('SELECT file_name, status FROM TABLE(SNOWGATE.INFORMATION_SCHEMA.COPY_HISTORY(')) {
      expect(sqlText).toContain("TABLE_NAME => 'SNOWGATE.DEV.RAW_EVENTS'");
      return answer([...account.history.entries()].map(([file_name, status]) => ({ file_name, status })));
    }
    const select = /^SELECT DISTINCT source_file FROM SNOWGATE\.DEV\.RAW_EVENTS WHERE source_file IN \((.*)\)$/s.exec(sqlText);
    if (select) {
      const names = [...select[1]!.matchAll(/'((?:[^']|'')*)'/g)].map((m) => m[1]!.replaceAll("''", "'"));
      return answer(names.filter((n) => account.table.has(n)).map((source_file) => ({ source_file })));
    }
    if (sqlText.startsWith('COPY INTO SNOWGATE.DEV.RAW_EVENTS')) {
      const parsed = parse(sqlText, Dialect.Snowflake) as { success: boolean; error?: string };
      if (!parsed.success) return refuse(`SQL compilation error: ${parsed.error}`);
      const files = [.../FILES = \(([^)]*)\)/.exec(sqlText)![1]!.matchAll(/'([^']*)'/g)].map((m) => m[1]!);
      if (files.length > 1000) return refuse('SQL compilation error: Maximum number of files in FILES is 1000');
      const rows = [];
      for (const file of files) {
        const key = `events/${file}`;
        const landed = account.files.get(key);
        if (!landed) return refuse(`Remote file 's3://dev-landing-1a2b/${key}' was not found.`);
        if (account.bulkLoaded.has(key)) continue; // COPY's load metadata: loaded before, skipped
        if (landed.bad) {
          account.history.set(key, 'Load failed');
          rows.push({
            file: `s3://dev-landing-1a2b/${key}`,
            status: 'LOAD_FAILED',
            rows_parsed: 1,
            rows_loaded: 0,
            first_error: 'Error parsing JSON: not json',
          });
          continue;
        }
        account.bulkLoaded.add(key);
        account.history.set(key, 'Loaded');
        account.table.set(key, (account.table.get(key) ?? 0) + landed.rows);
        rows.push({ file: `s3://dev-landing-1a2b/${key}`, status: 'LOADED', rows_parsed: landed.rows, rows_loaded: landed.rows });
      }
      return answer(rows.length ? rows : [{ status: 'Copy executed with 0 files processed.' }]);
    }
    return refuse(`the fake does not know: ${sqlText}`);
  };
  running = await startFakeSnowflakeAccount({
    handlers: [{ match: /^[\s\S]+$/, result: (m, context) => handle(m.input ?? m[0], context.warehouse) }],
  });
  const sql = new SqlApiClient({
    baseUrl: running.fake.url,
    auth: new JwtSource({ account: running.account, user: running.user, privateKey: running.privateKey }),
  });
  return async () => apiSession(sql, { role: 'ACCOUNTADMIN' });
}

const account = (files: [string, { rows: number; bad?: boolean }][]): Account => ({
  files: new Map(files),
  history: new Map(),
  table: new Map(),
  bulkLoaded: new Set(),
  statements: [],
});

describe('pnpm snowflake:backfill on Snowflake', () => {
  it('loads with COPY … FILES the files nothing loaded, older than the REFRESH window; a second run loads nothing twice', async () => {
    const sf = account([
      ['events/2026/11/20/10/never-loaded', { rows: 2 }],
      ['events/2026/11/20/11/loaded-by-pipe', { rows: 1 }],
      ['events/2026/11/21/09/history-expired', { rows: 3 }],
      ['events/2026/11/22/08/bad-line', { rows: 1, bad: true }],
      ['events/2026/12/05/10/recent', { rows: 1 }],
      ['events/2026/11/19/23/before-window', { rows: 1 }],
    ]);
    // The pipe loaded one file within the history's 14 days, and another before them: only its rows remain.
    sf.history.set('events/2026/11/20/11/loaded-by-pipe', 'Loaded');
    sf.table.set('events/2026/11/20/11/loaded-by-pipe', 1);
    sf.table.set('events/2026/11/21/09/history-expired', 3);
    const connect = await fakeSnowflake(sf);
    const window = { from: '2026-11-20', to: '2026-12-06' };

    const printed: string[] = [];
    let session = await connect();
    const dry = await backfillSnowflake(session, variables, { window, dryRun: true, now, print: (t) => printed.push(t) });
    expect(dry).toMatchObject({
      target: 'snowflake',
      listed: 5,
      alreadyLoaded: 2,
      recent: ['2026/12/05/10/recent'],
      toLoad: ['2026/11/20/10/never-loaded', '2026/11/22/08/bad-line'],
      loadedFiles: 0,
    });
    expect(sf.statements.some((s) => s.startsWith('COPY'))).toBe(false);
    expect(printed.join('\n')).toContain("FILES = ('2026/11/20/10/never-loaded', '2026/11/22/08/bad-line')");

    const run = await backfillSnowflake(session, variables, { window, dryRun: false, now });
    expect(run).toMatchObject({ chunks: 1, loadedFiles: 1, loadedRows: 2 });
    expect(run.skipped).toEqual([{ file: '2026/11/22/08/bad-line', error: 'Error parsing JSON: not json' }]);
    await session.close();

    session = await connect();
    const again = await backfillSnowflake(session, variables, { window, dryRun: false, now });
    expect(again).toMatchObject({ alreadyLoaded: 3, failedBefore: ['2026/11/22/08/bad-line'], toLoad: [], chunks: 0, loadedFiles: 0 });
    expect([...sf.table.entries()].sort()).toEqual([
      ['events/2026/11/20/10/never-loaded', 2],
      ['events/2026/11/20/11/loaded-by-pipe', 1],
      ['events/2026/11/21/09/history-expired', 3],
    ]);
    await session.close();
  });

  it('loads as the pipe does (its COPY, FILES before FILE_FORMAT, ON_ERROR = SKIP_FILE), in chunks of at most 1,000 files', async () => {
    const copy = backfillCopy(variables, ['2026/11/20/10/a', "2026/11/20/10/o'brien"]);
    expect(copy).toMatch(
      /^COPY INTO SNOWGATE\.DEV\.RAW_EVENTS \(record, received_at, request_id, source_file, file_row_number, loaded_at, auth, producer\)/,
    );
    // The pipe's newest COPY (V1.5.0's, inside its scripting block): backfilled rows keep who sent them.
    expect(copy).toMatch(
      /METADATA\$FILENAME,\s+METADATA\$FILE_ROW_NUMBER,\s+METADATA\$START_SCAN_TIME,\s+\$1:auth::VARCHAR,\s+\$1:producer::VARCHAR/,
    );
    expect(copy).toMatch(
      /FILES = \('2026\/11\/20\/10\/a', '2026\/11\/20\/10\/o''brien'\)\s+FILE_FORMAT = \(FORMAT_NAME = 'SNOWGATE\.DEV\.NDJSON_ENVELOPE'\)\s+ON_ERROR = SKIP_FILE$/,
    );
    expect((parse(copy, Dialect.Snowflake) as { success: boolean }).success).toBe(true);

    const many = Array.from(
      { length: 2_500 },
      (_, i) => [`events/2026/11/2${i % 3}/0${i % 10}/file-${i}`, { rows: 1 }] as [string, { rows: number }],
    );
    const sf = account(many);
    const session = await (await fakeSnowflake(sf))();
    const report = await backfillSnowflake(session, variables, { window: { from: '2026-11-20', to: '2026-11-22' }, dryRun: false, now });
    expect(report).toMatchObject({ listed: 2_500, chunks: 3, loadedFiles: 2_500, loadedRows: 2_500 });
    const copies = sf.statements.filter((s) => s.startsWith('COPY'));
    expect(copies.map((s) => s.match(/'[^']*'/g)!.length - 1)).toEqual([COPY_FILES_MAX, COPY_FILES_MAX, 500]); // minus the format name
    await session.close();
  });
});
