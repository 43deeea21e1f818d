import type { DuckDBConnection } from '@duckdb/node-api';
import { duplicateKey, scanJson } from '@snowgate/core';
import type { StreamedRow } from './snowpipe-streaming';
import { mergeUnique } from './warehouse';

/** A Snowpipe Streaming channel: the pipe it writes through and its name. */
export interface ChannelKey {
  database: string;
  schema: string;
  pipe: string;
  channel: string;
}

/** A channel as the warehouse has it: what `/status` and the dashboard show. */
export interface ChannelState {
  channel: string;
  pipe: string;
  offsetToken: string | undefined;
  rowsInserted: number;
  rowsErrorCount: number;
  lastErrorMessage: string | undefined;
  updatedAt: string;
}

/** The columns the streaming pipe fills from a row (snowflake/migrations: RAW_EVENTS_STREAMING_PIPE); those without `?` are NOT NULL. */
const TEXT_COLUMNS = ['received_at', 'request_id', 'source_file', 'loaded_at'] as const;

/**
 * The emulated streaming endpoint's table side, in DuckDB: an append's rows go into `raw_events` (and
 * `raw_events_unique`, as the local Snowpipe keeps it) and the channel's offset token into
 * `streaming_channels`, in one transaction: a crash leaves both or neither, so an offset read back
 * after a restart covers exactly the rows that are there. A row the pipe cannot read (a NOT NULL
 * column missing, a time that is not one) is not loaded and counted in the channel's errors, as the
 * high-performance architecture's ON_ERROR = CONTINUE does.
 */
export class DuckDbStreamingSink {
  /** One transaction at a time on the connection: appends of several channels queue here. */
  private turn: Promise<unknown> = Promise.resolve();
  private readonly known = new Map<string, ChannelState>();

  constructor(private readonly connection: DuckDBConnection) {}

  /** Reads the channels kept in the warehouse, for `snapshot()`. */
  async load(): Promise<void> {
    for (const state of await this.channels()) this.known.set(`${state.pipe}/${state.channel}`, state);
  }

  /** The channels as of the last append (no query: the twin's status reads it four times a second). */
  snapshot(): ChannelState[] {
    return [...this.known.values()].sort((a, b) => a.channel.localeCompare(b.channel));
  }

  append(channel: ChannelKey, rows: StreamedRow[], offsetToken: string | undefined): Promise<void> {
    const next = this.turn.then(() => this.write(channel, rows, offsetToken));
    this.turn = next.catch(() => undefined);
    return next;
  }

  async committedOffset(channel: ChannelKey): Promise<string | undefined> {
    await this.turn;
    const reader = await this.connection.runAndReadAll(
      `SELECT offset_token FROM streaming_channels WHERE database_name = $1 AND schema_name = $2 AND pipe_name = $3 AND channel_name = $4`,
      [channel.database, channel.schema, channel.pipe, channel.channel],
    );
    const value = reader.getRowObjectsJS()[0]?.offset_token;
    return value === null || value === undefined ? undefined : String(value);
  }

  /** Drop Channel: the channel and its offset token go; its rows stay. */
  async drop(channel: ChannelKey): Promise<void> {
    const next = this.turn.then(async () => {
      await this.connection.run(
        `DELETE FROM streaming_channels WHERE database_name = $1 AND schema_name = $2 AND pipe_name = $3 AND channel_name = $4`,
        [channel.database, channel.schema, channel.pipe, channel.channel],
      );
      this.known.delete(`${channel.pipe}/${channel.channel}`);
    });
    this.turn = next.catch(() => undefined);
    return next;
  }

  /** Every channel, for `/status` and the dashboard. */
  async channels(): Promise<ChannelState[]> {
    await this.turn;
    const reader = await this.connection.runAndReadAll(
      `SELECT pipe_name, channel_name, offset_token, rows_inserted, rows_error_count, last_error_message, strftime(updated_at, '%Y-%m-%dT%H:%M:%S.%gZ') AS updated_at
       FROM streaming_channels ORDER BY channel_name`,
    );
    return reader.getRowObjectsJS().map((r) => ({
      channel: String(r.channel_name),
      pipe: String(r.pipe_name),
      offsetToken: r.offset_token === null ? undefined : String(r.offset_token),
      rowsInserted: Number(r.rows_inserted),
      rowsErrorCount: Number(r.rows_error_count),
      lastErrorMessage: r.last_error_message === null ? undefined : String(r.last_error_message),
      updatedAt: String(r.updated_at),
    }));
  }

  private async write(channel: ChannelKey, rows: StreamedRow[], offsetToken: string | undefined): Promise<void> {
    const c = this.connection;
    const good: StreamedRow[] = [];
    let errors = 0;
    let lastError: string | undefined;
    for (const row of rows) {
      const problem = rowProblem(row.value);
      if (problem) {
        errors++;
        lastError = problem;
      } else good.push(row);
    }
    await c.run('BEGIN TRANSACTION');
    try {
      if (good.length > 0) await insertRows(c, good);
      await c.run(
        `INSERT INTO streaming_channels VALUES ($1, $2, $3, $4, $5, $6, $7, $8, now())
         ON CONFLICT DO UPDATE SET
           offset_token = coalesce(EXCLUDED.offset_token, streaming_channels.offset_token),
           rows_inserted = streaming_channels.rows_inserted + EXCLUDED.rows_inserted,
           rows_error_count = streaming_channels.rows_error_count + EXCLUDED.rows_error_count,
           last_error_message = coalesce(EXCLUDED.last_error_message, streaming_channels.last_error_message),
           updated_at = now()`,
        [channel.database, channel.schema, channel.pipe, channel.channel, offsetToken ?? null, good.length, errors, lastError ?? null],
      );
      await c.run('COMMIT');
    } catch (error) {
      await c.run('ROLLBACK');
      throw error;
    }
    const key = `${channel.pipe}/${channel.channel}`;
    const was = this.known.get(key);
    this.known.set(key, {
      channel: channel.channel,
      pipe: channel.pipe,
      offsetToken: offsetToken ?? was?.offsetToken,
      rowsInserted: (was?.rowsInserted ?? 0) + good.length,
      rowsErrorCount: (was?.rowsErrorCount ?? 0) + errors,
      lastErrorMessage: lastError ?? was?.lastErrorMessage,
      updatedAt: new Date().toISOString(),
    });
  }
}

/** Why the pipe would not load this row, or undefined. */
function rowProblem(row: Record<string, unknown>): string | undefined {
  for (const column of TEXT_COLUMNS) {
    if (typeof row[column] !== 'string' || row[column] === '') return `${column}: NULL result in a non-nullable column`;
  }
  for (const column of ['received_at', 'loaded_at'] as const) {
    if (Number.isNaN(Date.parse(row[column] as string))) return `${column}: Timestamp '${row[column]}' is not recognized`;
  }
  if (typeof row.record !== 'object' || row.record === null || Array.isArray(row.record))
    return 'record: NULL result in a non-nullable column';
  if (!Number.isInteger(row.file_row_number)) return 'file_row_number: NULL result in a non-nullable column';
  for (const column of ['auth', 'producer'] as const) {
    if (row[column] !== undefined && row[column] !== null && typeof row[column] !== 'string') return `${column}: not a string`;
  }
  return undefined;
}

/**
 * The row's `record` as the text it arrived in (integers beyond double precision, key order and escapes
 * kept), as the local Snowpipe keeps a landing file's. The consumer's rows hold it as `,"record":{…}`; a row
 * where that text is not plainly the record (a key repeated, which JSON.parse and DuckDB's JSON read
 * differently; the member written otherwise) is re-serialized from its parsed value.
 */
function recordText({ text, value }: StreamedRow): string {
  const at = text.indexOf(',"record":');
  if (at > 0 && duplicateKey(text, value, scanJson(text).top) === undefined) {
    const span = scanJson(text, at + 10).top;
    const exact = text.slice(span.start, span.end);
    // The first `,"record":` could be a nested object's member: the text must be the top-level record's value.
    try {
      if (JSON.stringify(JSON.parse(exact)) === JSON.stringify(value.record)) return exact;
    } catch {
      // Not a value on its own: fall through.
    }
  }
  return JSON.stringify(value.record);
}

async function insertRows(c: DuckDBConnection, streamedRows: StreamedRow[]): Promise<void> {
  await c.run(
    `CREATE TEMP TABLE IF NOT EXISTS streamed (record VARCHAR, received_at VARCHAR, request_id VARCHAR, source_file VARCHAR, file_row_number BIGINT, loaded_at VARCHAR, auth VARCHAR, producer VARCHAR)`,
  );
  await c.run('DELETE FROM streamed');
  const appender = await c.createAppender('streamed', 'main', 'temp');
  try {
    for (const streamed of streamedRows) {
      const row = streamed.value;
      appender.appendVarchar(recordText(streamed));
      appender.appendVarchar(row.received_at as string);
      appender.appendVarchar(row.request_id as string);
      appender.appendVarchar(row.source_file as string);
      appender.appendBigInt(BigInt(row.file_row_number as number));
      appender.appendVarchar(row.loaded_at as string);
      for (const column of ['auth', 'producer'] as const) {
        const value = row[column];
        if (typeof value === 'string') appender.appendVarchar(value);
        else appender.appendNull();
      }
      appender.endRow();
    }
  } finally {
    appender.closeSync();
  }
  await c.run(
    `CREATE OR REPLACE TEMP TABLE streamed_arrived AS
       SELECT record::JSON AS record, received_at::TIMESTAMPTZ AS received_at, request_id, source_file, file_row_number,
         loaded_at::TIMESTAMPTZ AS loaded_at, auth, producer
       FROM streamed`,
  );
  await c.run('INSERT INTO raw_events BY NAME SELECT * FROM streamed_arrived');
  // As the local Snowpipe does for a file: the dedup table kept in the load's own transaction.
  await mergeUnique(c, 'streamed_arrived');
}
