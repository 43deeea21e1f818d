import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { envelopeSchema } from '@snowgate/core';
import { parseIngestSettings, parseStageConfig } from '@snowgate/config';
import { createClients, LOCAL_CREDENTIALS } from '@snowgate/functions/clients';
import type { Twin } from '@snowgate/twin';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { post } from './support';
import { useTwin } from './use-twin';

const events = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, n: i, path: '/pricing' }));

async function loaded(twin: Twin, rows: number) {
  for (let i = 0; i < 150 && twin.status().snowpipe.loadedRows < rows; i++) await new Promise((r) => setTimeout(r, 100));
  return twin.status();
}

/** Every line of every landing file, in file order. */
async function landingLines(twin: Twin): Promise<string[]> {
  const { s3 } = createClients(
    parseIngestSettings({
      streamName: 'stream',
      errorBucket: twin.endpoints.buckets.errors,
      region: 'us-east-1',
      s3Endpoint: twin.endpoints.s3,
    }),
    LOCAL_CREDENTIALS,
  );
  try {
    const listed = await s3.send(new ListObjectsV2Command({ Bucket: twin.endpoints.buckets.landing }));
    const lines: string[] = [];
    for (const o of listed.Contents ?? []) {
      const bytes = await (
        await s3.send(new GetObjectCommand({ Bucket: twin.endpoints.buckets.landing, Key: o.Key! }))
      ).Body!.transformToByteArray();
      // Stored as Firehose stores it with GZIP (the default): a `.gz` object, real gzip.
      expect(o.Key).toMatch(/\.gz$/);
      const text = gunzipSync(bytes).toString('utf8');
      expect(text.endsWith('\n')).toBe(true);
      lines.push(...text.slice(0, -1).split('\n'));
    }
    return lines;
  } finally {
    s3.destroy();
  }
}

describe('the twin, packing (the default): a request of small events is one Kinesis record', () => {
  const running = useTwin(parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } }));

  it('lands one envelope per line and loads every event once; events and records are counted apart', { timeout: 60_000 }, async () => {
    const { twin } = running;
    const batch = events('pk', 50);
    expect((await post(twin.endpoints.api, JSON.stringify(batch))).status).toBe(202);
    expect((await post(twin.endpoints.api, JSON.stringify({ id: 'pk-alone' }))).status).toBe(202);
    const s = await loaded(twin, 51);
    expect([s.api.accepted, s.api.streamRecords, s.firehose.deliveredEvents, s.firehose.deliveredRecords, s.snowpipe.loadedRows]).toEqual([
      51, 2, 51, 2, 51,
    ]);
    const lines = await landingLines(twin);
    const records = lines.map((line) => envelopeSchema.parse(JSON.parse(line)).record);
    expect(records.filter((r) => r.id !== 'pk-alone')).toEqual(batch);
  });
});

describe('the twin, packing single (stage config ingest.packing.mode): one Kinesis record per event', () => {
  const running = useTwin(
    parseStageConfig({
      snowflake: { externalId: 'local' },
      firehose: { bufferIntervalSeconds: 1 },
      ingest: { packing: { mode: 'single' } },
    }),
  );

  it('puts each event in a record of its own', { timeout: 60_000 }, async () => {
    const { twin } = running;
    expect((await post(twin.endpoints.api, JSON.stringify(events('sg', 20)))).status).toBe(202);
    const s = await loaded(twin, 20);
    expect([s.api.accepted, s.api.streamRecords, s.firehose.deliveredEvents, s.firehose.deliveredRecords, s.snowpipe.loadedRows]).toEqual([
      20, 20, 20, 20, 20,
    ]);
    expect((await landingLines(twin)).map((line) => JSON.parse(line).record.id).sort()).toEqual(
      events('sg', 20)
        .map((e) => e.id)
        .sort(),
    );
  });
});
