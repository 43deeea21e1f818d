import { GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import type { DuckDBConnection } from '@duckdb/node-api';
import { envelopeSchema } from '@snowgate/core';

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
  readonly stats: SnowpipeStats = { loadedFiles: 0, loadedRows: 0, skippedFiles: 0, alreadyLoaded: 0, queued: 0 };

  constructor(private readonly options: SnowpipeOptions) {}

  /** An ObjectCreated notification: queue the file. */
  notify(key: string): void {
    if (!key.startsWith(this.options.prefix) || this.queued.has(key)) return;
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

  private async work(): Promise<void> {
    while (this.queue.length > 0) {
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
    const object = await this.options.s3.send(new GetObjectCommand({ Bucket: this.options.bucket, Key: key }));
    const text = await object.Body!.transformToString('utf-8');
    const { rows, error } = parseFile(text);
    const now = new Date().toISOString();
    await c.run('BEGIN TRANSACTION');
    try {
      if (error) {
        await c.run(`INSERT INTO copy_history VALUES ($1, 'LOAD_FAILED', 0, $2, $3, $4, $5::TIMESTAMPTZ)`, [key, rows.length, error.message, error.line, now]);
      } else {
        await insertRows(c, key, rows, now);
        await c.run(`INSERT INTO copy_history VALUES ($1, 'LOADED', $2, $2, NULL, NULL, $3::TIMESTAMPTZ)`, [key, rows.length, now]);
      }
      await c.run('COMMIT');
    } catch (e) {
      await c.run('ROLLBACK');
      throw e;
    }
    if (error) {
      this.stats.skippedFiles++;
      this.options.log?.('snowpipe: file skipped (ON_ERROR = SKIP_FILE)', { key, line: error.line, error: error.message });
    } else {
      this.stats.loadedFiles++;
      this.stats.loadedRows += rows.length;
    }
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
  for (const row of rows) {
    appender.appendVarchar(row.record);
    appender.appendVarchar(row.receivedAt);
    appender.appendVarchar(row.requestId);
    appender.appendBigInt(BigInt(row.line));
    appender.endRow();
  }
  appender.closeSync();
  await c.run(
    `INSERT INTO raw_events SELECT record::JSON, received_at::TIMESTAMPTZ, request_id, $1, file_row_number, $2::TIMESTAMPTZ FROM staging`,
    [key, loadedAt],
  );
}
