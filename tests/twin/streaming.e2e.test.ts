// Delivery mode `streaming` on the twin: the real consumer, run by the local event source mapping,
// appends through the REST client to the emulated Snowpipe Streaming endpoint, which writes DuckDB.
// Exactly once per channel, whatever fails: the endpoint (5 % of its answers, half of them after the
// rows were committed), Kinesis (throttled entries) and S3 (failed writes), all at once.
import { writeFileSync } from 'node:fs';
import { parseStageConfig } from '@snowgate/config';
import { readyBanner } from '@snowgate/twin';
import { describe, expect, it } from 'vitest';
import { post, removeDir, rows, spawnTwin, stopTwin, tempDataDir, type TwinProcess } from './support';
import { useTwin } from './use-twin';

const FAULTS = { kinesisFailureRate: 0.05, s3FailureRate: 0.05 };

/** Posts `batches` batches of `size` unique ids, recording what got a 202 (under Kinesis faults some get a 503). */
async function send(api: string, name: string, batches: number, size: number, acked: Set<string>): Promise<void> {
  for (let i = 0; i < batches; i++) {
    const batch = Array.from({ length: size }, (_, j) => ({ id: `${name}-${i}-${j}`, n: j }));
    const r = await post(api, JSON.stringify(batch));
    if (r.status === 202) for (const b of batch) acked.add(b.id);
    else expect(r.status).toBe(503);
  }
}

/** Every acknowledged id exactly once in raw_events, and one row per event in raw_events_unique. */
async function expectExactlyOnce(read: (sql: string) => Promise<Record<string, unknown>[]>, acked: Set<string>): Promise<void> {
  const loaded = await read(`SELECT record->>'id' AS id, count(*) AS n FROM raw_events GROUP BY 1`);
  const counts = new Map(loaded.map((r) => [String(r.id), Number(r.n)]));
  expect([...acked].filter((id) => !counts.has(id))).toEqual([]);
  expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
  const [unique] = await read(`SELECT count(*) AS n, count(DISTINCT event_key) AS keys FROM raw_events_unique`);
  expect(unique).toEqual({ n: counts.size, keys: counts.size });
}

describe('the twin in delivery mode streaming, with endpoint, Kinesis and S3 faults on', () => {
  // Small batches and no batching window: many invocations, so that 5 % of the endpoint's answers are many failures.
  const stage = parseStageConfig({
    delivery: { mode: 'streaming', streaming: { batchWindowSeconds: 0, batchSize: 1 } },
    firehose: { bufferIntervalSeconds: 1 },
    snowflake: { externalId: 'local' },
  });
  const running = useTwin(stage, {
    ...FAULTS,
    streamingFailureRate: 0.05,
  });

  it('appends every acknowledged event once, as a row that says where it was on the stream, and loads no landing file', async () => {
    const { twin } = running;
    const ask = async (sql: string) => {
      const response = await fetch(`${twin.endpoints.api}/query`, { method: 'POST', headers: { 'x-snowgate-query': '1' }, body: sql });
      expect(response.status).toBe(200);
      return ((await response.json()) as { rows: Record<string, unknown>[] }).rows;
    };
    const acked = new Set<string>();
    await send(twin.endpoints.api, 'five', 300, 8, acked);
    expect(acked.size).toBeGreaterThan(2_000);
    // Streaming is about a second; give the retries of 5 % failures room.
    for (let i = 0; i < 600; i++) {
      const [{ n } = { n: 0 }] = await ask(`SELECT count(DISTINCT record->>'id') AS n FROM raw_events`);
      if (Number(n) >= acked.size) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    await expectExactlyOnce(ask, acked);

    // The row contract of the streaming pipe: where on the stream, which line of the record, when appended.
    const [shape] = await ask(
      `SELECT count(*) FILTER (WHERE NOT regexp_matches(source_file, '^kinesis:shardId-\\d{12}:\\d+$')) AS bad_source,
              count(*) FILTER (WHERE file_row_number < 1) AS bad_line,
              count(*) FILTER (WHERE loaded_at < received_at) AS loaded_before_received,
              max(file_row_number) AS most_lines
       FROM raw_events`,
    );
    expect(shape).toMatchObject({ bad_source: 0, bad_line: 0, loaded_before_received: 0 });
    // Packed records: several events per Kinesis record, each its own line.
    expect(Number(shape!.most_lines)).toBeGreaterThan(1);

    // The landing files are written as the archive, and Snowpipe loads none of them.
    // The status reaches the main thread every 250 ms, and Firehose retries its failed writes: wait for both.
    const streamed = () => twin.status().streaming!.channels.reduce((n, c) => n + c.rowsInserted, 0);
    for (let i = 0; i < 300 && (twin.status().firehose.deliveredEvents < acked.size || streamed() < acked.size); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(await ask(`SELECT count(*) AS n FROM copy_history`)).toEqual([{ n: 0 }]);
    const status = twin.status();
    expect(status.delivery).toBe('streaming');
    expect(
      readyBanner({
        endpoints: twin.endpoints,
        contracts: status.contracts,
        auth: twin.auth,
        dataDir: twin.dataDir,
        delivery: status.delivery,
      }),
    ).toMatch(/Delivery +streaming: a consumer appends each event through the emulated Snowpipe Streaming endpoint/);
    expect(status.firehose.deliveredEvents).toBe(acked.size);
    // A channel per shard, its committed offset the shard's checkpoint once caught up.
    const channels = status.streaming!.channels;
    expect(channels.map((c) => c.channel).sort()).toEqual(['snowgate-local-shardId-000000000000', 'snowgate-local-shardId-000000000001']);
    expect(channels.reduce((n, c) => n + c.rowsInserted, 0)).toBe(acked.size);
    for (let i = 0; i < 50 && twin.status().streaming!.consumer.shards.some((s) => s.pendingRecords > 0); i++)
      await new Promise((r) => setTimeout(r, 100));
    const shards = twin.status().streaming!.consumer.shards;
    for (const shard of shards) {
      expect(shard.checkpoint).toBe(channels.find((c) => c.channel.endsWith(shard.shardId))!.offsetToken);
    }
    // The endpoint did fail (its client retried, or the consumer gave the batch back).
    expect(status.streaming!.endpointErrors).toBeGreaterThan(0);
    // Among them appends committed whose answer never came: the client's retry was refused, the channel reopened,
    // and what it had committed skipped.
    expect(status.streaming!.lostAppendAnswers).toBeGreaterThan(0);
  }, 180_000);

  it('lands a record as the exact text received, as the landing files do: integers beyond double precision, key order, escapes', async () => {
    const { twin } = running;
    const raw = '{"id":"big-1","n":12345678901234567890,"z":{"b":1,"2":0,"a":2},"e":"\\u00e9\\/\\ud83d\\ude00","f":1.50}';
    // Kinesis faults are on: a 503 is sent again.
    for (let i = 0; i < 20 && (await post(twin.endpoints.api, `[${raw}]`)).status !== 202; i++);
    let landed: Record<string, unknown>[] = [];
    for (let i = 0; i < 300 && landed.length === 0; i++) {
      const response = await fetch(`${twin.endpoints.api}/query`, {
        method: 'POST',
        headers: { 'x-snowgate-query': '1' },
        body: `SELECT record::VARCHAR AS text, record->>'n' AS n FROM raw_events WHERE record->>'id' = 'big-1'`,
      });
      landed = ((await response.json()) as { rows: Record<string, unknown>[] }).rows;
      if (landed.length === 0) await new Promise((r) => setTimeout(r, 100));
    }
    expect(landed).toEqual([{ text: raw, n: '12345678901234567890' }]);
  }, 60_000);
});

/** A stage config in the data dir's parent: streaming, Firehose flushing every second. */
function config(dataDir: string): string {
  const file = `${dataDir}-config.json`;
  writeFileSync(file, JSON.stringify({ delivery: { mode: 'streaming' }, firehose: { bufferIntervalSeconds: 1 } }));
  return file;
}

async function kill(twin: TwinProcess): Promise<void> {
  const exited = new Promise((resolve) => twin.child.once('exit', resolve));
  twin.child.kill('SIGKILL');
  await exited;
}

describe('the twin in delivery mode streaming killed with SIGKILL', () => {
  it('appends every acknowledged event once when killed after an append and before its checkpoint', async () => {
    const dataDir = tempDataDir();
    const file = config(dataDir);
    const faults = ['--kinesis-failure-rate', '0.05', '--s3-failure-rate', '0.05'];
    try {
      const acked = new Set<string>();
      // The failpoint holds the consumer after its first append is committed, before the checkpoint; we kill it there.
      const first = await spawnTwin(dataDir, ['--config', file, ...faults], { env: { SNOWGATE_TWIN_FAILPOINT: 'stream-checkpoint' } });
      await send(first.endpoints.api, 'held', 20, 100, acked);
      for (let i = 0; i < 150 && !first.output().includes('failpoint stream-checkpoint reached'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(first.output()).toContain('failpoint stream-checkpoint reached');
      await kill(first);
      // Rows of that append are in, and the consumer's checkpoint does not cover them.
      const [before] = await rows(dataDir, `SELECT count(*) AS n FROM raw_events`);
      expect(Number(before!.n)).toBeGreaterThan(0);

      const second = await spawnTwin(dataDir, ['--config', file, ...faults]);
      await send(second.endpoints.api, 'after', 5, 100, acked);
      expect(await stopTwin(second, 'SIGINT')).toBe(0);
      await expectExactlyOnce((sql) => rows(dataDir, sql), acked);
      expect(acked.size).toBeGreaterThan(2_000);
      expect(await rows(dataDir, `SELECT count(*) AS n FROM copy_history`)).toEqual([{ n: 0 }]);
    } finally {
      removeDir(dataDir);
      removeDir(file);
    }
  }, 120_000);
});
