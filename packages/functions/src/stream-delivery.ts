import { isAfterOffset, rowsOfStreamRecord, streamChannelName, type UnreadableLine } from '@snowgate/core';

/**
 * What the consumer needs of Snowpipe Streaming, for the channels of the stage's streaming pipe: the
 * REST client of @snowgate/snowflake-api (`SnowpipeStreamingClient`), in Lambda against Snowflake and in
 * the twin against the emulated endpoint. It keeps each open channel's continuation token itself.
 */
export interface StreamChannels {
  /** Opens (or reopens) the channel; its committed offset token is where to resume. */
  openChannel(channel: string): Promise<{ committedOffsetToken: string | undefined }>;
  /**
   * Appends batches in order, each request carrying the offset token of the last batch it completes. `reopened`:
   * the channel's continuation token was refused and the channel reopened; what follows the committed offset is to be sent again.
   */
  append(
    channel: string,
    batches: { rows: string[]; offsetToken?: string | undefined }[],
  ): Promise<{ status: 'appended' } | { status: 'reopened'; committedOffsetToken: string | undefined }>;
  /** `statusCode`: `ACTIVE`, or what says the channel will commit nothing more until reopened. */
  channelStatus(channels: string[]): Promise<Record<string, { committedOffsetToken: string | undefined; statusCode: string | undefined }>>;
}

/** One record of a Kinesis event, as Lambda's event source mapping hands it over. */
export interface StreamInputRecord {
  shardId: string;
  sequenceNumber: string;
  /** The record's data, decoded (Lambda gives it base64). */
  data: string;
}

export interface StreamDeliveryOptions {
  channels: StreamChannels;
  /** Channel names are `<channelPrefix>-<shardId>`. */
  channelPrefix: string;
  /** How long to wait for Snowflake to commit what was appended before giving the records back to be retried. */
  commitTimeoutMs?: number;
  commitPollMs?: number;
  now?: () => Date;
  log?: (message: string, extra?: Record<string, unknown>) => void;
}

export interface StreamDeliveryResult {
  /** The sequence number of the first record not known to be committed (Lambda's batch item failure), if any. */
  failedFrom: string | undefined;
  appendedRows: number;
  /** Records already committed by an earlier attempt, skipped. */
  skippedRecords: number;
  unreadable: UnreadableLine[];
}

/**
 * The high-performance architecture makes rows queryable in "5 to 10 seconds" (its overview page); past this
 * the batch is given back and retried, which skips whatever was committed meanwhile.
 */
export const DEFAULT_COMMIT_TIMEOUT_MS = 30_000;
const DEFAULT_COMMIT_POLL_MS = 50;

/**
 * Delivers a Kinesis batch to Snowpipe Streaming exactly once per channel: one channel per shard, the
 * Kinesis sequence number as the offset token. What the channel has committed is skipped (a retry, a
 * consumer that crashed after an append and before its checkpoint), the rest appended in order, one batch
 * per Kinesis record carrying its sequence number (the client never lets a request's offset token name a
 * record only partly sent), and the batch counts as done only once the channel's committed offset reaches
 * its last record, so that the event source mapping's checkpoint never gets ahead of Snowflake. On a failure
 * the records from the first one not committed are given back (`failedFrom`, Lambda's ReportBatchItemFailures),
 * to be retried in order.
 */
export function createStreamDelivery(options: StreamDeliveryOptions) {
  const { channels, channelPrefix, log } = options;
  const commitTimeoutMs = options.commitTimeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS;
  const commitPollMs = options.commitPollMs ?? DEFAULT_COMMIT_POLL_MS;
  const now = options.now ?? (() => new Date());
  /** Channels this container opened, with the highest offset known committed; a failed call forgets one, so the next batch reopens it. */
  const open = new Map<string, { committed: string | undefined }>();

  async function waitForCommit(name: string, offset: string): Promise<string | undefined> {
    const deadline = Date.now() + commitTimeoutMs;
    for (;;) {
      const status = (await channels.channelStatus([name]))[name];
      const committed = status?.committedOffsetToken;
      if (!isAfterOffset(offset, committed) || Date.now() >= deadline) return committed;
      // A channel that failed a commit commits nothing more: no use waiting (the retry reopens it).
      if (status?.statusCode !== undefined && status.statusCode !== 'ACTIVE') {
        open.delete(name);
        return committed;
      }
      await new Promise((resolve) => setTimeout(resolve, commitPollMs));
    }
  }

  /** One shard's records, in order. */
  async function deliverShard(shardId: string, records: StreamInputRecord[], result: StreamDeliveryResult): Promise<void> {
    const name = streamChannelName(channelPrefix, shardId);
    let state = open.get(name);
    try {
      if (!state) {
        state = { committed: (await channels.openChannel(name)).committedOffsetToken };
        open.set(name, state);
      }
      const committedBefore = state.committed;
      const todo = records.filter((r) => isAfterOffset(r.sequenceNumber, committedBefore));
      result.skippedRecords += records.length - todo.length;
      if (todo.length === 0) return;
      const loadedAt = now().toISOString();
      const batches = todo.map((record) => {
        const of = rowsOfStreamRecord(record.data, shardId, record.sequenceNumber, loadedAt);
        result.unreadable.push(...of.unreadable);
        return { rows: of.rows, offsetToken: record.sequenceNumber };
      });
      const last = todo.at(-1)!.sequenceNumber;
      const outcome = await channels.append(name, batches);
      let committed: string | undefined;
      if (outcome.status === 'reopened') {
        // Another holder reopened the channel (or it was invalidated): what it committed is in, the rest is sent again.
        committed = outcome.committedOffsetToken;
        log?.('stream consumer: the channel was reopened; the records after its committed offset are retried', {
          channel: name,
          committed,
        });
      } else {
        result.appendedRows += batches.reduce((n, b) => n + b.rows.length, 0);
        committed = await waitForCommit(name, last);
      }
      // Never backwards: a status read before an earlier commit was visible says nothing new.
      if (committed === undefined || !isAfterOffset(committed, state.committed)) committed = state.committed;
      state.committed = committed;
      const first = todo.find((r) => isAfterOffset(r.sequenceNumber, committed));
      if (first) {
        if (outcome.status === 'appended') {
          log?.('stream consumer: appended rows not committed in time; retried from the first', {
            channel: name,
            from: first.sequenceNumber,
          });
        }
        result.failedFrom ??= first.sequenceNumber;
      }
    } catch (error) {
      // Whatever failed (the network, the service, an expired token), the channel is reopened by the retry, which
      // reads its committed offset first: nothing committed here is appended twice.
      open.delete(name);
      const from = records.find((r) => isAfterOffset(r.sequenceNumber, state?.committed)) ?? records[0]!;
      log?.('stream consumer: delivery failed; the records from the first not committed are retried', {
        channel: name,
        from: from.sequenceNumber,
        error: String(error),
      });
      result.failedFrom ??= from.sequenceNumber;
    }
  }

  return {
    /** Delivers a batch; records of one shard in the order given (Lambda's batches hold one shard's). */
    async deliver(records: StreamInputRecord[]): Promise<StreamDeliveryResult> {
      const result: StreamDeliveryResult = { failedFrom: undefined, appendedRows: 0, skippedRecords: 0, unreadable: [] };
      const byShard = new Map<string, StreamInputRecord[]>();
      for (const r of records) byShard.set(r.shardId, [...(byShard.get(r.shardId) ?? []), r]);
      for (const [shardId, shardRecords] of byShard) await deliverShard(shardId, shardRecords, result);
      for (const u of result.unreadable)
        log?.('stream consumer: a line is not an envelope; not appended (the landing files keep it)', { ...u });
      return result;
    },
  };
}
export type StreamDelivery = ReturnType<typeof createStreamDelivery>;
