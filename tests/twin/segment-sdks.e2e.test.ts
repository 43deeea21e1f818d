import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Analytics } from '@segment/analytics-node';
import Rudder from '@rudderstack/rudder-sdk-node';
import { parseStageConfig } from '@snowgate/config';
import { generateApiKey, landingText } from '@snowgate/core';
import { createClients } from '@snowgate/functions/clients';
import { fileApiKeyStore, startTwin, type Twin } from '@snowgate/twin';
import { describe, expect, it } from 'vitest';
import { QUIET, removeDir, rows, tempDataDir } from './support';

/**
 * The real, unmodified Segment and RudderStack Node SDKs pointed at the twin: the host and the write key are
 * all a producer changes. What each SDK reports sent must be in raw_events, with its messageId as id.
 */

const CALLS = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;

/** The arguments of call `i` of each kind, as a producer would write them. */
function message(i: number, extra: Record<string, unknown> = {}) {
  const user = { userId: `user-${i % 50}`, ...extra };
  switch (CALLS[i % CALLS.length]!) {
    case 'track':
      return ['track', { ...user, event: 'Order Completed', properties: { order_id: `o-${i}`, total: 12.5, currency: 'EUR' } }] as const;
    case 'identify':
      return ['identify', { ...user, traits: { plan: i % 2 ? 'pro' : 'free' } }] as const;
    case 'page':
      return ['page', { ...user, name: 'Pricing', properties: { path: '/pricing' } }] as const;
    case 'screen':
      return ['screen', { ...user, name: 'Checkout' }] as const;
    case 'group':
      return ['group', { ...user, groupId: `g-${i % 7}`, traits: { name: 'Acme' } }] as const;
    default:
      return ['alias', { ...user, previousId: `anon-${i}` }] as const;
  }
}

interface Outcome {
  /** The messageIds the SDK reported delivered. */
  sent: string[];
  /** How many it reported failed. */
  failed: number;
  /** Sent on purpose without a valid messageId: reported sent by the SDK (a 200), quarantined by Snowgate. */
  quarantined: number;
}

/**
 * Segment's SDK, with its defaults (batches of 15, its own retries; `maxRetries` raises them): each call's
 * callback says delivered or not.
 */
async function sendWithSegment(
  api: string,
  writeKey: string,
  count: number,
  { maxRetries }: { maxRetries?: number } = {},
): Promise<Outcome> {
  const analytics = new Analytics({ writeKey, host: api, ...(maxRetries === undefined ? {} : { maxRetries }) });
  analytics.on('error', () => undefined);
  const outcome: Outcome = { sent: [], failed: 0, quarantined: 0 };
  const done: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const [call, params] = message(i);
    done.push(
      new Promise((resolve) => {
        (analytics[call] as (p: object, cb: (err?: unknown, ctx?: { event: { messageId?: string } }) => void) => void)(
          params,
          (err, ctx) => {
            if (err) outcome.failed++;
            else outcome.sent.push(ctx!.event.messageId!);
            resolve();
          },
        );
      }),
    );
  }
  await analytics.closeAndFlush({ timeout: 120_000 });
  await Promise.all(done);
  return outcome;
}

/**
 * RudderStack's SDK, with its defaults (gzip, batches of 20, three retries); messageIds set by the producer.
 * Every `invalidEvery`-th message gets a number for a messageId, which Snowgate quarantines (`invalid_id`):
 * the batch is still a 200, so the SDK reports it sent, and it is counted apart.
 */
async function sendWithRudder(api: string, writeKey: string, count: number, prefix: string, invalidEvery = 0): Promise<Outcome> {
  const client = new Rudder(writeKey, { dataPlaneUrl: api, logLevel: 'none', errorHandler: () => undefined });
  const outcome: Outcome = { sent: [], failed: 0, quarantined: 0 };
  const done: Promise<void>[] = [];
  for (let i = 0; i < count; i++) {
    const invalid = invalidEvery > 0 && i % invalidEvery === 0;
    const messageId = `${prefix}-${i}`;
    const [call, params] = message(i, { messageId: invalid ? i + 1 : messageId });
    done.push(
      new Promise((resolve) => {
        (client[call] as (p: object, cb: (err?: unknown) => void) => void)(params, (err) => {
          if (err) outcome.failed++;
          else if (invalid) outcome.quarantined++;
          else outcome.sent.push(messageId);
          resolve();
        });
      }),
    );
  }
  // Its flush sends one batch (flushAt messages) at a time.
  while ((client as unknown as { queue: unknown[] }).queue.length > 0) await client.flush();
  await Promise.all(done);
  return outcome;
}

/** Rows of raw_events once the twin has stopped (drained: everything accepted is loaded). */
async function loaded(dataDir: string) {
  return rows(
    dataDir,
    `SELECT record->>'id' AS id, record->>'messageId' AS message_id, record->>'type' AS type, count(*) AS n FROM raw_events GROUP BY ALL`,
  );
}

/** The envelopes in the twin's landing files, once there are `count` of them (Firehose flushes each second here). */
async function landed(twin: Twin, count: number): Promise<{ producer?: string; record: { id: string } }[]> {
  const { s3 } = createClients(
    { region: 'us-east-1', s3Endpoint: twin.endpoints.s3 },
    { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  );
  const Bucket = twin.endpoints.buckets.landing;
  try {
    let lines: string[] = [];
    for (let i = 0; i < 100 && lines.length < count; i++) {
      if (i > 0) await new Promise((r) => setTimeout(r, 200));
      const keys = ((await s3.send(new ListObjectsV2Command({ Bucket }))).Contents ?? []).map((o) => o.Key!);
      const texts = await Promise.all(
        keys.map(async (Key) => landingText(await (await s3.send(new GetObjectCommand({ Bucket, Key }))).Body!.transformToByteArray())),
      );
      lines = texts.flatMap((t) => t.split('\n').filter((l) => l !== ''));
    }
    return lines.map((l) => JSON.parse(l));
  } finally {
    s3.destroy();
  }
}

const base = { snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } };

async function withTwin(
  stage: ReturnType<typeof parseStageConfig>,
  options: { kinesisFailureRate?: number; s3FailureRate?: number },
  run: (twin: Twin, dataDir: string) => Promise<void>,
): Promise<void> {
  const dataDir = tempDataDir();
  const twin = await startTwin({ port: 0, dataDir, ...QUIET, ...options }, stage);
  try {
    await run(twin, dataDir);
  } finally {
    await twin.stop();
    removeDir(dataDir);
  }
}

describe('the Segment and RudderStack SDKs against the twin', () => {
  it('lands every message each SDK reports sent in raw_events exactly once, its messageId as id, all six calls', async () => {
    await withTwin(parseStageConfig(base), {}, async (twin, dataDir) => {
      const api = twin.endpoints.api;
      const [segment, rudder] = await Promise.all([sendWithSegment(api, 'any-key', 2_000), sendWithRudder(api, 'any-key', 2_000, 'rs')]);
      expect([segment.sent.length, segment.failed, rudder.sent.length, rudder.failed]).toEqual([2_000, 0, 2_000, 0]);
      expect(twin.status().api.requests).toEqual({ 200: expect.any(Number) });
      await twin.stop();
      const found = await loaded(dataDir);
      const byId = new Map(found.map((r) => [String(r.id), r]));
      expect(found.filter((r) => Number(r.n) !== 1 || r.id !== r.message_id)).toEqual([]);
      expect([...segment.sent, ...rudder.sent].filter((id) => !byId.has(id))).toEqual([]);
      expect(found).toHaveLength(4_000);
      expect(new Set(found.map((r) => r.type))).toEqual(new Set(CALLS));
      // Each message is kept as the SDK sent it: its context names the library.
      const [text] = await rows(dataDir, `SELECT record::VARCHAR AS t FROM raw_events WHERE record->>'id' = '${segment.sent[0]}'`);
      expect(String(text!.t)).toMatch(/"context":\{"library":\{"name":"@segment\/analytics-node","version":"3\.1\.0"\}\}/);
    });
  }, 180_000);

  it('loses nothing the SDKs report sent with 5% of Kinesis entries and 5% of S3 writes failing: their own retries after a 503 included', async () => {
    // A write budget no longer than one backoff step: a request that meets a fault answers 503 when its retry's
    // jittered delay does not fit (some of them, however fast the machine), and the SDKs resend it.
    const stage = parseStageConfig({ ...base, ingest: { write: { budgetMs: 100, baseDelayMs: 100, maxDelayMs: 100 } } });
    await withTwin(stage, { kinesisFailureRate: 0.05, s3FailureRate: 0.05 }, async (twin, dataDir) => {
      const api = twin.endpoints.api;
      const [segment, rudder] = await Promise.all([
        // More retries than the default 3: with a 100 ms budget a batch of 15 meets a fault often, and the count
        // of messages the SDK gives up on would otherwise vary from run to run (what is reported sent is the test).
        sendWithSegment(api, 'any-key', 1_200, { maxRetries: 10 }),
        sendWithRudder(api, 'any-key', 1_200, 'rf', 25),
      ]);
      const answers = twin.status().api.requests;
      expect(answers[503]).toBeGreaterThan(0);
      expect(answers[500]).toBeUndefined();
      expect(segment.sent.length + rudder.sent.length).toBeGreaterThan(2_150);
      // The quarantine writes (faulty too) were made: at least one per message sent without a valid messageId.
      expect(rudder.quarantined).toBeGreaterThan(30);
      expect(twin.status().api.quarantinedRecords).toBeGreaterThanOrEqual(rudder.quarantined);
      await twin.stop();
      const found = await loaded(dataDir);
      const ids = new Set(found.map((r) => String(r.id)));
      expect([...segment.sent, ...rudder.sent].filter((id) => !ids.has(id))).toEqual([]);
      expect(found.filter((r) => r.id !== r.message_id)).toEqual([]);
      // A batch resent after a 503 may have been partly on the stream: duplicates share their id, and raw_events_latest keeps one.
      const [latest] = await rows(dataDir, `SELECT count(*) AS n, count(DISTINCT record->>'id') AS ids FROM raw_events_latest`);
      expect(Number(latest!.n)).toBe(Number(latest!.ids));
    });
  }, 240_000);

  it('in auth mode apiKey, takes the write key as a Snowgate API key: a wrong one is refused, and nothing of it lands', async () => {
    await withTwin(parseStageConfig({ ...base, auth: { mode: 'apiKey' } }), {}, async (twin, dataDir) => {
      const { key, record } = generateApiKey('acme-sdk');
      await fileApiKeyStore(dataDir).put(record);
      const wrong = `${key.slice(0, 16)}${'A'.repeat(43)}`;
      const api = twin.endpoints.api;
      const [good, bad, rudderGood, rudderBad] = await Promise.all([
        sendWithSegment(api, key, 300),
        sendWithSegment(api, wrong, 300),
        sendWithRudder(api, key, 300, 'ok'),
        sendWithRudder(api, wrong, 300, 'no'),
      ]);
      expect([good.sent.length, good.failed, rudderGood.sent.length]).toEqual([300, 0, 300]);
      expect([bad.sent.length, bad.failed, rudderBad.sent.length, rudderBad.failed]).toEqual([0, 300, 0, 300]);
      expect(twin.status().api.requests[403]).toBeGreaterThan(0);
      // No write key where an SDK puts it (Basic, the writeKey query, the body) is a 401; x-api-key means nothing here.
      const post = (headers: Record<string, string>) =>
        fetch(`${api}/v1/track`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: '{"messageId":"x-1"}',
        });
      expect((await post({ 'x-api-key': key })).status).toBe(401);
      expect((await post({ authorization: `Bearer ${key}` })).status).toBe(401);
      // The producer the key names is in each envelope of the landing files (raw_events keeps the record).
      const envelopes = await landed(twin, 600);
      expect(envelopes.filter((e) => e.producer !== 'acme-sdk')).toEqual([]);
      expect(JSON.stringify(envelopes)).not.toContain(key.slice(16));
      await twin.stop();
      const found = await loaded(dataDir);
      expect(found).toHaveLength(600);
      expect(found.filter((r) => String(r.id).startsWith('no-'))).toEqual([]);
    });
  }, 180_000);
});
