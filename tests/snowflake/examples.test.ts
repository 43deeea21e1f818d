import { Dialect, parse } from '@polyglot-sql/sdk';
import { assessSegmentRequest, limitsSchema } from '@snowgate/core';
import { splitStatements, stripComments, SNOWFLAKE_DIR } from '@snowgate/snowflake';
import { mergeUnique, openWarehouse, query, snowflakeToDuckDb } from '@snowgate/twin';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { fixture } from '../support/events';

// An analyst tries snowflake/examples/analytics.sql on the twin first
// (`pnpm query --dialect snowflake`): each example, transpiled, runs on the twin's
// warehouse and gives the answer Snowflake would on the same rows.
it('runs the example analytics queries, in Snowflake SQL, on the local warehouse', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'snowgate-examples-'));
  const { instance, connection } = await openWarehouse(join(dir, 'w.duckdb'));
  try {
    const row = (record: object, minutesAgo: number, file: string, line: number) =>
      connection.run(
        `INSERT INTO raw_events VALUES ($1::JSON, now() - INTERVAL (${minutesAgo}) MINUTE, 'r', $2, $3, now(), 'apiKey', 'acme-web')`,
        [JSON.stringify(record), file, line],
      );
    await row({ id: 'a', type: 'page_view', user: { id: 42 } }, 10, 'f1', 1);
    await row({ id: 'a', type: 'page_view', user: { id: 42 } }, 9, 'f2', 1); // delivered twice
    await row({ id: 'b', type: 'purchase', user: { id: 42 }, items: [{ sku: 'x', qty: 2 }] }, 5, 'f2', 2);
    await row({ id: 'c', type: 'page_view', user: { id: 7 } }, 120, 'f0', 1); // over an hour ago
    await row({ id: 'd', type: 'page_view', user: { id: 7 } }, 1, 'f3', 1); // just now: loaded, not yet in RAW_EVENTS_LATEST
    // What the local Snowpipe does after a load (and Snowflake's dynamic table on its next refresh), for the first four.
    await mergeUnique(connection, `(SELECT * FROM raw_events WHERE record->>'id' != 'd')`);

    const examples = splitStatements(readFileSync(join(SNOWFLAKE_DIR, 'examples/analytics.sql'), 'utf8')).map(stripComments);
    const run = async (i: number) => (await query(connection, snowflakeToDuckDb(examples[i]!))).rows;
    expect(examples).toHaveLength(6);
    // The last hour, one row per event: 'c' is older, 'a' arrived twice, 'd' not in RAW_EVENTS_LATEST yet.
    expect((await run(0)).map((r) => [r.type, Number(r.events)]).sort()).toEqual([
      ['page_view', 1],
      ['purchase', 1],
    ]);
    expect((await run(1)).map((r) => r.id)).toEqual(['b', 'a']);
    expect(examples[2]).toMatch(/FLATTEN/); // Snowflake only
    expect((await run(3)).map((r) => Number(r.events_with_duplicates))).toEqual([1]);
    const [latency] = await run(4);
    expect(Object.keys(latency!)).toEqual(['p50_ms', 'p95_ms', 'max_ms']);
    // The last 15 minutes from RAW_EVENTS: 'd' too, and 'a' once.
    expect((await run(5)).map((r) => [r.type, Number(r.events)]).sort()).toEqual([
      ['page_view', 2],
      ['purchase', 1],
    ]);
  } finally {
    connection.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
});

// docs/SEGMENT.md's query, on what the Segment routes really store for the messages the real SDKs sent
// (tests/events/segment-batch.json and rudder-batch.json.gz, through assessSegmentRequest).
it('reads Segment and RudderStack messages with the example query, parsed as Snowflake SQL and run on the local warehouse', async () => {
  const [sql, ...more] = splitStatements(readFileSync(join(SNOWFLAKE_DIR, 'examples/segment.sql'), 'utf8')).map(stripComments);
  expect(more).toEqual([]);
  const parsed = parse(sql!, Dialect.Snowflake) as { success: boolean; error?: string };
  expect([parsed.success, parsed.error]).toEqual([true, null]);

  const limits = limitsSchema.parse({});
  const request = (body: string | Buffer, headers: Record<string, string>) => ({
    requestId: 'r',
    receivedAt: new Date(),
    headers,
    body: typeof body === 'string' ? body : body.toString('base64'),
    isBase64Encoded: typeof body !== 'string',
  });
  const segment = assessSegmentRequest(request(fixture('segment-batch.json'), { 'content-type': 'application/json' }), 'batch', limits);
  const rudder = assessSegmentRequest(
    request(readFileSync(new URL('../events/rudder-batch.json.gz', import.meta.url)), {
      'content-type': 'application/x-www-form-urlencoded',
      'content-encoding': 'gzip',
    }),
    'batch',
    limits,
  );
  const records = [...segment.accepted, ...rudder.accepted].map((r) => JSON.parse(r.data).record as object);
  expect(records).toHaveLength(6);

  const dir = mkdtempSync(join(tmpdir(), 'snowgate-segment-'));
  const { instance, connection } = await openWarehouse(join(dir, 'w.duckdb'));
  try {
    for (const [i, record] of records.entries()) {
      await connection.run(`INSERT INTO raw_events VALUES ($1::JSON, now(), 'r', 'f', $2, now(), 'apiKey', 'acme-segment')`, [
        JSON.stringify(record),
        i + 1,
      ]);
    }
    await connection.run(
      `INSERT INTO raw_events VALUES ('{"id":"not-segment","type":"page_view"}'::JSON, now(), 'r', 'f', 99, now(), 'apiKey', 'acme-web')`,
    );
    await mergeUnique(connection, 'raw_events'); // as the local Snowpipe does after a load
    const rows = (await query(connection, snowflakeToDuckDb(sql!))).rows;
    expect(rows.map((r) => [r.message_id, r.type, r.event, r.user_id, r.anonymous_id])).toEqual([
      ['seg-fixture-1', 'track', 'Order Completed', 'user-1', null],
      ['seg-fixture-2', 'identify', null, null, 'anon-1'],
      ['seg-fixture-3', 'page', null, 'user-1', null],
      ['rs-fixture-2', 'screen', null, 'user-1', null],
      ['rs-fixture-3', 'group', null, 'user-1', null],
      ['rs-fixture-4', 'alias', null, 'user-1', null],
    ]);
    expect(JSON.parse(String(rows[0]!.properties))).toEqual({ order_id: 'o-1', total: 12.5, currency: 'EUR' });
    for (const r of rows) expect(r.event_time).not.toBeNull();
  } finally {
    connection.closeSync();
    instance.closeSync();
    rmSync(dir, { recursive: true, force: true });
  }
});
