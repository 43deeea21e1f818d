import { splitStatements, stripComments, SNOWFLAKE_DIR } from '@snowgate/snowflake';
import { openWarehouse, query, snowflakeToDuckDb } from '@snowgate/twin';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

// An analyst tries snowflake/examples/analytics.sql on the twin first
// (`pnpm query --dialect snowflake`): each example, transpiled, runs on the twin's
// warehouse and gives the answer Snowflake would on the same rows.
it('runs the example analytics queries, in Snowflake SQL, on the local warehouse', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'snowgate-examples-'));
  const { instance, connection } = await openWarehouse(join(dir, 'w.duckdb'));
  try {
    const row = (record: object, minutesAgo: number, file: string, line: number) =>
      connection.run(`INSERT INTO raw_events VALUES ($1::JSON, now() - INTERVAL (${minutesAgo}) MINUTE, 'r', $2, $3, now())`, [
        JSON.stringify(record),
        file,
        line,
      ]);
    await row({ id: 'a', type: 'page_view', user: { id: 42 } }, 10, 'f1', 1);
    await row({ id: 'a', type: 'page_view', user: { id: 42 } }, 9, 'f2', 1); // delivered twice
    await row({ id: 'b', type: 'purchase', user: { id: 42 }, items: [{ sku: 'x', qty: 2 }] }, 5, 'f2', 2);
    await row({ id: 'c', type: 'page_view', user: { id: 7 } }, 120, 'f0', 1); // over an hour ago

    const examples = splitStatements(readFileSync(join(SNOWFLAKE_DIR, 'examples/analytics.sql'), 'utf8')).map(stripComments);
    const run = async (i: number) => (await query(connection, snowflakeToDuckDb(examples[i]!))).rows;
    expect(examples).toHaveLength(5);
    // The last hour, one row per id: 'c' is older, 'a' arrived twice.
    expect((await run(0)).map((r) => [r.type, Number(r.events)]).sort()).toEqual([
      ['page_view', 1],
      ['purchase', 1],
    ]);
    expect((await run(1)).map((r) => r.id)).toEqual(['b', 'a']);
    expect(examples[2]).toMatch(/FLATTEN/); // Snowflake only
    expect((await run(3)).map((r) => Number(r.ids_with_duplicates))).toEqual([1]);
    const [latency] = await run(4);
    expect(Object.keys(latency!)).toEqual(['p50_ms', 'p95_ms', 'max_ms']);
  } finally {
    connection.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
});
