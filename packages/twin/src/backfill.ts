import { ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { listValue, type DuckDBConnection } from '@duckdb/node-api';
import { backfillDays, planBackfill, startBackfillReport, type BackfillReport, type BackfillWindow } from '@snowgate/core';
import { join } from 'node:path';
import { LocalSnowpipe } from './snowpipe';

export interface LocalBackfillOptions {
  s3: S3Client;
  connection: DuckDBConnection;
  bucket: string;
  /** The landing prefix, e.g. `events/`. */
  prefix: string;
  window: BackfillWindow;
  dryRun: boolean;
  chunkSize?: number;
  now?: Date;
}

/**
 * `pnpm snowflake:backfill --twin`: the same plan as on Snowflake, against the twin's landing
 * bucket and warehouse. A file counts as loaded when `raw_events` has rows from it or the copy
 * history has it; each chunk then goes through the local Snowpipe, which checks its load
 * history again and loads each file whole and once (ON_ERROR = SKIP_FILE), as COPY does.
 */
export async function backfillTwin(options: LocalBackfillOptions): Promise<BackfillReport> {
  const { s3, connection, bucket, prefix } = options;
  const files: string[] = [];
  for (const day of backfillDays(options.window)) {
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}${day}/`, ContinuationToken: token }));
      for (const object of page.Contents ?? []) files.push(object.Key!.slice(prefix.length));
      token = page.NextContinuationToken;
    } while (token);
  }
  const keys = listValue(files.map((f) => `${prefix}${f}`));
  const known = async (sql: string) =>
    files.length === 0
      ? new Set<string>()
      : new Set((await connection.runAndReadAll(sql, [keys])).getRowObjectsJS().map((r) => String(r.file_name).slice(prefix.length)));
  const loaded = await known(
    `SELECT file_name FROM copy_history WHERE status <> 'LOAD_FAILED' AND list_contains($1::VARCHAR[], file_name)
     UNION SELECT DISTINCT source_file FROM raw_events WHERE list_contains($1::VARCHAR[], source_file)`,
  );
  const failed = await known(`SELECT file_name FROM copy_history WHERE status = 'LOAD_FAILED' AND list_contains($1::VARCHAR[], file_name)`);

  const plan = planBackfill({ files, loaded, failed, now: options.now ?? new Date(), chunkSize: options.chunkSize });
  const report = startBackfillReport('twin', options.window, options.dryRun, plan);
  if (options.dryRun) return report;

  const pipe = new LocalSnowpipe({ s3, connection, bucket, prefix });
  for (const chunk of plan.chunks) {
    for (const file of chunk) pipe.notify(`${prefix}${file}`);
    await pipe.idle();
  }
  pipe.close();
  const stats = pipe.snapshot();
  report.loadedFiles = stats.loadedFiles;
  report.loadedRows = stats.loadedRows;
  if (report.toLoad.length === 0) return report;
  const skipped = await connection.runAndReadAll(
    `SELECT file_name, first_error_message FROM copy_history WHERE status = 'LOAD_FAILED' AND list_contains($1::VARCHAR[], file_name) ORDER BY file_name`,
    [listValue(report.toLoad.map((f) => `${prefix}${f}`))],
  );
  report.skipped = skipped
    .getRowObjectsJS()
    .map((r) => ({ file: String(r.file_name).slice(prefix.length), error: String(r.first_error_message) }));
  return report;
}

/**
 * The backfill on a stopped twin's data dir: its S3 emulator on the landing files, its warehouse
 * opened for writing (a running twin holds it, and loads every file its history lacks by itself).
 */
export async function backfillTwinDataDir(
  dataDir: string,
  prefix: string,
  options: Pick<LocalBackfillOptions, 'window' | 'dryRun' | 'chunkSize' | 'now'>,
): Promise<BackfillReport> {
  const { startEmulators } = await import('./emulators');
  const { openWarehouse } = await import('./warehouse');
  const { createClients, LOCAL_CREDENTIALS } = await import('@snowgate/functions/clients');
  const { TWIN_NAMES } = await import('./twin');
  backfillDays(options.window); // a bad window fails before anything starts
  const { instance, connection } = await openWarehouse(join(dataDir, 'warehouse.duckdb'));
  const emulators = await startEmulators(dataDir, [TWIN_NAMES.landing]).catch((error) => {
    connection.closeSync();
    instance.closeSync();
    throw error;
  });
  const { s3, kinesis } = createClients(
    { region: 'us-east-1', s3Endpoint: emulators.s3Endpoint, kinesisEndpoint: emulators.kinesisEndpoint },
    LOCAL_CREDENTIALS,
  );
  try {
    return await backfillTwin({ s3, connection, bucket: TWIN_NAMES.landing, prefix, ...options });
  } finally {
    s3.destroy();
    kinesis.destroy();
    connection.closeSync();
    instance.closeSync();
    await emulators.stop();
  }
}
