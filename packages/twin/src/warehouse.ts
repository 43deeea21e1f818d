import { DuckDBInstance, DuckDBTypeId, StatementType, type DuckDBConnection, type DuckDBExtractedStatements } from '@duckdb/node-api';
import { Dialect, transpile } from '@polyglot-sql/sdk';

/**
 * What makes two rows the same event (docs/HTTP-CONTRACT.md), as one text: the same caller (`auth`,
 * `producer`), and the same `id`, a string and a number never being the same id. Snowflake's
 * RAW_EVENTS_UNIQUE (snowflake/migrations/V1.5.0__callers_and_unique_events.sql) partitions by the same
 * four values. `raw_events_unique` keeps it in a column, so that folding a load in joins on plain text
 * instead of reading the JSON of every row kept.
 */
export const EVENT_KEY = `json_array(auth, producer, is_varchar(record->'$.id'), record->>'$.id')::VARCHAR`;
/** Of the rows of one event, the one kept: the latest received (then loaded, then the latest line). */
export const NEWEST_FIRST = 'received_at DESC, loaded_at DESC, source_file DESC, file_row_number DESC';

/**
 * The local warehouse: DuckDB standing in for Snowflake. `raw_events` has the
 * columns of Snowflake's RAW_EVENTS; `copy_history` is both Snowpipe's load
 * history (a path is loaded once) and its copy history (status, first error).
 * `raw_events_unique` holds one row per event (and its `event_key`), as Snowflake's
 * dynamic table does: filled from `raw_events` when it is first made, then kept by the
 * local Snowpipe in each load's transaction (`mergeUnique`), so that no query sorts all
 * of history.
 */
export const WAREHOUSE_DDL = [
  // Snowflake's IS_VARCHAR on a VARIANT, so that the dedup key and the queries that use it read the same here.
  `CREATE OR REPLACE MACRO is_varchar(v) AS json_type(v) = 'VARCHAR'`,
  `CREATE TABLE IF NOT EXISTS raw_events (
     record JSON NOT NULL,
     received_at TIMESTAMPTZ NOT NULL,
     request_id VARCHAR NOT NULL,
     source_file VARCHAR NOT NULL,
     file_row_number BIGINT NOT NULL,
     loaded_at TIMESTAMPTZ NOT NULL
   )`,
  // Added after the others, as Snowflake's ALTER TABLE adds them (and to a warehouse made before them).
  `ALTER TABLE raw_events ADD COLUMN IF NOT EXISTS auth VARCHAR`,
  `ALTER TABLE raw_events ADD COLUMN IF NOT EXISTS producer VARCHAR`,
  `CREATE TABLE IF NOT EXISTS copy_history (
     file_name VARCHAR PRIMARY KEY,
     status VARCHAR NOT NULL,
     row_count BIGINT NOT NULL,
     row_parsed BIGINT NOT NULL,
     first_error_message VARCHAR,
     first_error_line_number BIGINT,
     last_load_time TIMESTAMPTZ NOT NULL
   )`,
  // The streaming pipe's channels (delivery mode `streaming`): each channel's committed offset token is
  // written in the same transaction as the rows it covers, so that a row and its offset are seen together.
  `CREATE TABLE IF NOT EXISTS streaming_channels (
     database_name VARCHAR NOT NULL,
     schema_name VARCHAR NOT NULL,
     pipe_name VARCHAR NOT NULL,
     channel_name VARCHAR NOT NULL,
     offset_token VARCHAR,
     rows_inserted BIGINT NOT NULL,
     rows_error_count BIGINT NOT NULL,
     last_error_message VARCHAR,
     updated_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (database_name, schema_name, pipe_name, channel_name)
   )`,
  `CREATE TABLE IF NOT EXISTS raw_events_unique AS
     SELECT *, ${EVENT_KEY} AS event_key FROM raw_events
     QUALIFY row_number() OVER (PARTITION BY ${EVENT_KEY} ORDER BY ${NEWEST_FIRST}) = 1`,
  `CREATE OR REPLACE VIEW raw_events_latest AS
     SELECT record, received_at, request_id, source_file, file_row_number, loaded_at, auth, producer FROM raw_events_unique`,
  `CREATE OR REPLACE VIEW ingest_latency AS
     SELECT source_file, request_id, received_at, loaded_at, epoch_ms(loaded_at) - epoch_ms(received_at) AS latency_ms FROM raw_events`,
  // As snowflake/migrations/R__views.sql defines them on Snowflake's COPY_HISTORY (same names and columns).
  `CREATE OR REPLACE VIEW copy_history_recent AS
     SELECT file_name, status, row_count, row_parsed, first_error_message, first_error_line_number, last_load_time
     FROM copy_history WHERE last_load_time >= now() - INTERVAL 24 HOUR`,
  `CREATE OR REPLACE VIEW load_failures AS
     SELECT file_name, status, row_parsed, first_error_message, first_error_line_number, last_load_time
     FROM copy_history_recent WHERE status IN ('LOAD_FAILED', 'PARTIALLY_LOADED')`,
  // Is the local Snowpipe keeping up? Beside the files delivered (`GET /status`, the status line).
  `CREATE OR REPLACE VIEW load_freshness AS
     SELECT
       (SELECT max(loaded_at) FROM raw_events) AS newest_loaded_at,
       date_diff('minute', (SELECT max(loaded_at) FROM raw_events), now()) AS minutes_since_load,
       (SELECT count(*) FROM copy_history_recent WHERE status = 'LOADED' AND last_load_time >= now() - INTERVAL 1 HOUR) AS files_loaded_last_hour,
       (SELECT count(*) FROM copy_history_recent
        WHERE status IN ('LOAD_FAILED', 'PARTIALLY_LOADED') AND last_load_time >= now() - INTERVAL 1 HOUR) AS files_failed_last_hour`,
];

/**
 * Folds the rows of a load (`arrived`: a table or subquery with the columns of `raw_events`) into
 * `raw_events_unique`: per event, the newest arrived row replaces the kept one when it sorts after it
 * (NEWEST_FIRST), and a new event is added. Touches only the events that arrived; run it in the load's
 * transaction.
 */
export async function mergeUnique(connection: DuckDBConnection, arrived: string): Promise<void> {
  await connection.run(
    `CREATE OR REPLACE TEMP TABLE arrived_newest AS
       SELECT *, ${EVENT_KEY} AS event_key FROM ${arrived}
       QUALIFY row_number() OVER (PARTITION BY ${EVENT_KEY} ORDER BY ${NEWEST_FIRST}) = 1`,
  );
  await connection.run(
    `DELETE FROM raw_events_unique AS u USING arrived_newest AS a
       WHERE u.event_key = a.event_key
         AND (a.received_at, a.loaded_at, a.source_file, a.file_row_number) > (u.received_at, u.loaded_at, u.source_file, u.file_row_number)`,
  );
  await connection.run(
    `INSERT INTO raw_events_unique BY NAME
       SELECT a.* FROM arrived_newest AS a ANTI JOIN raw_events_unique AS u ON u.event_key = a.event_key`,
  );
}

/** The warehouse's memory ceiling (DuckDB `memory_limit`). */
export const WAREHOUSE_MEMORY_LIMIT = '256MB';

export async function openWarehouse(
  path: string,
  { readOnly = false } = {},
): Promise<{ instance: DuckDBInstance; connection: DuckDBConnection }> {
  // DuckDB's buffer pool defaults to 80 % of the machine's memory, and keeps what it read:
  // a twin left running would look like a leak. Past the limit it evicts (or spills to disk).
  const config = { memory_limit: WAREHOUSE_MEMORY_LIMIT, ...(readOnly ? { access_mode: 'READ_ONLY' } : {}) };
  const instance = await DuckDBInstance.create(path, config);
  const connection = await instance.connect();
  if (!readOnly) for (const statement of WAREHOUSE_DDL) await connection.run(statement);
  // Nothing the warehouse does reads or writes other files (loads arrive through the appender), so
  // queries may not either (no read_text, no COPY … TO); and no statement may turn that back on.
  await connection.run('SET enable_external_access = false');
  await connection.run('SET lock_configuration = true');
  return { instance, connection };
}

export class ReadOnlyQueryError extends Error {
  override readonly name = 'ReadOnlyQueryError';
}

/**
 * Runs one read statement, as DuckDB itself classifies it: a SELECT (which
 * DESCRIBE, SHOW, SUMMARIZE, FROM-first and `PRAGMA table_info` are, in DuckDB),
 * or an EXPLAIN without ANALYZE (which would run the statement it explains).
 * Anything else is refused before it runs: `pnpm query` and the dashboard read.
 */
export async function readOnlyQuery(
  connection: DuckDBConnection,
  sql: string,
): Promise<{ columns: string[]; rows: Record<string, unknown>[] }> {
  let extracted: DuckDBExtractedStatements;
  try {
    extracted = await connection.extractStatements(sql);
  } catch (error) {
    throw new ReadOnlyQueryError((error as Error).message);
  }
  if (extracted.count !== 1) throw new ReadOnlyQueryError(`one statement at a time (this is ${extracted.count})`);
  const type = (await extracted.prepare(0)).statementType;
  const explain = type === StatementType.EXPLAIN;
  if ((type !== StatementType.SELECT && !explain) || (explain && /analy[sz]e/i.test(sql))) {
    throw new ReadOnlyQueryError(
      `read statements only (SELECT, WITH, FROM, DESCRIBE, SHOW, SUMMARIZE, EXPLAIN without ANALYZE); this is a ${StatementType[type] ?? type} statement`,
    );
  }
  return query(connection, sql);
}

/** 64- and 128-bit integers, which DuckDB's JSON conversion writes as strings (`count(*)` is a BIGINT). */
const WIDE_INTEGERS = new Set<DuckDBTypeId>([DuckDBTypeId.BIGINT, DuckDBTypeId.UBIGINT, DuckDBTypeId.HUGEINT, DuckDBTypeId.UHUGEINT]);

/** Runs a query and returns plain JSON-able rows (wide integers as numbers when safe, else strings; timestamps as text). */
export async function query(connection: DuckDBConnection, sql: string): Promise<{ columns: string[]; rows: Record<string, unknown>[] }> {
  const reader = await connection.runAndReadAll(sql);
  const columns = reader.columnNames();
  const rows = reader.getRowObjectsJson() as Record<string, unknown>[];
  const types = reader.columnTypes();
  const wide = columns.filter((_, i) => WIDE_INTEGERS.has(types[i]!.typeId));
  for (const row of rows) {
    for (const column of wide) {
      const value = row[column];
      if (typeof value === 'string' && Number.isSafeInteger(Number(value))) row[column] = Number(value);
    }
  }
  return { columns, rows };
}

/**
 * Snowflake SQL as DuckDB SQL, with polyglot's transpiler, so that an analyst's
 * Snowflake query can be tried on the twin first.
 *
 * @example
 * snowflakeToDuckDb("select record:id::string as id from raw_events")
 * // → "SELECT (record ->> '$.id') AS id FROM raw_events"
 */
export function snowflakeToDuckDb(sql: string): string {
  const result = transpile(sql, Dialect.Snowflake, Dialect.DuckDB);
  if (!result.success || !result.sql?.length) throw new Error(`not Snowflake SQL the transpiler reads: ${result.error ?? 'no statement'}`);
  if (result.sql.length > 1) throw new Error('one statement at a time');
  // Snowflake's `variant::string` is the bare string; the transpiled `CAST(json -> path AS TEXT)` keeps
  // DuckDB's JSON quotes. `->>` extracts the text, as Snowflake does.
  const sqlOut = result.sql[0]!.replace(/CAST\(([\w."]+) -> ('(?:[^']|'')*') AS (?:TEXT|VARCHAR)\)/g, '($1 ->> $2)');
  // Fix-ups for what polyglot 0.12.1 writes and DuckDB refuses, outside string literals only
  // (the odd pieces of the split are the literals).
  return sqlOut
    .split(/('(?:[^']|'')*')/)
    .map((piece, i) =>
      i % 2 === 1
        ? piece
        : piece
            // DATEADD('hour', -1, …) comes out as `INTERVAL -1 HOUR`; DuckDB wants the sign inside.
            .replace(/\bINTERVAL (-?\d+) (\w+)/g, "INTERVAL '$1 $2'")
            // CURRENT_TIMESTAMP() keeps Snowflake's parentheses; DuckDB's takes none.
            .replace(/\bCURRENT_TIMESTAMP\(\)/gi, 'CURRENT_TIMESTAMP')
            // Snowflake's APPROX_PERCENTILE is DuckDB's approx_quantile.
            .replace(/\bAPPROX_PERCENTILE\(/gi, 'approx_quantile('),
    )
    .join('');
}
