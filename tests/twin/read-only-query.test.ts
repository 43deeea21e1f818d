import { openWarehouse, query, readOnlyQuery } from '@snowgate/twin';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { removeDir, tempDataDir } from './support';

describe('the warehouse answers read statements only (pnpm query, POST /query, the dashboard)', () => {
  let dir: string;
  let warehouse: Awaited<ReturnType<typeof openWarehouse>>;
  beforeAll(async () => {
    dir = tempDataDir();
    warehouse = await openWarehouse(join(dir, 'warehouse.duckdb'));
    await warehouse.connection.run(`INSERT INTO raw_events VALUES ('{"id":"keep"}', now(), 'r', 'f', 1, now(), NULL, NULL)`);
  });
  afterAll(() => {
    warehouse?.connection.closeSync();
    warehouse?.instance.closeSync();
    removeDir(dir);
  });

  it.each([
    `SELECT record->>'id' AS id FROM raw_events`,
    `WITH a AS (SELECT 1 AS n) SELECT * FROM a`,
    `FROM raw_events`,
    `DESCRIBE raw_events`,
    `SHOW TABLES`,
    `SUMMARIZE raw_events`,
    `PRAGMA table_info('raw_events')`,
    `EXPLAIN SELECT * FROM raw_events`,
    `SELECT * FROM raw_events_latest;`,
  ])('runs %s', async (sql) => {
    await expect(readOnlyQuery(warehouse.connection, sql)).resolves.toMatchObject({ columns: expect.any(Array) });
  });

  const out = () => join(dir, 'leaked.csv');
  it.each([
    ['DELETE FROM raw_events', /DELETE statement/],
    ['EXPLAIN ANALYZE DELETE/**/FROM raw_events', /read statements only/],
    ['EXPLAIN/**/ANALYSE SELECT 1', /read statements only/],
    [`WITH a AS (SELECT 1) INSERT/**/INTO raw_events SELECT '{}', now(), 'x', 'y', 2, now(), NULL, NULL`, /INSERT statement/],
    ['EXPLAIN ANALYZE CREATE/**/TABLE pwned AS SELECT 1', /read statements only/],
    ['SELECT 1; DELETE FROM raw_events', /one statement at a time/],
    ['UPDATE copy_history SET status = 1', /UPDATE statement/],
    ['DROP TABLE copy_history', /DROP statement/],
    ['SET lock_configuration = false', /SET statement/],
    ["ATTACH ':memory:' AS other", /ATTACH statement/],
    ['CALL pragma_version()', /CALL statement/],
    ['not sql at all', /syntax/i],
  ])('refuses %s', async (sql, message) => {
    await expect(readOnlyQuery(warehouse.connection, sql)).rejects.toThrow(message);
  });

  it('reaches no file: no reading, no writing, and the setting cannot be turned back on', async () => {
    await expect(readOnlyQuery(warehouse.connection, `SELECT * FROM read_text('/etc/passwd')`)).rejects.toThrow(
      /file system operations are disabled/,
    );
    await expect(readOnlyQuery(warehouse.connection, `SELECT * FROM read_csv('${out()}')`)).rejects.toThrow(/disabled/);
    await expect(warehouse.connection.run(`COPY (SELECT 1) TO '${out()}'`)).rejects.toThrow(/disabled/);
    await expect(warehouse.connection.run('SET enable_external_access = true')).rejects.toThrow();
    expect(existsSync(out())).toBe(false);
    expect((await query(warehouse.connection, `SELECT record->>'id' AS id FROM raw_events`)).rows).toEqual([{ id: 'keep' }]);
  });
});
