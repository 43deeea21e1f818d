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
      new PutRecordsCommand({
        StreamName: 'faults',
        Records: ['a', 'b', 'c', 'd'].map((k) => ({ PartitionKey: k, Data: Buffer.from(k) })),
      }),
    );
    expect(out.FailedRecordCount).toBe(2);
    expect(out.Records!.map((r) => r.ErrorCode ?? 'ok')).toEqual([
      'ok',
      'ProvisionedThroughputExceededException',
      'ok',
      'ProvisionedThroughputExceededException',
    ]);
    expect((await readStream(emu.kinesis, 'faults')).map((r) => r.data)).toEqual(['a', 'c']);
  });

  it('fails the chosen PutObject calls with a 503 before they reach the bucket', async () => {
    await createBucket(emu.s3, 'faults');
    injectS3Faults(emu.s3, 0.5, sequence([0.1, 0.9]));
    await expect(emu.s3.send(new PutObjectCommand({ Bucket: 'faults', Key: 'one', Body: '1' }))).rejects.toMatchObject({
      name: 'SlowDown',
      $metadata: { httpStatusCode: 503 },
    });
    await emu.s3.send(new PutObjectCommand({ Bucket: 'faults', Key: 'two', Body: '2' }));
    const listed = await emu.s3.send(new ListObjectsV2Command({ Bucket: 'faults' }));
    expect(listed.Contents?.map((o) => o.Key)).toEqual(['two']);
  });
});

describe('coalescing PutRecords (the twin only)', () => {
  it('merges concurrent calls into one and gives each caller exactly its own results, failures included', async () => {
    const { coalescePutRecords } = await import('@snowgate/twin');
    const { createClients } = await import('@snowgate/functions/clients');
    const settings = { region: 'us-east-1', kinesisEndpoint: emu.kinesisEndpoint };
    const { kinesis } = createClients(settings, { accessKeyId: 'a', secretAccessKey: 'b' });
    const { kinesis: raw } = createClients(settings, { accessKeyId: 'a', secretAccessKey: 'b' });
    await createStream(kinesis, 'coalesced', 2);
    coalescePutRecords(kinesis, raw);
    let calls = 0;
    raw.middlewareStack.add(
      (next) => async (args) => {
        calls++;
        return next(args);
      },
      { step: 'build', name: 'countCalls' },
    );
    // Every third entry of the merged call fails, so failures fall inside different callers' slices.
    injectKinesisFaults(raw, 0.5, sequence([0.9, 0.9, 0.1]));
    const put = (caller: string, n: number) =>
      kinesis.send(
        new PutRecordsCommand({
          StreamName: 'coalesced',
          Records: Array.from({ length: n }, (_, i) => ({ PartitionKey: `${caller}-${i}`, Data: Buffer.from(`${caller}-${i}`) })),
        }),
      );
    const [a, b, c] = await Promise.all([put('a', 2), put('b', 3), put('c', 1)]);
    expect(calls).toBe(1);
    expect([a, b, c].map((o) => o.Records!.length)).toEqual([2, 3, 1]);
    // Merged order a0 a1 b0 b1 b2 c0: positions 2 and 5 (b0, c0) failed.
    expect(a.FailedRecordCount).toBe(0);
    expect(b.Records!.map((r) => r.ErrorCode ?? 'ok')).toEqual(['ProvisionedThroughputExceededException', 'ok', 'ok']);
    expect(c.FailedRecordCount).toBe(1);
    expect((await readStream(kinesis, 'coalesced')).map((r) => r.data).sort()).toEqual(['a-0', 'a-1', 'b-1', 'b-2']);
    kinesis.destroy();
    raw.destroy();
  });
});

describe('pnpm query --dialect snowflake', () => {
  it('runs a Snowflake VARIANT query on the local warehouse', async () => {
    const { openWarehouse, query, snowflakeToDuckDb } = await import('@snowgate/twin');
    const { instance, connection } = await openWarehouse(':memory:');
    await connection.run(
      `INSERT INTO raw_events VALUES ('{"id":"a-1","user":{"plan":"pro"},"n":5}', now(), 'r', 'f', 1, now(), NULL, NULL)`,
    );
    const sql = snowflakeToDuckDb(
      `select record:id::string as id, record:user.plan::string as plan, record:n::number as n from raw_events`,
    );
    expect((await query(connection, sql)).rows).toEqual([{ id: 'a-1', plan: 'pro', n: '5' }]);
    expect(() => snowflakeToDuckDb('select from where')).toThrow(/transpiler/);
    // Fix-ups apply to SQL, never to the text inside string literals.
    expect(
      snowflakeToDuckDb(`select 'INTERVAL 5 DAY, CURRENT_TIMESTAMP()' as note, dateadd('day', -5, current_timestamp()) as since`),
    ).toMatch(/^SELECT 'INTERVAL 5 DAY, CURRENT_TIMESTAMP\(\)' AS note, CURRENT_TIMESTAMP \+ INTERVAL '-5 DAY' AS since$/);
    connection.closeSync();
    instance.closeSync();
  });
});

describe('the delivery thread', () => {
  it('fails loudly, not silently, when it cannot start (here: no warehouse can be opened)', async () => {
    const { startPipeline } = await import('../../packages/twin/src/pipeline');
    const logged: string[] = [];
    const config = {
      kinesisEndpoint: 'http://127.0.0.1:9',
      s3Endpoint: 'http://127.0.0.1:9',
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
      streamName: 's',
      deliveryStreamName: 'd',
      landingBucket: 'b',
      prefix: 'events/',
      bufferSizeBytes: 1_048_576,
      bufferIntervalMs: 1_000,
      compression: 'GZIP' as const,
      firehoseStateDir: '/proc/snowgate-no-such-dir/firehose',
      warehousePath: '/proc/snowgate-no-such-dir/warehouse.duckdb',
      s3FailureRate: 0,
    };
    await expect(startPipeline(config, (m) => logged.push(m))).rejects.toThrow(/snowgate-no-such-dir/);
    expect(logged).toContain('delivery thread failed; restart the twin to resume delivery');
  });
});
