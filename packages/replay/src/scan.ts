import { GetRecordsCommand, GetShardIteratorCommand, ListShardsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { replayMarkerText, type ReplayMarker } from '@snowgate/core';

/** Records may be stamped a little before the ledger's `since` by another clock: look back this much. */
const CLOCK_SKEW_MS = 60_000;
const decoder = new TextDecoder();

/**
 * Which of these replayed records the stream holds: every shard is read from
 * `since` (AT_TIMESTAMP) to its end, looking for each record's replay marker.
 * This is how a run that stopped between PutRecords and its ledger write
 * learns what Kinesis acknowledged, instead of sending it twice.
 */
export async function findOnStream(kinesis: KinesisClient, streamName: string, since: Date, markers: readonly ReplayMarker[]): Promise<Set<number>> {
  const wanted = new Map(markers.map((m) => [replayMarkerText(m), m.index]));
  const found = new Set<number>();
  const shards: string[] = [];
  let token: string | undefined;
  do {
    const page = await kinesis.send(new ListShardsCommand(token ? { NextToken: token } : { StreamName: streamName }));
    shards.push(...(page.Shards ?? []).map((s) => s.ShardId!));
    token = page.NextToken;
  } while (token);
  for (const shardId of shards) {
    let iterator = (
      await kinesis.send(new GetShardIteratorCommand({ StreamName: streamName, ShardId: shardId, ShardIteratorType: 'AT_TIMESTAMP', Timestamp: new Date(since.getTime() - CLOCK_SKEW_MS) }))
    ).ShardIterator;
    while (iterator && found.size < wanted.size) {
      const out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const record of out.Records ?? []) {
        const text = decoder.decode(record.Data);
        if (!text.includes('"replay":')) continue;
        for (const [marker, index] of wanted) if (text.includes(marker)) found.add(index);
      }
      // At the tip of an open shard: nothing more to read now.
      if ((out.Records?.length ?? 0) === 0 && out.MillisBehindLatest === 0) break;
      iterator = out.NextShardIterator;
    }
  }
  return found;
}
