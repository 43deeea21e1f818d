import { buildEnvelope } from '@snowgate/core';
import { KIB } from './units';

/** What the model assumes about Snowgate itself: sizes, CPU, logs, alarms, compression. Each is a named constant with where it comes from. */
// ── Assumptions (each one an input or a named constant) ─────────────────────

/**
 * Bytes an event gains in its envelope: `received_at`, and `request_id` with
 * API Gateway's 16-character request ids. Measured on `buildEnvelope` itself.
 */
export const ENVELOPE_OVERHEAD_BYTES = buildEnvelope('', { receivedAt: '2026-01-01T00:00:00.000Z', requestId: 'BkLwqjY0DoEEPqQ=' }).length;
/** The partition key is the record's id: assume a UUID. Counted in Kinesis's record size, not in Firehose's. */
export const ASSUMED_PARTITION_KEY_BYTES = 36;
/** A packed record's partition key: the request id and the pack index, about 40 bytes. */
export const PACKED_PARTITION_KEY_BYTES = 40;
/**
 * Default ceiling of a packed record, data plus partition key: 25,600 bytes,
 * exactly one provisioned PUT payload unit (25 KB) and five of Firehose's 5 KB
 * billing increments.
 */
export const DEFAULT_MAX_PACKED_RECORD_BYTES = 25 * KIB;
/** How the handler writes a request's accepted envelopes: packed into few records (default), or one record each. */
export const PACKING_MODES = ['packed', 'single'] as const;
export type Packing = (typeof PACKING_MODES)[number];
/**
 * The handler's CPU time on one full core, from docs/BENCHMARKS.md (p50 with
 * logs at INFO, in process): 0.288 ms for 1 record, 1.032 ms for 100, so
 * about 0.28 ms per request plus 0.0075 ms per event (events of ~120 bytes).
 */
export const HANDLER_CPU_MS_PER_REQUEST = 0.28;
export const HANDLER_CPU_MS_PER_EVENT = 0.0075;
/** Time waiting on the PutRecords round trip inside the region: an assumption, not a measurement (nothing here reaches AWS). */
export const DEFAULT_NETWORK_MS = 20;
/**
 * Log bytes per request: the handler's one JSON line (~600 B with Powertools'
 * context keys), Lambda's START/END/REPORT lines (~300 B), the API access log
 * (~300 B). An estimate.
 */
export const DEFAULT_LOG_BYTES_PER_REQUEST = 1_200;
/**
 * What a gzip landing file keeps of its NDJSON bytes: 17.7 %, measured by
 * `pnpm bench:compression` (docs/BENCHMARKS.md) on 1 MiB files of our
 * envelopes around product-analytics events of 1,000 B (Segment-style track
 * calls: ids, timestamps, page context, properties). It varies with the events:
 * 13.7 % at 200 B, 19.5 % at 5,000 B; log-like text 1.3-15 %; random payloads
 * (base64, encrypted fields) 55-74 %. Storage only: Snowpipe bills the
 * uncompressed bytes, and Firehose bills what it ingests.
 */
export const LANDING_GZIP_STORED_SHARE = 0.177;
/** A quarantine object's size: ~600 B of metadata plus, per rejected record, its input and ~200 B. An estimate. */
export const QUARANTINE_OBJECT_OVERHEAD_BYTES = 600;
export const QUARANTINE_BYTES_PER_REJECTED_RECORD = 200;
/**
 * What a streamed row adds to its envelope (delivery mode `streaming`): `source_file`
 * (`kinesis:<shardId>:<sequenceNumber>`, a 56-digit sequence number), `file_row_number` and `loaded_at`,
 * with their keys. An upper bound of what Snowpipe Streaming bills: it counts values, not keys.
 */
export const STREAMED_ROW_EXTRA_BYTES = JSON.stringify({
  source_file: `kinesis:shardId-000000000000:${'4'.repeat(56)}`,
  file_row_number: 100,
  loaded_at: '2026-01-01T00:00:00.000Z',
}).length;
/**
 * Billed time of one consumer invocation: an append (one HTTPS request, gzip NDJSON) and the wait until
 * Snowflake reports the channel's offset committed, which the consumer does before it returns. Snowflake
 * quotes 5 to 10 s from ingest to query; the commit comes before that. An assumption: nothing here reaches
 * Snowflake. `--consumer-ms` replaces it.
 */
export const DEFAULT_CONSUMER_MS = 2_000;
/** Log bytes per consumer invocation: Lambda's START/END/REPORT lines and one summary line. An estimate. */
export const CONSUMER_LOG_BYTES_PER_INVOCATION = 900;
