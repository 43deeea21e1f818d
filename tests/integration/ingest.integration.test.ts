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
  it('puts single events, batches and NDJSON on the stream exactly as sent', async () => {
    const p = await pipeline();
    expect((await p.post(fixture('single.json'))).status).toBe(202);
    expect((await p.post(fixture('batch.json'))).status).toBe(202);
    expect((await p.post(fixture('events.ndjson'), 'application/x-ndjson')).status).toBe(202);

    const records = await p.stream();
    const sent = [
      JSON.parse(fixture('single.json')),
      ...JSON.parse(fixture('batch.json')),
      ...fixture('events.ndjson')
        .split(/\r?\n/)
        .filter((l) => l.trim())
        .map((l) => JSON.parse(l)),
    ];
    const got = records.map((r) => envelopeSchema.parse(JSON.parse(r.data)));
    expect(got.map((e) => e.record).sort(byId)).toEqual(sent.sort(byId));
    for (const r of records) {
      expect(r.partitionKey).toBe(String(JSON.parse(r.data).record.id));
      expect(r.data).not.toContain('\n');
    }
    expect(records.find((r) => r.partitionKey === 'evt-1')!.data).toContain('"amount":12345678901234567890');
    expect(await p.errors()).toEqual([]);
  });

  it('spreads records over shards by id', async () => {
    const p = await pipeline();
    const batch = Array.from({ length: 200 }, (_, i) => ({ id: `user-${i}`, n: i }));
    expect((await p.post(JSON.stringify(batch))).status).toBe(202);
    const records = await p.stream();
    expect(records).toHaveLength(200);
    expect(new Set(records.map((r) => r.shardId)).size).toBe(2);
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
    expect(onStream.map((r) => r.partitionKey).sort()).toEqual(['evt-20', 'evt-24']);
  });

  it('answers 503 when the error bucket is unavailable, and when the stream is', async () => {
    const noBucket = await pipeline({ errorBucket: 'no-such-bucket' }, { create: false });
    await createStream(emu.kinesis, noBucket.settings.streamName, 1);
    const bad = await noBucket.post('{');
    expect(bad.status).toBe(503);
    expect(bad.headers['retry-after']).toBe('1');

    const noStream = await pipeline({}, { create: false });
    await createBucket(emu.s3, noStream.settings.errorBucket);
    expect((await noStream.post('{"id":1}')).status).toBe(503);
  });

  it('property: any body gets 2xx with its records on the stream, or 4xx with its input in the bucket', async () => {
    const p = await pipeline({ limits: { maxRecordsPerRequest: 6, maxDepth: 4, maxBodyBytes: 2_048 } });
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
    expect(await p.stream()).toHaveLength(expectedOnStream);
    expect(await p.errors()).toHaveLength(expectedInBucket);
  });
});

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
