import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { landingText, quarantineObjectSchema } from '@snowgate/core';
import { parseStageConfig } from '@snowgate/config';
import { createClients } from '@snowgate/functions/clients';
import { startTwin, type Twin } from '@snowgate/twin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixture } from '../support/events';
import { post, QUIET, removeDir, rows, spawnTwin, stopTwin, tempDataDir } from './support';
import { useTwin } from './use-twin';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
/** Defaults, with a 1 s Firehose interval so that tests wait less. */
const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } });

describe('the local twin, end to end', () => {
  let dataDir: string;
  let twin: Twin;
  beforeAll(async () => {
    dataDir = tempDataDir();
    twin = await startTwin({ port: 0, dataDir, ...QUIET }, stage);
  });
  afterAll(async () => {
    await twin?.stop();
    removeDir(dataDir);
  });

  it('loads single events, batches and NDJSON into raw_events exactly once, and keeps rejected input out of it', async () => {
    const api = twin.endpoints.api;
    const answers = [
      await post(api, fixture('single.json')),
      await post(api, fixture('batch.json')),
      await post(api, fixture('events.ndjson'), 'application/x-ndjson'),
      await post(api, fixture('batch-mixed.json')),
      await post(api, '{"id": "never-1", '),
    ];
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202, 207, 400]);
    expect((await fetch(`${api}/health`)).status).toBe(200);

    await twin.stop();
    const loaded = await rows(
      dataDir,
      `SELECT record->>'id' AS id, request_id, source_file, file_row_number, received_at, loaded_at, record::VARCHAR AS text FROM raw_events ORDER BY id`,
    );
    expect(loaded.map((r) => r.id)).toEqual(['11', 'evt-1', 'evt-10', 'evt-12', 'evt-20', 'evt-24', 'evt-30', 'evt-31', 'evt-32']);
    for (const r of loaded) {
      expect(r.source_file).toMatch(/^events\/\d{4}\/\d\d\/\d\d\/\d\d\/snowgate-local-to-landing-1-\d{4}(-\d\d){5}-[0-9a-f-]{36}\.gz$/);
      expect(Number(r.file_row_number)).toBeGreaterThan(0);
      expect(new Date(String(r.loaded_at)).getTime()).toBeGreaterThanOrEqual(new Date(String(r.received_at)).getTime());
    }
    expect(loaded.find((r) => r.id === 'evt-1')!.text).toContain('12345678901234567890');
    expect(new Set(loaded.filter((r) => r.id === 'evt-20' || r.id === 'evt-24').map((r) => r.request_id))).toEqual(
      new Set([answers[3]!.body.requestId]),
    );

    // The rejected input is in the error bucket, and only there.
    const history = await rows(dataDir, `SELECT status, row_count FROM copy_history`);
    expect(history.every((h) => h.status === 'LOADED')).toBe(true);
    twin = await startTwin({ port: 0, dataDir, ...QUIET }, stage);
    const { s3 } = createClients({ region: 'us-east-1', s3Endpoint: twin.endpoints.s3 }, credentials);
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: twin.endpoints.buckets.errors }));
    const objects = await Promise.all(
      (listed.Contents ?? []).map(async (o) =>
        JSON.parse(
          await (await s3.send(new GetObjectCommand({ Bucket: twin.endpoints.buckets.errors, Key: o.Key! }))).Body!.transformToString(),
        ),
      ),
    );
    expect(objects.map((o) => o.reasons).sort()).toEqual([['malformed_json'], ['missing_id', 'not_an_object']]);
    expect(objects.find((o) => o.body)!.body.data).toBe('{"id": "never-1", ');
    s3.destroy();
  });

  it('loads a file announced twice once, and skips a file with a bad line whole, recording its first error', async () => {
    const { s3 } = createClients({ region: 'us-east-1', s3Endpoint: twin.endpoints.s3 }, credentials);
    const good = '{"received_at":"2026-11-22T00:00:00.000Z","request_id":"manual","record":{"id":"manual-1"}}\n';
    const bad = `${good}this is not json\n${good.replace('manual-1', 'manual-2')}`;
    const put = (key: string, body: string) =>
      s3.send(new PutObjectCommand({ Bucket: twin.endpoints.buckets.landing, Key: key, Body: body }));
    await put('events/manual/good', good);
    await put('events/manual/good', good); // announced again: same path
    await put('events/manual/bad', bad);
    s3.destroy();
    await twin.stop();
    expect(await rows(dataDir, `SELECT record->>'id' AS id FROM raw_events WHERE request_id = 'manual'`)).toEqual([{ id: 'manual-1' }]);
    const history = await rows(
      dataDir,
      `SELECT file_name, status, first_error_line_number, first_error_message FROM copy_history WHERE file_name LIKE 'events/manual/%' ORDER BY file_name`,
    );
    expect(history).toMatchObject([
      { file_name: 'events/manual/bad', status: 'LOAD_FAILED', first_error_line_number: 2 },
      { file_name: 'events/manual/good', status: 'LOADED' },
    ]);
    expect(String(history[0]!.first_error_message)).toMatch(/JSON/);
  });
});

describe('the local twin and a record that repeats a key', () => {
  const running = useTwin(stage);

  it('quarantines it as duplicate_key and never loads it, so the stream and raw_events cannot disagree on its id', async () => {
    const api = running.twin.endpoints.api;
    const mixed = await post(api, '[{"id":"dk-0"},{"id":"dk-1","id":"dk-2"}]');
    expect(mixed.status).toBe(207);
    expect(mixed.body.errors).toEqual([{ index: 1, reason: 'duplicate_key', message: 'record 1 repeats the key "id" at $.id' }]);
    const alone = await post(api, '{"id":"dk-3","user":{"id":1},"\\u0069d":"dk-4"}\n', 'application/x-ndjson');
    expect(alone.status).toBe(422);
    expect(alone.body.errors).toMatchObject([{ index: 0, reason: 'duplicate_key' }]);

    const { s3 } = createClients({ region: 'us-east-1', s3Endpoint: running.twin.endpoints.s3 }, credentials);
    try {
      const bucket = running.twin.endpoints.buckets.errors;
      const keys = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map((o) => o.Key!);
      const objects = await Promise.all(
        keys.map(async (Key) =>
          quarantineObjectSchema.parse(
            JSON.parse(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key }))).Body!.transformToString()),
          ),
        ),
      );
      expect(objects.map((o) => [o.status, o.reasons, o.records.map((r) => r.input.data)]).sort()).toEqual([
        [207, ['duplicate_key'], ['{"id":"dk-1","id":"dk-2"}']],
        [422, ['duplicate_key'], ['{"id":"dk-3","user":{"id":1},"\\u0069d":"dk-4"}']],
      ]);
    } finally {
      s3.destroy();
    }

    // Its good neighbour, from the same request, is loaded; it alone.
    const sql = (q: string) =>
      fetch(`${api}/query`, { method: 'POST', body: q, headers: { 'x-snowgate-query': '1' } }).then(
        async (r) => ((await r.json()) as { rows: Record<string, unknown>[] }).rows,
      );
    for (let i = 0; i < 100 && (await sql(`SELECT 1 FROM raw_events WHERE record->>'id' = 'dk-0'`)).length === 0; i++)
      await new Promise((r) => setTimeout(r, 100));
    expect(await sql(`SELECT record->>'id' AS id FROM raw_events ORDER BY id`)).toEqual([{ id: 'dk-0' }]);
  });
});

describe('the local twin as a process', () => {
  it('loses nothing acknowledged when killed mid-stream and restarted', async () => {
    const dataDir = tempDataDir();
    try {
      const acked = new Set<string>();
      const first = await spawnTwin(dataDir);
      let sent = 0;
      const sendSome = async (api: string, n: number) => {
        for (let i = 0; i < n; i++) {
          const batch = Array.from({ length: 10 }, (_, j) => ({ id: `k-${sent}-${j}` }));
          sent++;
          try {
            const r = await post(api, JSON.stringify(batch));
            if (r.status === 202) for (const b of batch) acked.add(b.id);
          } catch {
            // killed while in flight: not acknowledged
          }
        }
      };
      await sendSome(first.endpoints.api, 30);
      const inFlight = sendSome(first.endpoints.api, 30);
      await new Promise((r) => setTimeout(r, 150));
      await stopTwin(first, 'SIGKILL');
      await inFlight;
      const second = await spawnTwin(dataDir);
      await sendSome(second.endpoints.api, 20);
      expect(await stopTwin(second, 'SIGINT')).toBe(0);
      const loaded = await rows(dataDir, `SELECT record->>'id' AS id, count(*) AS n FROM raw_events GROUP BY 1`);
      const ids = new Map(loaded.map((r) => [String(r.id), Number(r.n)]));
      const missing = [...acked].filter((id) => !ids.has(id));
      expect(missing).toEqual([]);
      expect([...ids.values()].filter((n) => n > 1)).toEqual([]);
      expect(acked.size).toBeGreaterThan(400);
    } finally {
      removeDir(dataDir);
    }
  }, 120_000);

  it('with 5% of Kinesis entries and 5% of S3 writes failing, every record that got a 2xx is in the table', async () => {
    const dataDir = tempDataDir();
    try {
      const twin = await spawnTwin(dataDir, ['--kinesis-failure-rate', '0.05', '--s3-failure-rate', '0.05']);
      const acked = new Set<string>();
      const statuses: Record<number, number> = {};
      await Promise.all(
        Array.from({ length: 4 }, async (_, worker) => {
          for (let i = 0; i < 40; i++) {
            const batch = Array.from({ length: 20 }, (_, j) => ({ id: `f-${worker}-${i}-${j}` }));
            const bad = i % 10 === 0 ? [{ missing: 'id' }] : [];
            const r = await post(twin.endpoints.api, JSON.stringify([...batch, ...bad]));
            statuses[r.status] = (statuses[r.status] ?? 0) + 1;
            if (r.status === 202 || r.status === 207) for (const b of batch) acked.add(b.id);
          }
        }),
      );
      expect(await stopTwin(twin, 'SIGINT')).toBe(0);
      // Faults happened, and were absorbed by retries or answered 503; never a 500.
      expect(statuses[500]).toBeUndefined();
      expect((statuses[202] ?? 0) + (statuses[207] ?? 0)).toBeGreaterThan(100);
      const loaded = new Set((await rows(dataDir, `SELECT DISTINCT record->>'id' AS id FROM raw_events`)).map((r) => String(r.id)));
      expect([...acked].filter((id) => !loaded.has(id))).toEqual([]);
    } finally {
      removeDir(dataDir);
    }
  }, 120_000);
});

describe('the local twin across a reshard', () => {
  it('follows a split shard into its children and loads every record exactly once', async () => {
    const { DescribeStreamCommand, SplitShardCommand } = await import('@aws-sdk/client-kinesis');
    const dataDir = tempDataDir();
    const twin = await startTwin({ port: 0, dataDir, shards: 1 }, stage);
    try {
      const { kinesis } = createClients({ region: 'us-east-1', kinesisEndpoint: twin.endpoints.kinesis }, credentials);
      const batch = (prefix: string) => JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ id: `${prefix}-${i}` })));
      expect((await post(twin.endpoints.api, batch('before'))).status).toBe(202);
      const [parent] = (await kinesis.send(new DescribeStreamCommand({ StreamName: twin.endpoints.stream }))).StreamDescription!.Shards!;
      await kinesis.send(
        new SplitShardCommand({
          StreamName: twin.endpoints.stream,
          ShardToSplit: parent!.ShardId!,
          NewStartingHashKey: (2n ** 127n).toString(),
        }),
      );
      for (let i = 0; i < 50; i++) {
        const d = await kinesis.send(new DescribeStreamCommand({ StreamName: twin.endpoints.stream }));
        if (d.StreamDescription!.StreamStatus === 'ACTIVE' && d.StreamDescription!.Shards!.length === 3) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect((await post(twin.endpoints.api, batch('after'))).status).toBe(202);
      kinesis.destroy();
    } finally {
      await twin.stop();
    }
    const loaded = await rows(dataDir, `SELECT record->>'id' AS id, count(*) AS n FROM raw_events GROUP BY 1`);
    removeDir(dataDir);
    expect(loaded).toHaveLength(100);
    expect(loaded.every((r) => Number(r.n) === 1)).toBe(true);
  }, 60_000);
});

describe('the local Firehose buffer', () => {
  it('cuts objects at the buffer size (1 MiB), however much one GetRecords brings, and delivers every record once', async () => {
    const dataDir = tempDataDir();
    const twin = await startTwin({ port: 0, dataDir, shards: 1 }, stage);
    const pad = 'x'.repeat(1_000);
    try {
      for (let b = 0; b < 4; b++) {
        const batch = JSON.stringify(Array.from({ length: 500 }, (_, i) => ({ id: `big-${b}-${i}`, pad })));
        expect((await post(twin.endpoints.api, batch)).status).toBe(202);
      }
    } finally {
      await twin.stop();
    }
    const loaded = await rows(dataDir, `SELECT count(*) AS n, count(DISTINCT record->>'id') AS ids FROM raw_events`);
    const files = await rows(dataDir, `SELECT file_name FROM copy_history WHERE status = 'LOADED'`);
    const twinAgain = await startTwin({ port: 0, dataDir, ...QUIET }, stage);
    const { s3 } = createClients({ region: 'us-east-1', s3Endpoint: twinAgain.endpoints.s3 }, credentials);
    // The buffer size bounds what Firehose buffers (uncompressed), not the gzip object it stores.
    const Bucket = twinAgain.endpoints.buckets.landing;
    const listed = (await s3.send(new ListObjectsV2Command({ Bucket }))).Contents ?? [];
    const sizes = await Promise.all(
      listed.map(
        async (o) => landingText(await (await s3.send(new GetObjectCommand({ Bucket, Key: o.Key! }))).Body!.transformToByteArray()).length,
      ),
    );
    s3.destroy();
    await twinAgain.stop();
    removeDir(dataDir);
    expect(loaded).toEqual([{ n: 2000, ids: 2000 }]);
    expect(sizes.length).toBe(files.length);
    expect(sizes.length).toBeGreaterThanOrEqual(2);
    expect(Math.max(...sizes)).toBeLessThanOrEqual(1_048_576);
    expect(sizes.reduce((a, b) => a + b, 0)).toBeGreaterThan(2_000_000);
  }, 60_000);
});

describe('the local twin under misuse', () => {
  it('survives a client that leaves mid-body, guards /query, and fails an unloadable file instead of retrying it forever', async () => {
    const net = await import('node:net');
    const dataDir = tempDataDir();
    const twin = await startTwin({ port: 0, dataDir, ...QUIET }, stage);
    try {
      const { port } = new URL(twin.endpoints.api);
      await new Promise<void>((resolve) => {
        const socket = net.connect(Number(port), '127.0.0.1', () => {
          socket.write('POST /events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"id":');
          setTimeout(() => {
            socket.destroy();
            resolve();
          }, 50);
        });
      });
      expect((await post(twin.endpoints.api, '{"id":"still-alive"}')).status).toBe(202);

      expect((await fetch(`${twin.endpoints.api}/query`, { method: 'POST', body: 'select 1' })).status).toBe(404);
      const write = await fetch(`${twin.endpoints.api}/query`, {
        method: 'POST',
        body: 'delete from copy_history',
        headers: { 'x-snowgate-query': '1' },
      });
      expect(write.status).toBe(400);
      const read = await fetch(`${twin.endpoints.api}/query`, {
        method: 'POST',
        body: 'select 42 as x',
        headers: { 'x-snowgate-query': '1' },
      });
      expect(await read.json()).toMatchObject({ rows: [{ x: 42 }] });

      const { s3 } = createClients({ region: 'us-east-1', s3Endpoint: twin.endpoints.s3 }, credentials);
      const poison = '{"received_at":"2026-11-22T00:00:00.000Z","request_id":"poison","record":{"id":"p","s":"\\ud800"}}\n';
      await s3.send(new PutObjectCommand({ Bucket: twin.endpoints.buckets.landing, Key: 'events/manual/poison', Body: poison }));
      s3.destroy();
    } finally {
      await twin.stop();
    }
    const history = await rows(dataDir, `SELECT status, first_error_message FROM copy_history WHERE file_name = 'events/manual/poison'`);
    expect(history).toMatchObject([{ status: 'LOAD_FAILED' }]);
    expect(await rows(dataDir, `SELECT record->>'id' AS id FROM raw_events`)).toEqual([{ id: 'still-alive' }]);
    removeDir(dataDir);
  }, 60_000);
});
