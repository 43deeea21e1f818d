import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  type GetShardIteratorCommandInput,
  type KinesisClient,
  ListShardsCommand,
  type _Record,
} from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJson, writeJsonDurably } from './durable-file';

export interface EventSourceOptions {
  kinesis: KinesisClient;
  streamName: string;
  /** The function invoked with each batch, as Lambda invokes the consumer. */
  invoke: (event: KinesisStreamEvent) => Promise<KinesisStreamBatchResponse>;
  /** Records per invocation, at most (the mapping's BatchSize). */
  batchSize: number;
  /** How long records are gathered before an invocation that is not full (MaximumBatchingWindowInSeconds). */
  batchingWindowMs: number;
  /** Where the checkpoints are kept (`checkpoints.json`). */
  stateDir: string;
  pollIntervalMs?: number;
  /** Tests only: stops for good after a successful invocation, before its checkpoint is written (`stream-checkpoint`). */
  failpoint?: () => void;
  log?: (message: string, extra?: Record<string, unknown>) => void;
}

/** Per shard: where it is checkpointed and how far behind it is. */
export interface EventSourceShard {
  shardId: string;
  checkpoint: string | undefined;
  /** Records read and not yet checkpointed. */
  pendingRecords: number;
  /** Age of the oldest of them (Lambda's IteratorAge, roughly). */
  oldestPendingMs: number;
  retries: number;
}

export interface EventSourceStats {
  invocations: number;
  failedInvocations: number;
  records: number;
  shards: EventSourceShard[];
}

const REGION = 'us-east-1';
const ACCOUNT = '000000000000';
/** Lambda retries a failed batch with backoff; capped here so that a recovered endpoint is used within seconds. */
const MAX_BACKOFF_MS = 5_000;

/**
 * A local event source mapping for a Kinesis stream, as Lambda runs one: each shard read in order by
 * its own loop, records gathered up to the batch size or the batching window, the function invoked,
 * the checkpoint moved only after it succeeds (durably, in the data dir, so that a restart resumes
 * there), and a failed batch retried with backoff from the record its ReportBatchItemFailures names
 * (the records before it are checkpointed). A thrown error retries the whole batch. Starts at
 * TRIM_HORIZON (the mapping's StartingPosition), so that nothing on the stream is missed.
 */
export class LocalEventSource {
  private readonly checkpointFile: string;
  private checkpoints: Record<string, string> = {};
  private readonly shards = new Map<string, { pending: _Record[]; retries: number; loop: Promise<void> }>();
  private running = false;
  private discovering: Promise<void> | undefined;
  readonly stats = { invocations: 0, failedInvocations: 0, records: 0 };

  constructor(private readonly options: EventSourceOptions) {
    mkdirSync(options.stateDir, { recursive: true });
    this.checkpointFile = join(options.stateDir, 'checkpoints.json');
  }

  async start(): Promise<void> {
    this.checkpoints = readJson<Record<string, string>>(this.checkpointFile) ?? {};
    this.running = true;
    await this.discover();
    this.discovering = (async () => {
      while (this.running) {
        await sleep(10_000);
        if (this.running)
          await this.discover().catch((error) => this.options.log?.('event source: listing shards failed', { error: String(error) }));
      }
    })();
  }

  /** Invokes until every shard is read to its end and checkpointed, then stops. */
  async drain(): Promise<void> {
    this.running = false;
    await Promise.all([...this.shards.values()].map((s) => s.loop));
  }

  snapshot(): EventSourceStats {
    const now = Date.now();
    return {
      ...this.stats,
      shards: [...this.shards.entries()].map(([shardId, s]) => ({
        shardId,
        checkpoint: this.checkpoints[shardId],
        pendingRecords: s.pending.length,
        oldestPendingMs: s.pending.length ? now - (s.pending[0]!.ApproximateArrivalTimestamp?.getTime() ?? now) : 0,
        retries: s.retries,
      })),
    };
  }

  private async discover(): Promise<void> {
    let token: string | undefined;
    do {
      const page = await this.options.kinesis.send(
        new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.options.streamName }),
      );
      for (const shard of page.Shards ?? []) {
        const shardId = shard.ShardId!;
        if (this.shards.has(shardId)) continue;
        const state = { pending: [] as _Record[], retries: 0, loop: Promise.resolve() };
        this.shards.set(shardId, state);
        state.loop = this.readShard(shardId, state);
      }
      token = page.NextToken;
    } while (token);
  }

  private async iterator(shardId: string, position: { at?: string; after?: string }): Promise<string | undefined> {
    const input: GetShardIteratorCommandInput = {
      StreamName: this.options.streamName,
      ShardId: shardId,
      ShardIteratorType: 'TRIM_HORIZON',
    };
    if (position.at) Object.assign(input, { ShardIteratorType: 'AT_SEQUENCE_NUMBER', StartingSequenceNumber: position.at });
    else if (position.after) Object.assign(input, { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: position.after });
    return (await this.options.kinesis.send(new GetShardIteratorCommand(input))).ShardIterator;
  }

  /** One shard's loop: read, gather, invoke, checkpoint; in order, one batch at a time. */
  private async readShard(shardId: string, state: { pending: _Record[]; retries: number }): Promise<void> {
    const { batchSize, batchingWindowMs, log } = this.options;
    const pollMs = this.options.pollIntervalMs ?? 100;
    let iterator: string | undefined;
    let firstAt = 0;
    let drainedPolls = 0;
    for (;;) {
      try {
        iterator ??= await this.iterator(shardId, { after: this.checkpoints[shardId] });
        if (!iterator) return; // a closed shard read to its end
        let page: GetRecordsCommandOutput | undefined;
        if (state.pending.length < batchSize) {
          try {
            page = await this.options.kinesis.send(
              new GetRecordsCommand({ ShardIterator: iterator, Limit: batchSize - state.pending.length }),
            );
          } catch (error) {
            if ((error as Error).name !== 'ExpiredIteratorException') throw error;
            // Resume after what was read: the pending records are still to be invoked.
            iterator = await this.iterator(shardId, { after: state.pending.at(-1)?.SequenceNumber ?? this.checkpoints[shardId] });
            continue;
          }
          const records = page.Records ?? [];
          if (records.length > 0 && state.pending.length === 0) firstAt = Date.now();
          state.pending.push(...records);
          iterator = page.NextShardIterator;
        }
        const full = state.pending.length >= batchSize;
        const due = state.pending.length > 0 && (full || Date.now() - firstAt >= batchingWindowMs || !this.running || !iterator);
        if (due) {
          const batch = state.pending.slice(0, batchSize);
          const failedFrom = await this.invoke(shardId, batch);
          const done = failedFrom === undefined ? batch.length : batch.findIndex((r) => r.SequenceNumber === failedFrom);
          if (done > 0) {
            this.options.failpoint?.();
            this.checkpoints[shardId] = batch[done - 1]!.SequenceNumber!;
            writeJsonDurably(this.checkpointFile, this.checkpoints);
          }
          if (failedFrom === undefined) {
            state.pending.splice(0, batch.length);
            state.retries = 0;
            firstAt = Date.now();
          } else {
            // As Lambda: the batch is given again from the failed record, after a backoff (the pending
            // records after the batch are read again too, in order).
            state.pending.length = 0;
            iterator = await this.iterator(shardId, { at: failedFrom });
            state.retries++;
            await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(state.retries, 10)));
          }
          continue;
        }
        if (!this.running && state.pending.length === 0) {
          // Draining: two empty reads in a row mean the shard is caught up.
          if ((page?.Records?.length ?? 0) === 0 && ++drainedPolls >= 2) return;
          continue;
        }
        // Kinesis allows 5 GetRecords a second per shard, shared by its readers (this and Firehose).
        if ((page?.Records?.length ?? 0) === 0) await sleep(pollMs);
      } catch (error) {
        log?.('event source: reading the shard failed; retrying', { shardId, error: String(error) });
        state.pending.length = 0;
        iterator = undefined;
        state.retries++;
        await sleep(Math.min(MAX_BACKOFF_MS, 100 * 2 ** Math.min(state.retries, 10)));
      }
    }
  }

  /** Invokes the function with a batch; the sequence number to retry from, or undefined when all succeeded. */
  private async invoke(shardId: string, batch: _Record[]): Promise<string | undefined> {
    this.stats.invocations++;
    let response: KinesisStreamBatchResponse;
    try {
      response = await this.options.invoke(kinesisEvent(this.options.streamName, shardId, batch));
    } catch (error) {
      // The function failed as a whole: the whole batch is retried.
      this.stats.failedInvocations++;
      this.options.log?.('event source: the consumer failed; the batch is retried', { shardId, error: String(error) });
      return batch[0]!.SequenceNumber!;
    }
    const failed = response?.batchItemFailures?.[0]?.itemIdentifier;
    if (failed === undefined) {
      this.stats.records += batch.length;
      return undefined;
    }
    this.stats.failedInvocations++;
    // An identifier that is not in the batch fails the whole batch, as Lambda treats it.
    const at = batch.findIndex((r) => r.SequenceNumber === failed);
    this.stats.records += Math.max(0, at);
    return at < 0 ? batch[0]!.SequenceNumber! : failed;
  }
}

/** A batch as Lambda's event source mapping delivers it (KinesisStreamEvent). */
export function kinesisEvent(streamName: string, shardId: string, records: _Record[]): KinesisStreamEvent {
  const arn = `arn:aws:kinesis:${REGION}:${ACCOUNT}:stream/${streamName}`;
  return {
    Records: records.map((r) => ({
      eventID: `${shardId}:${r.SequenceNumber}`,
      eventName: 'aws:kinesis:record',
      eventSource: 'aws:kinesis',
      eventSourceARN: arn,
      eventVersion: '1.0',
      awsRegion: REGION,
      invokeIdentityArn: `arn:aws:iam::${ACCOUNT}:role/snowgate-local-stream-consumer`,
      kinesis: {
        kinesisSchemaVersion: '1.0',
        partitionKey: r.PartitionKey!,
        sequenceNumber: r.SequenceNumber!,
        data: Buffer.from(r.Data!).toString('base64'),
        approximateArrivalTimestamp: (r.ApproximateArrivalTimestamp?.getTime() ?? Date.now()) / 1_000,
      },
    })),
  };
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
