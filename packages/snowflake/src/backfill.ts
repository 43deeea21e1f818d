import {
  backfillDays,
  LOAD_HISTORY_DAYS,
  planBackfill,
  startBackfillReport,
  type BackfillReport,
  type BackfillWindow,
} from '@snowgate/core';
import { pipeCopies } from './runner';
import { renderMigrations, type SnowflakeVariables } from './sql';
import type { SqlSession } from './tool';

export interface BackfillOptions {
  window: BackfillWindow;
  /** List and compare, print the COPY statements; load nothing. */
  dryRun: boolean;
  /** Files per COPY (at most COPY_FILES_MAX). */
  chunkSize?: number;
  now?: Date;
  print?: (text: string) => void;
}

/** A string literal for Snowflake: quotes doubled, backslashes escaped (Snowflake reads `\` as an escape in '…'). */
const sqlString = (text: string) => `'${text.replaceAll('\\', '\\\\').replaceAll("'", "''")}'`;
const column = (row: Record<string, unknown>, name: string) => row[name] ?? row[name.toUpperCase()];

/**
 * The pipe's COPY, with `FILES = (…)` before its FILE_FORMAT: a backfill loads exactly as the
 * pipe does (same columns, ON_ERROR = SKIP_FILE). Taken from the last COPY the migrations give the
 * files pipe (V1.5.0's, recreated inside a scripting block, reads AUTH and PRODUCER), so that a changed
 * pipe changes the backfill with it.
 */
export function backfillCopy(variables: SnowflakeVariables, files: string[]): string {
  // The files pipe by name: the streaming pipe (V1.8.0) has no files to take.
  const copy = pipeCopies(renderMigrations(variables), `${variables.database}.${variables.schema}.${variables.pipe}`).at(-1);
  if (!copy) throw new Error('no CREATE PIPE in snowflake/migrations: nothing says how files load');
  const at = copy.search(/\bFILE_FORMAT\s*=\s*\(\s*FORMAT_NAME\b(?![\s\S]*\bFILE_FORMAT\s*=)/i);
  if (at < 0) throw new Error("the pipe's COPY has no FILE_FORMAT to put FILES before");
  return `${copy.slice(0, at)}FILES = (${files.map(sqlString).join(', ')})\n  ${copy.slice(at)}`;
}

/**
 * `pnpm snowflake:backfill`: loads the landing files of a window that Snowpipe never loaded,
 * older than the REFRESH window, with `COPY INTO … FILES = (…)` in chunks of at most 1,000.
 *
 * A file counts as loaded when RAW_EVENTS has rows from it (`source_file`, kept as long as the
 * table) or COPY_HISTORY has a load of it (the pipe's and COPY's, 14 days). COPY's own load
 * metadata (64 days) skips a file it loaded before as well, so a second run loads nothing twice.
 */
export async function backfillSnowflake(session: SqlSession, v: SnowflakeVariables, options: BackfillOptions): Promise<BackfillReport> {
  const print = options.print ?? (() => undefined);
  const days = backfillDays(options.window);
  const table = `${v.database}.${v.schema}.${v.table}`;
  const stage = `@${v.database}.${v.schema}.${v.stage}`;
  // Names arrive as the stage's URL plus the path (LIST), or as the key in the bucket (METADATA$FILENAME,
  // COPY_HISTORY): compare them all as the path under the stage, which is what FILES takes.
  const bucketRoot = v.stage_url.replace(/^(s3:\/\/[^/]+\/).*$/, '$1');
  const keyPrefix = v.stage_url.slice(bucketRoot.length);
  const relative = (name: string) => {
    const key = name.startsWith(bucketRoot) ? name.slice(bucketRoot.length) : name;
    return key.startsWith(keyPrefix) ? key.slice(keyPrefix.length) : key;
  };

  // Listing, COPY_HISTORY and COPY need a running warehouse (a pipe does not).
  await session.execute(`USE WAREHOUSE ${v.warehouse}`);
  const files: string[] = [];
  for (const day of days) {
    for (const row of await session.execute(`LIST ${stage}/${day}/`)) files.push(relative(String(column(row, 'name'))));
  }

  const loaded = new Set<string>();
  const failed = new Set<string>();
  const inProgress = new Set<string>();
  const history = await session.execute(
    `SELECT file_name, status FROM TABLE(${v.database}.INFORMATION_SCHEMA.COPY_HISTORY(TABLE_NAME => '${table}', START_TIME => DATEADD('day', -${LOAD_HISTORY_DAYS}, CURRENT_TIMESTAMP())))`,
  );
  for (const row of history) {
    const file = relative(String(column(row, 'file_name')));
    const status = String(column(row, 'status')).toUpperCase().replace(/\s+/g, '_');
    if (status === 'LOADED' || status === 'PARTIALLY_LOADED') loaded.add(file);
    else if (status === 'LOAD_FAILED') failed.add(file);
    else if (status === 'LOAD_IN_PROGRESS') inProgress.add(file);
  }
  // Rows outlive the history: ask the table about every listed file COPY_HISTORY does not know, by both its names.
  const unknown = files.filter((f) => !loaded.has(f));
  for (let i = 0; i < unknown.length; i += 500) {
    const names = unknown.slice(i, i + 500).flatMap((f) => [f, `${keyPrefix}${f}`]);
    const rows = await session.execute(
      `SELECT DISTINCT source_file FROM ${table} WHERE source_file IN (${names.map(sqlString).join(', ')})`,
    );
    for (const row of rows) loaded.add(relative(String(column(row, 'source_file'))));
  }

  const plan = planBackfill({ files, loaded, failed, inProgress, now: options.now ?? new Date(), chunkSize: options.chunkSize });
  const report = startBackfillReport('snowflake', options.window, options.dryRun, plan);
  for (const [i, chunk] of plan.chunks.entries()) {
    const copy = backfillCopy(v, chunk);
    if (options.dryRun) {
      print(`-- chunk ${i + 1} of ${plan.chunks.length}: ${chunk.length} files\n${copy};`);
      continue;
    }
    // COPY answers one row per file it looked at (none it loaded before: its own load metadata skips those).
    for (const row of await session.execute(copy)) {
      const file = column(row, 'file');
      if (typeof file !== 'string') continue;
      const status = String(column(row, 'status')).toUpperCase();
      if (status === 'LOADED') {
        report.loadedFiles++;
        report.loadedRows += Number(column(row, 'rows_loaded') ?? 0);
      } else {
        report.skipped.push({ file: relative(file), error: String(column(row, 'first_error') ?? status) });
      }
    }
    print(`chunk ${i + 1} of ${plan.chunks.length}: ${chunk.length} files`);
  }
  return report;
}
