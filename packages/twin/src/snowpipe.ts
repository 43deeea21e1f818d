import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { envelopeSchema, scanJson } from '@snowgate/core';

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

interface Row {
  record: string;
  receivedAt: string;
  requestId: string;
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
    this.working ??= this.work().finally(() => (this.working = undefined));
  }

  /** Like `ALTER PIPE … REFRESH`: queues every file under the prefix that is not in the load history. */
  async refresh(): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.options.s3.send(new ListObjectsV2Command({ Bucket: this.options.bucket, Prefix: this.options.prefix, ContinuationToken: token }));
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
      const key = this.queue.shift()!;
      try {
        await this.load(key);
        this.queued.delete(key);
      } catch (error) {
        // S3 or DuckDB failed (not the file's content): try again later, as Snowpipe retries.
        this.options.log?.('snowpipe: load failed; will retry', { key, error: String(error) });
        this.queue.push(key);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    }
  }

  private async load(key: string): Promise<void> {
    const c = this.options.connection;
    const seen = await c.runAndReadAll(`SELECT 1 FROM copy_history WHERE file_name = $1`, [key]);
    if (seen.currentRowCount > 0) {
      this.stats.alreadyLoaded++;
      return;
    }
    let text: string;
    try {
      const object = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
      text = await object.Body!.transformToString('utf-8');
    } catch (e) {
      // A file announced but gone is a failed load, not something to retry forever.
      if ((e as Error).name !== 'NoSuchKey') throw e;
      await this.fail(key, 0, { line: 0, message: 'file not found' });
      return;
    }
    let { rows, error } = parseFile(text);
    const now = new Date().toISOString();
    if (!error) {
      await c.run('BEGIN TRANSACTION');
      try {
        await insertRows(c, key, rows, now);
        await c.run(`INSERT INTO copy_history VALUES ($1, 'LOADED', $2, $2, NULL, NULL, $3::TIMESTAMPTZ)`, [key, rows.length, now]);
        await c.run('COMMIT');
      } catch (e) {
        await c.run('ROLLBACK');
        // DuckDB refused a value (a row the parser let through): the file fails whole, as with SKIP_FILE.
        if (!/Conversion|Invalid Input|Malformed JSON|surrogate/i.test((e as Error).message)) throw e;
        error = { line: 0, message: (e as Error).message };
      }
    }
    if (error) await this.fail(key, rows.length, error);
    if (error) {
      this.stats.skippedFiles++;
      this.options.log?.('snowpipe: file skipped (ON_ERROR = SKIP_FILE)', { key, line: error.line, error: error.message });
    } else {
      this.stats.loadedFiles++;
      this.stats.loadedRows += rows.length;
    }
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
    if (line.includes('\\u') && scanJson(line).top.loneSurrogate) {
      return { rows, error: { line: i + 1, message: 'invalid UTF-8: a \\u escape is a lone surrogate' } };
    }
    const envelope = envelopeSchema.safeParse(value);
    if (!envelope.success) {
      return { rows, error: { line: i + 1, message: `not a Snowgate envelope: ${envelope.error.issues.map((x) => `${x.path.join('.')}: ${x.message}`).join('; ')}` } };
    }
    // Our envelopes end with the record's text: keep it exactly (big integers included); otherwise re-serialize.
    const at = line.indexOf(',"record":');
    const record = line.startsWith('{"received_at":') && at > 0 && line.endsWith('}') ? line.slice(at + 10, -1) : JSON.stringify(envelope.data.record);
    rows.push({ record, receivedAt: envelope.data.received_at, requestId: envelope.data.request_id, line: i + 1 });
  }
  return { rows };
}

async function insertRows(c: DuckDBConnection, key: string, rows: Row[], loadedAt: string): Promise<void> {
  await c.run(`CREATE TEMP TABLE IF NOT EXISTS staging (record VARCHAR, received_at VARCHAR, request_id VARCHAR, file_row_number BIGINT)`);
  await c.run('DELETE FROM staging');
  const appender = await c.createAppender('staging', 'main', 'temp');
  try {
    for (const row of rows) {
      appender.appendVarchar(row.record);
      appender.appendVarchar(row.receivedAt);
      appender.appendVarchar(row.requestId);
      appender.appendBigInt(BigInt(row.line));
      appender.endRow();
    }
  } finally {
    appender.closeSync();
  }
  await c.run(
    `INSERT INTO raw_events SELECT record::JSON, received_at::TIMESTAMPTZ, request_id, $1, file_row_number, $2::TIMESTAMPTZ FROM staging`,
    [key, loadedAt],
  );
}
