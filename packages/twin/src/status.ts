import type { IngestMetrics } from '@snowgate/functions/metrics';
import type { FirehoseStats } from './firehose';
import type { Pipeline } from './pipeline';
import type { SnowpipeStats } from './snowpipe';
import type { StreamingSnapshot } from './streaming';

export interface TwinStatus {
  api: ApiCounts;
  /** The schema contracts in force. */
  contracts: { mode: string; schemas: string[] };
  /**
   * `replayedEvents`: events `pnpm replay` sent to the stream, which the API never saw; `api.accepted` + it = what gets loaded.
   * Events (envelopes, rows) and Kinesis records (several events each when packed) are counted apart.
   */
  firehose: FirehoseStats;
  snowpipe: SnowpipeStats;
  /** `files`: Snowpipe loads the landing files; `streaming`: the consumer appends rows, and the landing files are the archive. */
  delivery: 'files' | 'streaming';
  /** In `streaming`: the consumer's shards (checkpoints, records read and not yet committed) and the channels' committed offsets. */
  streaming?: StreamingSnapshot;
  /**
   * Records read from the stream but not yet in a landing file, and files not yet loaded; in `streaming`, also the
   * Kinesis records the consumer has read and not yet checkpointed, and the age of the oldest.
   */
  lag: {
    bufferedEvents: number;
    bufferedRecords: number;
    oldestBufferedMs: number;
    filesWaiting: number;
    streamingRecords?: number;
    oldestStreamingMs?: number;
  };
  /** Set when the delivery thread has failed. */
  deliveryFailed?: string;
}

/** What `POST /events` did since the twin started. */
export interface ApiCounts {
  /** Events accepted (acknowledged by Kinesis). */
  accepted: number;
  /** Kinesis records they were put in: one per event with packing `single`, fewer when `packed`. */
  streamRecords: number;
  quarantinedRecords: number;
  /** Contract mode `warn`: accepted records that `enforce` would have rejected. */
  schemaWarnings: number;
  /** Answers by status code, those of the authorizer (401, 403) included. */
  requests: Record<string, number>;
}

export interface ApiCounters {
  /** Live: the same object, updated in place. */
  counts: ApiCounts;
  /** Given to the ingest handler: the records it accepted, quarantined and warned about, per request. */
  metrics: IngestMetrics;
  /** Fed by the API Gateway emulation: one call per answer of `POST /events` and of the Segment routes (`POST /v1/…`). */
  answered(status: number): void;
}

/**
 * The API's counters, as CloudWatch has them for a deployed stage: record
 * counts from the handler's own metrics, answers by status from the gateway
 * (which also sees the authorizer's refusals, where the handler never runs).
 */
export function createApiCounters(): ApiCounters {
  const counts: ApiCounts = { accepted: 0, streamRecords: 0, quarantinedRecords: 0, schemaWarnings: 0, requests: {} };
  return {
    counts,
    metrics: {
      record(outcome) {
        counts.accepted += outcome.accepted;
        counts.streamRecords += outcome.streamRecords;
        counts.quarantinedRecords += outcome.rejected;
        counts.schemaWarnings += outcome.schemaWarnings;
      },
    },
    answered(status) {
      counts.requests[status] = (counts.requests[status] ?? 0) + 1;
    },
  };
}

/** The twin's status (`GET /status`, the dashboard, the status line): the API's counters and the delivery thread's latest ones. */
export function twinStatus(
  api: ApiCounts,
  contracts: TwinStatus['contracts'],
  pipeline: Pick<Pipeline, 'snapshot' | 'failure'>,
): TwinStatus {
  const { firehose: f, snowpipe: s, streaming } = pipeline.snapshot();
  const failed = pipeline.failure();
  const shards = streaming?.consumer.shards ?? [];
  return {
    api,
    contracts,
    firehose: f,
    snowpipe: s,
    delivery: streaming ? 'streaming' : 'files',
    ...(streaming ? { streaming } : {}),
    lag: {
      bufferedEvents: f.bufferedEvents,
      bufferedRecords: f.bufferedRecords,
      oldestBufferedMs: f.oldestBufferedMs,
      filesWaiting: s.queued,
      ...(streaming
        ? {
            streamingRecords: shards.reduce((n, shard) => n + shard.pendingRecords, 0),
            oldestStreamingMs: Math.max(0, ...shards.map((shard) => shard.oldestPendingMs)),
          }
        : {}),
    },
    ...(failed
      ? { deliveryFailed: `${failed.message}: nothing is delivered or loaded until the twin restarts (nothing acknowledged is lost)` }
      : {}),
  };
}
