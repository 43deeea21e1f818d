import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { injectKinesisFaults, injectS3Faults } from '@snowgate/twin';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBucket, createStream, readStream, startEmulators, type Emulators } from '../support/emulators';

let emu: Emulators;
beforeAll(async () => {
  emu = await startEmulators();
});
afterAll(async () => emu?.stop());

/** A deterministic "random": the given values in turn. */
const sequence = (values: number[]) => {
  let i = 0;
  return () => values[i++ % values.length]!;
};

describe('fault injection', () => {
  it('answers the chosen PutRecords entries as throttled, and really does not store them', async () => {
    await createStream(emu.kinesis, 'faults', 1);
    injectKinesisFaults(emu.kinesis, 0.5, sequence([0.9, 0.1, 0.9, 0.1]));
    const out = await emu.kinesis.send(
      new PutRecordsCommand({ StreamName: 'faults', Records: ['a', 'b', 'c', 'd'].map((k) => ({ PartitionKey: k, Data: Buffer.from(k) })) }),
    );
    expect(out.FailedRecordCount).toBe(2);
    expect(out.Records!.map((r) => r.ErrorCode ?? 'ok')).toEqual(['ok', 'ProvisionedThroughputExceededException', 'ok', 'ProvisionedThroughputExceededException']);
    expect((await readStream(emu.kinesis, 'faults')).map((r) => r.data)).toEqual(['a', 'c']);
  });

  it('fails the chosen PutObject calls with a 503 before they reach the bucket', async () => {
    await createBucket(emu.s3, 'faults');
    injectS3Faults(emu.s3, 0.5, sequence([0.1, 0.9]));
    await expect(emu.s3.send(new PutObjectCommand({ Bucket: 'faults', Key: 'one', Body: '1' }))).rejects.toMatchObject({ name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    await emu.s3.send(new PutObjectCommand({ Bucket: 'faults', Key: 'two', Body: '2' }));
    const listed = await emu.s3.send(new ListObjectsV2Command({ Bucket: 'faults' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['two']);
  });
});
