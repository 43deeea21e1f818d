import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { envelopesOf, replayMarkerOf, replayMarkerText, type ReplayMarker } from '@snowgate/core';

/** Records may be stamped a little before the ledger's `since` by another clock: look back this much. */
const CLOCK_SKEW_MS = 60_000;
const decoder = new TextDecoder();
/** Between two GetRecords calls on one shard. */
const POLL_MS = 250;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Which of these replayed records the stream holds: every shard is read from
 * `since` (AT_TIMESTAMP) up to its tip, or to the first record written after the
 * scan began (a busy stream has no end), looking for each record's replay marker
 * in the head of every envelope of every Kinesis record (packed records hold several).
 * This is how a run that stopped between PutRecords and its ledger write
 * learns what Kinesis acknowledged, instead of sending it twice.
 */
export async function findOnStream(
  kinesis: KinesisClient,
  streamName: string,
  since: Date,
  markers: readonly ReplayMarker[],
): Promise<Set<number>> {
  const wanted = new Map(markers.map((m) => [replayMarkerText(m), m.index]));
  const started = Date.now();
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
      await kinesis.send(
        new GetShardIteratorCommand({
          StreamName: streamName,
          ShardId: shardId,
          ShardIteratorType: 'AT_TIMESTAMP',
          Timestamp: new Date(since.getTime() - CLOCK_SKEW_MS),
        }),
      )
    ).ShardIterator;
    for (let calls = 0; iterator && found.size < wanted.size; calls++) {
      // GetRecords allows 5 calls per second per shard, shared with Firehose: stay well under it.
      if (calls > 0) await sleep(POLL_MS);
      let out: GetRecordsCommandOutput;
      try {
        out = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      } catch (error) {
        if ((error as Error).name !== 'ProvisionedThroughputExceededException') throw error;
        await sleep(1_000);
        continue;
      }
      let past = false;
      for (const record of out.Records ?? []) {
        // Written after this scan began: nothing sent before it (what we look for) comes later in the shard.
        if (record.ApproximateArrivalTimestamp && record.ApproximateArrivalTimestamp.getTime() > started + CLOCK_SKEW_MS) past = true;
        const text = decoder.decode(record.Data);
        if (!text.includes('"replay":')) continue;
        for (const envelope of envelopesOf(text)) {
          const marker = replayMarkerOf(envelope);
          const index = marker === undefined ? undefined : wanted.get(marker);
          if (index !== undefined) found.add(index);
        }
      }
      // Past the scan's start (on a busy stream there is always more, and none of it is ours), or at the tip:
      // a page that is not full and not behind (kinesalite always says 0 behind, so a full page reads on).
      if (past || (out.MillisBehindLatest === 0 && (out.Records?.length ?? 0) < 10_000)) break;
      iterator = out.NextShardIterator;
    }
  }
  return found;
}
