import { isAfterOffset, rowsOfStreamRecord, streamChannelName, type StreamRow, type UnreadableLine } from '@snowgate/core';

/**
 * What the consumer needs of Snowpipe Streaming, per channel of the stage's streaming pipe. In Lambda and
 * in the twin it is the REST client of @snowgate/snowflake-api (`streamingChannels` adapts it); the twin
 * points it at the emulated endpoint.
 */
export interface StreamChannels {
  /** Opens (or reopens) the channel: its continuation token and the last offset token Snowflake committed. */
  open(channel: string): Promise<{ continuationToken: string; committedOffset: string | undefined }>;
  /** Appends rows in one request carrying `offsetToken`; answers the next continuation token. */
  append(channel: string, rows: StreamRow[], tokens: { continuationToken: string; offsetToken: string }): Promise<{ continuationToken: string }>;
  /** The channel's last committed offset token (channel status). */
  committedOffset(channel: string): Promise<string | undefined>;
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
  /** Most rows' bytes (as NDJSON) in one append: below the API's request limit, so the client never splits one (see below). */
  maxAppendBytes?: number;
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
 * Snowpipe Streaming's high-performance REST API takes at most 16 MB a request (rows uncompressed, NDJSON):
 * https://docs.snowflake.com/en/user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-limitations
 * Appends are cut at 4 MB, so that each carries the offset token of its own last record: a request split by
 * the client would commit its first part under the whole batch's token, and a crash then would skip the rest.
 */
export const DEFAULT_MAX_APPEND_BYTES = 4 * 1024 * 1024;
/** The high-performance architecture commits within seconds (its docs: "5 to 10 seconds" to query). */
export const DEFAULT_COMMIT_TIMEOUT_MS = 30_000;
const DEFAULT_COMMIT_POLL_MS = 50;

/**
 * Delivers a Kinesis batch to Snowpipe Streaming exactly once per channel: one channel per shard, the
 * Kinesis sequence number as the offset token. What the channel has committed is skipped (a retry, a
 * consumer that crashed after an append and before its checkpoint), the rest appended in order, and the
 * batch counts as done only once the channel's committed offset reaches its last record, so that the
 * event source mapping's checkpoint never gets ahead of Snowflake. On a failure the records from the first
 * one not committed are given back (`failedFrom`, Lambda's ReportBatchItemFailures) to be retried in order.
 */
export function createStreamDelivery(options: StreamDeliveryOptions) {
  const { channels, channelPrefix, log } = options;
  const maxAppendBytes = options.maxAppendBytes ?? DEFAULT_MAX_APPEND_BYTES;
  const commitTimeoutMs = options.commitTimeoutMs ?? DEFAULT_COMMIT_TIMEOUT_MS;
  const commitPollMs = options.commitPollMs ?? DEFAULT_COMMIT_POLL_MS;
  const now = options.now ?? (() => new Date());
  /** Open channels of this container: their continuation token and the highest offset known committed. */
  const open = new Map<string, { continuationToken: string; committed: string | undefined }>();

  async function channelOf(name: string) {
    let state = open.get(name);
    if (!state) {
      const opened = await channels.open(name);
      state = { continuationToken: opened.continuationToken, committed: opened.committedOffset };
      open.set(name, state);
    }
    return state;
  }

  async function waitForCommit(name: string, offset: string): Promise<string | undefined> {
    const deadline = Date.now() + commitTimeoutMs;
    for (;;) {
      const committed = await channels.committedOffset(name);
      if (!isAfterOffset(offset, committed) || Date.now() >= deadline) return committed;
      await new Promise((resolve) => setTimeout(resolve, commitPollMs));
    }
  }

  /** One shard's records, in order. */
  async function deliverShard(shardId: string, records: StreamInputRecord[], result: StreamDeliveryResult): Promise<void> {
    const name = streamChannelName(channelPrefix, shardId);
    let state: Awaited<ReturnType<typeof channelOf>>;
    try {
      state = await channelOf(name);
    } catch (error) {
      log?.('stream consumer: cannot open the channel; the batch is retried', { channel: name, error: String(error) });
      result.failedFrom ??= records[0]!.sequenceNumber;
      return;
    }
    const todo = records.filter((r) => isAfterOffset(r.sequenceNumber, state.committed));
    result.skippedRecords += records.length - todo.length;
    let appended: string | undefined;
    for (let start = 0; start < todo.length; ) {
      const loadedAt = now().toISOString();
      const rows: StreamRow[] = [];
      let bytes = 0;
      let end = start;
      while (end < todo.length) {
        const record = todo[end]!;
        const size = Buffer.byteLength(record.data, 'utf8');
        if (end > start && bytes + size > maxAppendBytes) break;
        const of = rowsOfStreamRecord(record.data, shardId, record.sequenceNumber, loadedAt);
        rows.push(...of.rows);
        result.unreadable.push(...of.unreadable);
        bytes += size;
        end++;
      }
      const offsetToken = todo[end - 1]!.sequenceNumber;
      try {
        const answer = await channels.append(name, rows, { continuationToken: state.continuationToken, offsetToken });
        state.continuationToken = answer.continuationToken;
      } catch (error) {
        // The channel may be stale (reopened elsewhere, expired): open it again on the retry, which
        // reads the committed offset first, so nothing appended here is appended twice.
        open.delete(name);
        log?.('stream consumer: append failed; the records from here are retried', {
          channel: name,
          fromSequenceNumber: todo[start]!.sequenceNumber,
          error: String(error),
        });
        result.failedFrom ??= todo[start]!.sequenceNumber;
        return;
      }
      result.appendedRows += rows.length;
      appended = offsetToken;
      start = end;
    }
    if (appended === undefined) return;
    let committed: string | undefined;
    try {
      committed = await waitForCommit(name, appended);
    } catch (error) {
      log?.('stream consumer: cannot read the channel status', { channel: name, error: String(error) });
      committed = state.committed;
    }
    // Never backwards: a status read before an earlier commit was visible says nothing new.
    if (committed === undefined || !isAfterOffset(committed, state.committed)) committed = state.committed;
    state.committed = committed;
    const first = todo.find((r) => isAfterOffset(r.sequenceNumber, committed));
    if (first) {
      log?.('stream consumer: appended rows not committed in time; retried from the first', {
        channel: name,
        fromSequenceNumber: first.sequenceNumber,
      });
      result.failedFrom ??= first.sequenceNumber;
    }
  }

  return {
    /** Delivers a batch; records of one shard in the order given (Lambda's batches hold one shard's). */
    async deliver(records: StreamInputRecord[]): Promise<StreamDeliveryResult> {
      const result: StreamDeliveryResult = { failedFrom: undefined, appendedRows: 0, skippedRecords: 0, unreadable: [] };
      const byShard = new Map<string, StreamInputRecord[]>();
      for (const r of records) byShard.set(r.shardId, [...(byShard.get(r.shardId) ?? []), r]);
      for (const [shardId, shardRecords] of byShard) await deliverShard(shardId, shardRecords, result);
      for (const u of result.unreadable) log?.('stream consumer: a line is not an envelope; not appended (the landing files keep it)', { ...u });
      return result;
    },
  };
}
export type StreamDelivery = ReturnType<typeof createStreamDelivery>;
