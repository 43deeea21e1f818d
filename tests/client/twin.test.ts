/**
 * @snowgate/client against the real local twin, with 5 % of Kinesis entries and
 * 5 % of S3 writes failing: what the client calls delivered is in raw_events,
 * and what it calls rejected is not.
 */
import { createClient, type EventOutcome, type SnowgateEvent } from '@snowgate/client';
import { parseStageConfig } from '@snowgate/config';
import { openWarehouse, query, startTwin, type Twin } from '@snowgate/twin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUIET, removeDir, tempDataDir } from '../twin/support';

const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } });

type Event = SnowgateEvent & { tag: string };

/** `n` events tagged `<prefix>-<i>`; every 50th has no id (the server rejects it), and one is too large to send. */
function workload(prefix: string, n: number): Event[] {
  return Array.from({ length: n }, (_, i) => {
    const tag = `${prefix}-${i}`;
    if (i % 50 === 7) return { tag, kind: 'no id' };
    if (i === 13) return { id: tag, tag, pad: 'x'.repeat(1_100_000) };
    return { id: tag, tag, i, user: { plan: i % 3 === 0 ? 'pro' : 'free' }, at: '2026-12-03T10:00:00Z' };
  });
}

async function drive(endpoint: string, events: Event[], gzip: boolean) {
  const client = createClient<Event>({
    endpoint,
    gzip,
    maxBatchRecords: 100,
    maxConcurrency: 4,
    flushIntervalMs: 50,
    retryBaseDelayMs: 50,
  });
  const outcomes: Promise<EventOutcome<Event>>[] = [];
  for (const e of events) {
    await client.ready();
    outcomes.push(client.send(e));
  }
  await client.close();
  return { outcomes: await Promise.all(outcomes), stats: client.stats() };
}

describe('the client against the twin, faults on', () => {
  let dataDir: string;
  let twin: Twin | undefined;
  const results = new Map<string, EventOutcome<Event>[]>();

  beforeAll(async () => {
    dataDir = tempDataDir();
    twin = await startTwin({ port: 0, dataDir, kinesisFailureRate: 0.05, s3FailureRate: 0.05, ...QUIET }, stage);
  });
  afterAll(async () => {
    await twin?.stop();
    removeDir(dataDir);
  });

  it('sends 3,000 events in JSON batches: the invalid ones rejected, the one too large refused locally, the rest delivered', async () => {
    const { outcomes, stats } = await drive(twin!.endpoints.api, workload('plain', 3_000), false);
    results.set('plain', outcomes);
    const by = (s: string) => outcomes.filter((o) => o.status === s);
    expect(
      by('rejected')
        .map((o) => o.event.tag)
        .sort(),
    ).toEqual(
      workload('plain', 3_000)
        .filter((e, i) => !('id' in e) || i === 13)
        .map((e) => e.tag)
        .sort(),
    );
    expect(
      by('rejected')
        .filter((o) => o.status === 'rejected' && o.local)
        .map((o) => o.event.tag),
    ).toEqual(['plain-13']);
    expect(
      by('rejected').every(
        (o) => o.status === 'rejected' && (o.local ? o.reason === 'record_too_large' : o.reason === 'missing_id' && o.httpStatus === 207),
      ),
    ).toBe(true);
    expect(by('failed')).toEqual([]);
    expect(by('delivered')).toHaveLength(3_000 - 60 - 1);
    expect(stats.requests).toBeGreaterThanOrEqual(30);
    console.info(`client → twin (json): ${JSON.stringify(stats)}`);
  });

  it('sends 1,000 events gzipped (Content-Encoding: gzip), with the same outcomes', async () => {
    const { outcomes, stats } = await drive(twin!.endpoints.api, workload('gzip', 1_000), true);
    results.set('gzip', outcomes);
    expect(outcomes.filter((o) => o.status === 'failed')).toEqual([]);
    expect(outcomes.filter((o) => o.status === 'rejected').map((o) => (o.status === 'rejected' ? o.reason : ''))).toEqual([
      ...Array(1).fill('missing_id'),
      'record_too_large',
      ...Array(19).fill('missing_id'),
    ]);
    expect(outcomes.filter((o) => o.status === 'delivered')).toHaveLength(1_000 - 20 - 1);
    expect(stats.bytesSent).toBeLessThan(stats.bytesUncompressed / 3);
    console.info(`client → twin (gzip): ${JSON.stringify(stats)}`);
  });

  it('after the twin stops (everything accepted is loaded), raw_events holds every delivered event and no rejected one', async () => {
    await twin!.stop();
    twin = undefined;
    const { instance, connection } = await openWarehouse(`${dataDir}/warehouse.duckdb`, { readOnly: true });
    let loaded: Map<string, number>;
    try {
      const rows = (await query(connection, `SELECT record->>'tag' AS tag, count(*) AS n FROM raw_events GROUP BY 1`)).rows;
      loaded = new Map(rows.map((r) => [String(r.tag), Number(r.n)]));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    const all = [...results.values()].flat();
    expect(all.length).toBeGreaterThanOrEqual(3_000);
    const delivered = all.filter((o) => o.status === 'delivered').map((o) => o.event.tag);
    const rejected = all.filter((o) => o.status === 'rejected').map((o) => o.event.tag);
    expect(delivered.filter((tag) => !loaded.has(tag))).toEqual([]);
    expect(rejected.filter((tag) => loaded.has(tag))).toEqual([]);
    // At least once: a retried 503 may have left part of its batch on the stream already.
    const duplicates = [...loaded.values()].filter((n) => n > 1).length;
    console.info(`raw_events: ${loaded.size} events, ${duplicates} more than once`);
    expect(loaded.size).toBe(delivered.length);
  }, 60_000);
});
