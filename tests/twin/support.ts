import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IngestResponse } from '@snowgate/core';
import { openWarehouse, query } from '@snowgate/twin';

export { killGroup, spawnTwin, stopTwin, TWIN_ENTRY, type TwinProcess } from '../../cli/twin-process';

/**
 * For a twin started in the test process: no progress lines, and the handler's and
 * authorizer's logs off, as Vitest's `POWERTOOLS_LOG_LEVEL` has them elsewhere.
 */
export const QUIET = { quiet: true, logLevel: 'SILENT' } as const;

export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), 'snowgate-twin-'));
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

/** POSTs a body to a twin's `/events`, without credentials, and reads the JSON answer as an ingest response. */
export async function post(api: string, body: string, contentType = 'application/json'): Promise<{ status: number; body: IngestResponse }> {
  const response = await fetch(`${api}/events`, { method: 'POST', headers: { 'content-type': contentType }, body });
  return { status: response.status, body: (await response.json()) as IngestResponse };
}

/** Rows of a query on a stopped twin's warehouse. */
export async function rows(dataDir: string, sql: string): Promise<Record<string, unknown>[]> {
  const { instance, connection } = await openWarehouse(join(dataDir, 'warehouse.duckdb'), { readOnly: true });
  try {
    return (await query(connection, sql)).rows;
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}
