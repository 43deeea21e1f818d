import { Logger } from '@aws-lambda-powertools/logger';
import { envelopeSchema, ingestResponseSchema, quarantineObjectSchema } from '@snowgate/core';
import { parseIngestSettings, type IngestSettingsInput } from '@snowgate/config';
import { createIngestHandler } from '@snowgate/functions/ingest-handler';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bodyArb, contentTypeArb } from '../support/arbitraries';
import { createBucket, createStream, readBucket, readStream, startEmulators, type Emulators } from '../support/emulators';
import { apiEvent, fixture, lambdaContext } from '../support/events';

let emu: Emulators;
let counter = 0;

beforeAll(async () => {
  emu = await startEmulators();
});
afterAll(async () => {
  await emu?.stop();
});

/** A fresh stream and error bucket, and the real handler writing to them through the real SDK clients. */
async function pipeline(overrides: Partial<IngestSettingsInput> = {}, { create = true } = {}) {
  const n = ++counter;
  const settings = parseIngestSettings({
    streamName: `events-${n}`,
    errorBucket: `errors-${n}`,
    region: 'us-east-1',
    kinesisEndpoint: emu.kinesisEndpoint,
    s3Endpoint: emu.s3Endpoint,
    write: { budgetMs: 1_500 },
    ...overrides,
  });
  if (create) {
    await createStream(emu.kinesis, settings.streamName, 2);
    await createBucket(emu.s3, settings.errorBucket);
  }
  const handler = createIngestHandler({ settings, kinesis: emu.kinesis, s3: emu.s3, logger: new Logger({ logLevel: 'SILENT' }) });
  return {
    settings,
    post: async (body: string | Uint8Array, contentType: string | null = 'application/json') => {
      const response = await handler(apiEvent({ body, contentType }), lambdaContext());
      return {
        status: response.statusCode ?? 0,
        body: ingestResponseSchema.parse(JSON.parse(response.body ?? '')),
        headers: response.headers ?? {},
      };
    },
    stream: () => readStream(emu.kinesis, settings.streamName),
    errors: () => readBucket(emu.s3, settings.errorBucket),
  };
}

describe('ingest against kinesalite and s3rver', () => {
  it("packed (the default): puts single events, batches and NDJSON on the stream exactly as sent, a request's events one per line in its records", async () => {
    const p = await pipeline();
    const answers = [
      await p.post(fixture('single.json')),
      await p.post(fixture('batch.json')),
      await p.post(fixture('events.ndjson'), 'application/x-ndjson'),
    ];
    expect(answers.map((a) => a.status)).toEqual([202, 202, 202]);

    const records = await p.stream();
    // One packed record per request (small events), keyed by the request id and the pack's index.
    expect(records.map((r) => r.partitionKey).sort()).toEqual(answers.map((a) => `${a.body.requestId}:0`).sort());
    const got = records.flatMap((r) => r.data.split('\n')).map((line) => envelopeSchema.parse(JSON.parse(line)));
    expect(got.map((e) => e.record).sort(byId)).toEqual(sentFixtures().sort(byId));
    for (const r of records) {
      expect(r.data.endsWith('\n')).toBe(false);
      // In order within the record: the request's events as sent.
      const requestId = r.partitionKey.slice(0, -2);
      expect(r.data.split('\n').every((line) => JSON.parse(line).request_id === requestId)).toBe(true);
    }
    const batch = records.find((r) => r.partitionKey === `${answers[1]!.body.requestId}:0`)!;
    expect(batch.data.split('\n').map((line) => JSON.parse(line).record)).toEqual(JSON.parse(fixture('batch.json')));
    expect(records.find((r) => r.partitionKey === `${answers[0]!.body.requestId}:0`)!.data).toContain('"amount":12345678901234567890');
    expect(await p.errors()).toEqual([]);
  });

  it('packing single: one record per event, keyed by its id, exactly as sent', async () => {
    const p = await pipeline({ packing: { mode: 'single' } });
    expect((await p.post(fixture('single.json'))).status).toBe(202);
    expect((await p.post(fixture('batch.json'))).status).toBe(202);
    expect((await p.post(fixture('events.ndjson'), 'application/x-ndjson')).status).toBe(202);

    const records = await p.stream();
    const got = records.map((r) => envelopeSchema.parse(JSON.parse(r.data)));
    expect(got.map((e) => e.record).sort(byId)).toEqual(sentFixtures().sort(byId));
    for (const r of records) {
      expect(r.partitionKey).toBe(String(JSON.parse(r.data).record.id));
      expect(r.data).not.toContain('\n');
    }
    expect(records.find((r) => r.partitionKey === 'evt-1')!.data).toContain('"amount":12345678901234567890');
    expect(await p.errors()).toEqual([]);
  });

  it("packing single spreads records over shards by id; packed spreads a large request's packs", async () => {
    const single = await pipeline({ packing: { mode: 'single' } });
    const batch = Array.from({ length: 200 }, (_, i) => ({ id: `user-${i}`, n: i }));
    expect((await single.post(JSON.stringify(batch))).status).toBe(202);
    const records = await single.stream();
    expect(records).toHaveLength(200);
    expect(new Set(records.map((r) => r.shardId)).size).toBe(2);

    const packed = await pipeline({ packing: { maxRecordBytes: 1_024 } });
    expect((await packed.post(JSON.stringify(batch))).status).toBe(202);
    const packs = await packed.stream();
    expect(packs.length).toBeGreaterThan(10);
    expect(packs.length).toBeLessThan(200);
    expect(new Set(packs.map((r) => r.shardId)).size).toBe(2);
    expect(
      packs
        .flatMap((r) => r.data.split('\n'))
        .map((l) => JSON.parse(l).record.n)
        .sort((a, b) => a - b),
    ).toEqual(batch.map((b) => b.n));
  });

  it('quarantines rejected input in the error bucket, readable back as sent', async () => {
    const p = await pipeline();
    const malformed = await p.post('{"id": 1, "oops"');
    expect(malformed.status).toBe(400);
    const mixed = await p.post(fixture('batch-mixed.json'));
    expect(mixed.status).toBe(207);
    const binary = new Uint8Array([0x5b, 0xff, 0x5d]);
    expect((await p.post(binary)).status).toBe(400);

    const objects = (await p.errors()).map((o) => ({ key: o.key, body: quarantineObjectSchema.parse(o.body) }));
    expect(objects).toHaveLength(3);
    for (const o of objects) expect(o.key).toMatch(/^errors\/dt=\d{4}-\d\d-\d\d\/hour=\d\d\//);
    const byRequest = new Map(objects.map((o) => [o.body.request_id, o.body]));
    expect(byRequest.get(malformed.body.requestId)!.body!.data).toBe('{"id": 1, "oops"');
    expect(byRequest.get(mixed.body.requestId)!.records.map((r) => r.input.data)).toEqual([
      '{"type": "no id"}',
      '{"id": null, "type": "null id"}',
      '"not an object"',
    ]);
    const bin = objects.find((o) => o.body.body?.encoding === 'base64')!;
    expect(Buffer.from(bin.body.body!.data, 'base64')).toEqual(Buffer.from(binary));

    const onStream = await p.stream();
    expect(onStream.flatMap((r) => r.data.split('\n')).map((l) => JSON.parse(l).record.id)).toEqual(['evt-20', 'evt-24']);
  });

  it('answers 500 at once, not 503, when the error bucket or the stream does not exist: no retry can succeed', async () => {
    const noBucket = await pipeline({ errorBucket: 'no-such-bucket' }, { create: false });
    await createStream(emu.kinesis, noBucket.settings.streamName, 1);
    const bad = await noBucket.post('{');
    expect(bad.status).toBe(500);
    expect(bad.headers['retry-after']).toBeUndefined();
    expect(bad.body).toMatchObject({ accepted: 0, errors: [{ index: null, reason: 'internal_error' }] });

    const noStream = await pipeline({}, { create: false });
    await createBucket(emu.s3, noStream.settings.errorBucket);
    const started = Date.now();
    const lost = await noStream.post('{"id":1}');
    expect(lost.status).toBe(500);
    // Not retried for the write budget (3 s).
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('property: any body gets 2xx with its records on the stream (in packs of 1 KiB), or 4xx with its input in the bucket', async () => {
    const p = await pipeline({ limits: { maxRecordsPerRequest: 6, maxDepth: 4, maxBodyBytes: 2_048 }, packing: { maxRecordBytes: 1_024 } });
    let expectedOnStream = 0;
    let expectedInBucket = 0;
    await fc.assert(
      fc.asyncProperty(bodyArb, contentTypeArb, async (body, contentType) => {
        const r = await p.post(body, contentType);
        expect([202, 207, 400, 413, 415, 422]).toContain(r.status);
        expectedOnStream += r.body.accepted;
        if (r.status >= 400 || r.body.rejected > 0) expectedInBucket += 1;
      }),
      { numRuns: 60 },
    );
    const records = await p.stream();
    expect(records.flatMap((r) => r.data.split('\n'))).toHaveLength(expectedOnStream);
    for (const r of records)
      if (r.data.includes('\n')) expect(Buffer.byteLength(r.data) + Buffer.byteLength(r.partitionKey)).toBeLessThanOrEqual(1_024);
    expect(await p.errors()).toHaveLength(expectedInBucket);
  });
});

/** The fixtures' records, as the first two tests send them. */
function sentFixtures() {
  return [
    JSON.parse(fixture('single.json')),
    ...JSON.parse(fixture('batch.json')),
    ...fixture('events.ndjson')
      .split(/\r?\n/)
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l)),
  ];
}

function byId(a: { id: unknown }, b: { id: unknown }) {
  return String(a.id).localeCompare(String(b.id));
}

describe('a Kinesis endpoint that never answers', () => {
  it('is abandoned at the write budget through the real SDK client, with a 503', async () => {
    const { createServer } = await import('node:http');
    const sockets = new Set<import('node:net').Socket>();
    const silent = createServer(() => undefined);
    silent.on('connection', (s) => sockets.add(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const port = (silent.address() as import('node:net').AddressInfo).port;
    try {
      const { createClients } = await import('@snowgate/functions/clients');
      const settings = parseIngestSettings({
        streamName: 's',
        errorBucket: 'unused',
        region: 'us-east-1',
        kinesisEndpoint: `http://127.0.0.1:${port}`,
        s3Endpoint: emu.s3Endpoint,
        write: { budgetMs: 500 },
      });
      const { kinesis, s3 } = createClients(settings);
      const handler = createIngestHandler({ settings, kinesis, s3, logger: new Logger({ logLevel: 'SILENT' }) });
      const started = Date.now();
      const response = await handler(apiEvent({ body: '{"id":1}' }), lambdaContext());
      expect(response.statusCode).toBe(503);
      expect(Date.now() - started).toBeLessThan(3_000);
      // The abort signal reached the socket: the request was cancelled, not left hanging.
      await new Promise((r) => setTimeout(r, 50));
      expect([...sockets].every((s) => s.destroyed)).toBe(true);
      kinesis.destroy();
      s3.destroy();
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });
});
