import { GetRecordsCommand, GetShardIteratorCommand, KinesisClient, ListShardsCommand } from '@aws-sdk/client-kinesis';
import { findOnStream } from '@snowgate/replay';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it } from 'vitest';

const encoder = new TextEncoder();
const marker = (index: number) =>
  encoder.encode(
    `{"received_at":"x","request_id":"r","replay":{"run":"run-1","object":"errors/a.json","index":${index}},"record":{"id":${index}}}`,
  );

describe('finding an interrupted replay chunk on the stream', () => {
  it('ends on a stream that never stops: at the first page written after the scan began', async () => {
    const kinesis = new KinesisClient({ region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } });
    const mock = mockClient(kinesis);
    mock
      .on(ListShardsCommand)
      .resolves({ Shards: [{ ShardId: 'shardId-0', HashKeyRange: undefined as never, SequenceNumberRange: undefined as never }] });
    mock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-0' });
    let page = 0;
    // Always 1,000 behind, always a full page: a busy stream. Our record 1 is in the first page; record 2 was never sent.
    mock.on(GetRecordsCommand).callsFake(async () => {
      const at = new Date(Date.now() - 120_000 + page * 45_000);
      const records = Array.from({ length: 10_000 }, (_, i) => ({
        SequenceNumber: `${page}-${i}`,
        PartitionKey: 'p',
        Data: page === 0 && i === 5 ? marker(1) : encoder.encode('{"other":1}'),
        ApproximateArrivalTimestamp: at,
      }));
      page++;
      return { Records: records, NextShardIterator: `it-${page}`, MillisBehindLatest: 1_000 };
    });
    const found = await findOnStream(
      kinesis,
      'events',
      new Date(Date.now() - 60_000),
      [1, 2].map((index) => ({ run: 'run-1', object: 'errors/a.json', index })),
    );
    expect([...found]).toEqual([1]);
    // Pages 0..4: the fifth holds records from after the scan began (plus the clock-skew margin).
    expect(mock.commandCalls(GetRecordsCommand).length).toBeLessThanOrEqual(6);
    expect(mock.commandCalls(GetShardIteratorCommand)[0]!.args[0].input).toMatchObject({ ShardIteratorType: 'AT_TIMESTAMP' });
  });

  it('reads on through full pages at the tip (kinesalite always answers 0 behind), and stops at a partial one', async () => {
    const kinesis = new KinesisClient({ region: 'us-east-1', credentials: { accessKeyId: 't', secretAccessKey: 't' } });
    const mock = mockClient(kinesis);
    mock
      .on(ListShardsCommand)
      .resolves({ Shards: [{ ShardId: 'shardId-0', HashKeyRange: undefined as never, SequenceNumberRange: undefined as never }] });
    mock.on(GetShardIteratorCommand).resolves({ ShardIterator: 'it-0' });
    const old = new Date(Date.now() - 30_000);
    mock
      .on(GetRecordsCommand)
      .resolvesOnce({
        Records: Array.from({ length: 10_000 }, (_, i) => ({
          SequenceNumber: `a${i}`,
          PartitionKey: 'p',
          Data: encoder.encode('{}'),
          ApproximateArrivalTimestamp: old,
        })),
        NextShardIterator: 'it-1',
        MillisBehindLatest: 0,
      })
      .resolvesOnce({
        Records: [{ SequenceNumber: 'b', PartitionKey: 'p', Data: marker(3), ApproximateArrivalTimestamp: old }],
        NextShardIterator: 'it-2',
        MillisBehindLatest: 0,
      })
      .resolves({ Records: [], NextShardIterator: 'it-3', MillisBehindLatest: 0 });
    const found = await findOnStream(
      kinesis,
      'events',
      old,
      [3, 4].map((index) => ({ run: 'run-1', object: 'errors/a.json', index })),
    );
    expect([...found]).toEqual([3]);
    expect(mock.commandCalls(GetRecordsCommand)).toHaveLength(2);
  });
});
