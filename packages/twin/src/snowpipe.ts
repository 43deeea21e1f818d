import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import { formatZodError } from '@snowgate/config';
import { duplicateKey, envelopeSchema, landingText, scanJson } from '@snowgate/core';
import { mergeUnique } from './warehouse';

export interface SnowpipeOptions {
  s3: S3Client;
  connection: DuckDBConnection;
  bucket: string;
  prefix: string;
  log?: (message: string, extra?: Record<string, unknown>) => void;
}

export interface SnowpipeStats {
  loadedFiles: number;
  loadedRows: number;
  skippedFiles: number;
  alreadyLoaded: number;
  queued: number;
}

/** Files per transaction when files queue up (about 6,000 rows each at 1 MiB). */
const MAX_FILES_PER_LOAD = 16;
/** DuckDB refusing a value: the file's content, not the warehouse, is at fault. */
const REFUSED = /Conversion Error|Malformed JSON|surrogate/i;

interface Row {
  record: string;
  receivedAt: string;
  requestId: string;
  /** The envelope's `auth` and `producer` (the pipe's COPY reads them into columns of the same names). */
  auth: string | undefined;
  producer: string | undefined;
  line: number;
}

/**
 * A local Snowpipe with `AUTO_INGEST` semantics: it is told about new objects
 * (the bucket's ObjectCreated events), loads each path once (load history),
 * and with `ON_ERROR = SKIP_FILE` loads nothing from a file that has a bad row,
 * recording it in the copy history with its first error. Rows and history are
 * written in one transaction, so a crash never half-loads a file.
 */
export class LocalSnowpipe {
  private readonly queue: string[] = [];
  private readonly queued = new Set<string>();
  private working: Promise<void> | undefined;
  private closed = false;
  readonly stats: SnowpipeStats = { loadedFiles: 0, loadedRows: 0, skippedFiles: 0, alreadyLoaded: 0, queued: 0 };

  constructor(private readonly options: SnowpipeOptions) {}

  /** An ObjectCreated notification: queue the file. */
  notify(key: string): void {
    if (this.closed || !key.startsWith(this.options.prefix) || this.queued.has(key)) return;
    this.queued.add(key);
    this.queue.push(key);
    // Start on the next microtask, so that the notifications of one turn (a refresh, a burst) load together.
    this.working ??= Promise.resolve()
      .then(() => this.work())
      .finally(() => (this.working = undefined));
  }

  /** Like `ALTER PIPE … REFRESH`: queues every file under the prefix that is not in the load history. */
  async refresh(): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.options.s3.send(
        new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.options.prefix, ContinuationToken: token }),
      );
      for (const object of page.Contents ?? []) this.notify(object.Key!);
      token = page.NextContinuationToken;
    } while (token);
  }

  /** Resolves when every queued file is loaded or skipped. */
  async idle(): Promise<void> {
    while (this.working) await this.working;
  }

  /** After `idle()`: nothing more is loaded (the connection is about to close). */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
  }

  private async work(): Promise<void> {
    while (this.queue.length > 0 && !this.closed) {
      // Under load files queue up faster than one transaction each can take them: load them in
      // groups, one transaction per group, each file still loaded (or skipped) whole and once.
      const keys = this.queue.splice(0, MAX_FILES_PER_LOAD);
      try {
        await this.loadGroup(keys);
        for (const key of keys) this.queued.delete(key);
      } catch (error) {
        // S3 or DuckDB failed (not the files' content): try again later, as Snowpipe retries.
        this.options.log?.('snowpipe: load failed; will retry', { keys, error: String(error) });
        this.queue.push(...keys);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private async loadGroup(keys: string[]): Promise<void> {
    const c = this.options.connection;
    const seen = await c.runAndReadAll(`SELECT file_name FROM copy_history WHERE list_contains($1::VARCHAR[], file_name)`, [
      listValue(keys),
    ]);
    const loaded = new Set(seen.getRowObjectsJS().map((r) => String(r.file_name)));
    const files: { key: string; rows: Row[] }[] = [];
    for (const key of keys) {
      if (loaded.has(key)) {
        this.stats.alreadyLoaded++;
        continue;
      }
      const bytes = await this.read(key);
      if (bytes === undefined) {
        // A file announced but gone is a failed load, not something to retry forever.
        await this.skip(key, 0, { line: 0, message: 'file not found' });
        continue;
      }
      let text: string;
      try {
        // gzip or not, read by content (the file format's COMPRESSION = AUTO).
        text = landingText(bytes);
      } catch (e) {
        // A corrupt gzip file fails whole, like a bad line: retrying would not mend it.
        await this.skip(key, 0, { line: 0, message: `cannot decompress: ${(e as Error).message}` });
        continue;
      }
      const { rows, error } = parseFile(text);
      if (error) await this.skip(key, rows.length, error);
      else files.push({ key, rows });
    }
    if (files.length === 0) return;
    const now = new Date().toISOString();
    await c.run('BEGIN TRANSACTION');
    try {
      await insertRows(c, files, now);
      for (const { key, rows } of files) {
        await c.run(`INSERT INTO copy_history VALUES ($1, 'LOADED', $2, $2, NULL, NULL, $3::TIMESTAMPTZ)`, [key, rows.length, now]);
      }
      await c.run('COMMIT');
    } catch (e) {
      await c.run('ROLLBACK');
      // DuckDB refused a value (a row the parser let through): find the file, which fails whole, as with SKIP_FILE.
      if (!REFUSED.test((e as Error).message)) throw e;
      if (files.length > 1) {
        for (const file of files) await this.loadGroup([file.key]);
        return;
      }
      await this.skip(files[0]!.key, files[0]!.rows.length, { line: 0, message: (e as Error).message });
      return;
    }
    for (const { rows } of files) {
      this.stats.loadedFiles++;
      this.stats.loadedRows += rows.length;
    }
  }

  /** The object's bytes, or undefined when it does not exist. */
  private async read(key: string): Promise<Uint8Array | undefined> {
    try {
      const object = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      return await object.Body!.transformToByteArray();
    } catch (e) {
      if ((e as Error).name !== 'NoSuchKey') throw e;
      return undefined;
    }
  }

  private async skip(key: string, parsed: number, error: { line: number; message: string }): Promise<void> {
    await this.fail(key, parsed, error);
    this.stats.skippedFiles++;
    this.options.log?.('snowpipe: file skipped (ON_ERROR = SKIP_FILE)', { key, line: error.line, error: error.message });
  }

  private async fail(key: string, parsed: number, error: { line: number; message: string }): Promise<void> {
    await this.options.connection.run(`INSERT INTO copy_history VALUES ($1, 'LOAD_FAILED', 0, $2, $3, $4, $5::TIMESTAMPTZ)`, [
      key,
      parsed,
      error.message,
      error.line,
      new Date().toISOString(),
    ]);
  }

  snapshot(): SnowpipeStats {
    return { ...this.stats, queued: this.queue.length };
  }
}

/** Parses an NDJSON landing file; the first bad line fails the whole file. */
export function parseFile(text: string): { rows: Row[]; error?: { line: number; message: string } } {
  const rows: Row[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      return { rows, error: { line: i + 1, message: `Error parsing JSON: ${(e as Error).message}` } };
    }
    const scan = scanJson(line).top;
    if (scan.loneSurrogate) {
      return { rows, error: { line: i + 1, message: 'invalid UTF-8: a \\u escape is a lone surrogate' } };
    }
    const envelope = envelopeSchema.safeParse(value);
    if (!envelope.success) {
      return {
        rows,
        error: { line: i + 1, message: `not a Snowgate envelope: ${formatZodError(envelope.error, { root: '', inline: true })}` },
      };
    }
    // Our envelopes end with the record's text: keep it exactly (big integers included); otherwise re-serialize.
    // A repeated key never comes from the ingest API (duplicate_key), but a file from elsewhere may hold one:
    // the file format's ALLOW_DUPLICATE = TRUE loads it with the last value, as JSON.parse reads it, where
    // DuckDB's JSON would read the first. So such a line is re-serialized too.
    const at = line.indexOf(',"record":');
    const record =
      line.startsWith('{"received_at":') && at > 0 && line.endsWith('}') && !duplicateKey(line, value, scan)
        ? line.slice(at + 10, -1)
        : JSON.stringify((value as { record: unknown }).record);
    rows.push({
      record,
      receivedAt: envelope.data.received_at,
      requestId: envelope.data.request_id,
      auth: envelope.data.auth,
      producer: envelope.data.producer,
      line: i + 1,
    });
  }
  return { rows };
}

async function insertRows(c: DuckDBConnection, files: { key: string; rows: Row[] }[], loadedAt: string): Promise<void> {
  await c.run(
    `CREATE TEMP TABLE IF NOT EXISTS staging (record VARCHAR, received_at VARCHAR, request_id VARCHAR, source_file VARCHAR, file_row_number BIGINT, auth VARCHAR, producer VARCHAR)`,
  );
  await c.run('DELETE FROM staging');
  const appender = await c.createAppender('staging', 'main', 'temp');
  try {
    for (const { key, rows } of files) {
      for (const row of rows) {
        appender.appendVarchar(row.record);
        appender.appendVarchar(row.receivedAt);
        appender.appendVarchar(row.requestId);
        appender.appendVarchar(key);
        appender.appendBigInt(BigInt(row.line));
        if (row.auth === undefined) appender.appendNull();
        else appender.appendVarchar(row.auth);
        if (row.producer === undefined) appender.appendNull();
        else appender.appendVarchar(row.producer);
        appender.endRow();
      }
    }
  } finally {
    appender.closeSync();
  }
  await c.run(
    `CREATE OR REPLACE TEMP TABLE arrived AS
       SELECT record::JSON AS record, received_at::TIMESTAMPTZ AS received_at, request_id, source_file, file_row_number,
         $1::TIMESTAMPTZ AS loaded_at, auth, producer
       FROM staging`,
    [loadedAt],
  );
  await c.run('INSERT INTO raw_events BY NAME SELECT * FROM arrived');
  // What Snowflake's dynamic table does on its next refresh, here in the load's own transaction.
  await mergeUnique(c, 'arrived');
}
