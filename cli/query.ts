/**
 * `pnpm query "<sql>"`: queries the local warehouse, through the running twin
 * when there is one (DuckDB lets one process hold the file), directly otherwise.
 *
 *   pnpm query "select count(*) from raw_events"
 *   pnpm query --json "select * from copy_history"
 *   pnpm query --data-dir /tmp/twin "select …"
 *   pnpm query --dialect snowflake "select record:id::string as id from raw_events"
 */
import { endpointsFile, twinDataDir } from '@snowgate/config';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
// The modules it needs, not the package's index: that would load the whole twin (SDK clients, emulators) first.
import type { Endpoints } from '@snowgate/twin';
import { readJson } from '@snowgate/twin/durable-file';
import { formatTable } from '@snowgate/twin/table';
import { openWarehouse, readOnlyQuery, snowflakeToDuckDb } from '@snowgate/twin/warehouse';
import { parseCommandLine, usageError } from './args';

const USAGE = `Usage: pnpm query [options] "<sql>"

Runs one read statement on the local warehouse (DuckDB): through the running twin,
or directly, read-only, when it is stopped.

Options:
  --data-dir DIR       the twin's data dir (default: $SNOWGATE_DATA_DIR or .snowgate)
  --json               print the rows as a JSON array (64-bit integers as numbers when safe, else strings)
  --dialect NAME       duckdb (default) or snowflake: translate Snowflake SQL to DuckDB first
  -h, --help           print this help

Example:
  pnpm query "select record->>'id' as id, received_at from raw_events limit 5"`;

const { values, positionals } = parseCommandLine('pnpm query', USAGE, {
  options: {
    'data-dir': { type: 'string' },
    json: { type: 'boolean', default: false },
    dialect: { type: 'string', default: 'duckdb' },
  },
  allowPositionals: true,
});
const written = positionals.join(' ').trim();
if (!['duckdb', 'snowflake'].includes(values.dialect))
  usageError('pnpm query', `--dialect must be duckdb or snowflake, not ${values.dialect}`);
if (!written) usageError('pnpm query', 'no SQL given');
let sql = written;
try {
  if (values.dialect === 'snowflake') {
    sql = snowflakeToDuckDb(written);
    if (!values.json) console.error(`-- as DuckDB: ${sql}`);
  }
} catch (error) {
  console.error(`query failed: ${(error as Error).message}`);
  process.exit(1);
}
const dataDir = twinDataDir(values['data-dir']);

async function run(): Promise<{ columns: string[]; rows: Record<string, unknown>[] }> {
  const endpoints = readJson<Endpoints>(endpointsFile(dataDir));
  if (endpoints) {
    try {
      const response = await fetch(`${endpoints.api}/query`, { method: 'POST', body: sql, headers: { 'x-snowgate-query': '1' } });
      const body = (await response.json()) as { columns: string[]; rows: Record<string, unknown>[]; message?: string };
      if (!response.ok) throw new QueryError(body.message ?? `HTTP ${response.status}`);
      return body;
    } catch (error) {
      if (error instanceof QueryError) throw error;
      // The twin is gone (stale endpoints.json): read the file directly.
    }
  }
  const path = join(dataDir, 'warehouse.duckdb');
  if (!existsSync(path)) throw new QueryError(`no warehouse in ${dataDir}: start the twin with pnpm start first`);
  const { instance, connection } = await openWarehouse(path, { readOnly: true });
  try {
    return await readOnlyQuery(connection, sql);
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

class QueryError extends Error {}

try {
  const result = await run();
  console.log(values.json ? JSON.stringify(result.rows, null, 2) : formatTable(result.columns, result.rows));
} catch (error) {
  console.error(`query failed: ${(error as Error).message}`);
  process.exit(1);
}
