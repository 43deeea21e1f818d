// What the local Firehose trusts after a restart: an object it was writing is delivered only if
// it is in S3 whole (its length and MD5 as recorded before the PUT), never because a key exists.
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { LocalFirehose } from '@snowgate/twin';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucket, createStream, startEmulators, type Emulators } from '../support/emulators';

describe('the local Firehose after a crash during a delivery', () => {
  let emulators: Emulators;
  beforeAll(async () => {
    emulators = await startEmulators();
  });
  afterAll(async () => {
    await emulators?.stop();
  });

  /** A stream with three envelopes on one shard, a bucket, and the body Firehose makes of them. */
  async function setUp(name: string) {
    await createStream(emulators.kinesis, name, 1);
    await createBucket(emulators.s3, name);
    const lines = [1, 2, 3].map((i) => `{"received_at":"2026-12-07T00:00:00.000Z","request_id":"r","record":{"id":"${name}-${i}"}}`);
    const put = await emulators.kinesis.send(
      new PutRecordsCommand({ StreamName: name, Records: lines.map((l) => ({ Data: Buffer.from(l), PartitionKey: 'k' })) }),
    );
    const last = put.Records!.at(-1)!;
    const body = `${lines.join('\n')}\n`;
    const stateDir = mkdtempSync(join(tmpdir(), 'snowgate-firehose-'));
    const firehose = () =>
      new LocalFirehose({
        kinesis: emulators.kinesis,
        s3: emulators.s3,
        streamName: name,
        deliveryStreamName: name,
        bucket: name,
        prefix: 'events/',
        bufferSizeBytes: 1_048_576,
        bufferIntervalMs: 60_000,
        compression: 'UNCOMPRESSED',
        stateDir,
      });
    /** pending.json as a Firehose killed during its PUT of `key` leaves it. */
    const pending = (key: string) =>
      writeFileSync(
        join(stateDir, 'pending.json'),
        JSON.stringify({
          key,
          checkpoints: { [last.ShardId!]: last.SequenceNumber },
          bytes: Buffer.byteLength(body),
          md5: createHash('md5').update(body).digest('hex'),
        }),
      );
    const objects = async () => {
      const listed = await emulators.s3.send(new ListObjectsV2Command({ Bucket: name }));
      return Promise.all(
        (listed.Contents ?? []).map(async (o) => ({
          key: o.Key!,
          text: await (await emulators.s3.send(new GetObjectCommand({ Bucket: name, Key: o.Key! }))).Body!.transformToString(),
        })),
      );
    };
    return { body, firehose, pending, objects, cleanUp: () => rmSync(stateDir, { recursive: true, force: true }) };
  }

  it('deletes an object cut short and delivers its records again, once', async () => {
    const t = await setUp('cut-short');
    try {
      t.pending('events/held');
      await emulators.s3.send(new PutObjectCommand({ Bucket: 'cut-short', Key: 'events/held', Body: t.body.slice(0, 100) }));
      const firehose = t.firehose();
      await firehose.start();
      await firehose.drain();
      await expect(emulators.s3.send(new HeadObjectCommand({ Bucket: 'cut-short', Key: 'events/held' }))).rejects.toThrow();
      const objects = await t.objects();
      expect(objects.map((o) => o.text)).toEqual([t.body]);
    } finally {
      t.cleanUp();
    }
  });

  it('commits an object that is there whole, and does not deliver its records again', async () => {
    const t = await setUp('whole');
    try {
      t.pending('events/done');
      await emulators.s3.send(new PutObjectCommand({ Bucket: 'whole', Key: 'events/done', Body: t.body }));
      const firehose = t.firehose();
      await firehose.start();
      await firehose.drain();
      expect(await t.objects()).toEqual([{ key: 'events/done', text: t.body }]);
    } finally {
      t.cleanUp();
    }
  });

  it('reads the records again when the object was never written', async () => {
    const t = await setUp('never');
    try {
      t.pending('events/lost');
      const firehose = t.firehose();
      await firehose.start();
      await firehose.drain();
      const objects = await t.objects();
      expect(objects.map((o) => o.text)).toEqual([t.body]);
      expect(objects[0]!.key).not.toBe('events/lost');
    } finally {
      t.cleanUp();
    }
  });
});
