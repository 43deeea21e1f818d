import { parseStageConfig } from '@snowgate/config';
import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, PutRecordCommand } from '@aws-sdk/client-kinesis';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { afterAll, describe, expect, it } from 'vitest';
import { useTwin } from './use-twin';

/** Fails the test, rather than waiting forever, when the emulator does not answer. */
const within = <T>(ms: number, what: string, promise: Promise<T>) =>
  Promise.race([promise, new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`no answer to ${what} in ${ms} ms`)), ms))]);

describe("the twin's Kinesis answers GetShardIterator AT_TIMESTAMP as Kinesis does", () => {
  const running = useTwin(parseStageConfig({ snowflake: { externalId: 'local' } }), { shards: 1 });
  let kinesis: KinesisClient;
  const client = () => {
    kinesis ??= new KinesisClient({
      endpoint: running.twin.endpoints.kinesis,
      region: 'us-east-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      requestHandler: new NodeHttpHandler(),
    });
    return kinesis;
  };
  afterAll(() => kinesis?.destroy());
  const iterator = (at: Date) =>
    within(
      5_000,
      'GetShardIterator AT_TIMESTAMP',
      client().send(
        new GetShardIteratorCommand({
          StreamName: running.twin.endpoints.stream,
          ShardId: 'shardId-000000000000',
          ShardIteratorType: 'AT_TIMESTAMP',
          Timestamp: at,
        }),
      ),
    );
  const dataAt = async (at: Date) => {
    const { ShardIterator } = await iterator(at);
    const out = await client().send(new GetRecordsCommand({ ShardIterator }));
    return (out.Records ?? []).map((r) => new TextDecoder().decode(r.Data));
  };

  it('on a shard with no record since the timestamp: an iterator at the tip (kinesalite alone never answers)', async () => {
    const { ShardIterator } = await iterator(new Date(Date.now() - 60_000));
    expect(ShardIterator).toBeTruthy();
    // At the tip: what is put afterwards is read from it.
    await client().send(new PutRecordCommand({ StreamName: running.twin.endpoints.stream, PartitionKey: 'k', Data: Buffer.from('after') }));
    const out = await client().send(new GetRecordsCommand({ ShardIterator }));
    expect((out.Records ?? []).map((r) => new TextDecoder().decode(r.Data))).toEqual(['after']);
  });

  it('on a shard with records: the first at or after the timestamp, as before', async () => {
    const before = new Date(Date.now() - 60_000);
    await new Promise((r) => setTimeout(r, 1_100));
    const middle = new Date();
    await new Promise((r) => setTimeout(r, 1_100));
    await client().send(new PutRecordCommand({ StreamName: running.twin.endpoints.stream, PartitionKey: 'k', Data: Buffer.from('later') }));
    expect(await dataAt(before)).toEqual(['after', 'later']);
    expect(await dataAt(middle)).toEqual(['later']);
    // Past every record, not in the future: the tip again, no answer withheld.
    expect(await dataAt(new Date(Date.now() - 10))).toEqual([]);
  });
});
