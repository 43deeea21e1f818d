/** How the services meter and limit what they bill: units, rounding, per-shard limits. */
// ── Billing units and service facts ─────────────────────────────────────────

export const KIB = 1_024;
export const MIB = 1_048_576;
export const GIB = 1_073_741_824;
export const SECONDS_PER_DAY = 86_400;
export const DAYS_PER_MONTH = 30;
export const SECONDS_PER_MONTH = DAYS_PER_MONTH * SECONDS_PER_DAY;
export const HOURS_PER_MONTH = DAYS_PER_MONTH * 24;

/** HTTP APIs meter requests in 512 KB increments: 513 KB counts as two. (AWS whitepaper "Best practices for API Gateway private APIs", cost optimization.) */
export const API_HTTP_METERING_BYTES = 512 * KIB;
export const API_HTTP_FIRST_TIER_REQUESTS = 300_000_000;
/** Kinesis on-demand data in: each record rounded up to the nearest 1 KB. */
export const KINESIS_ON_DEMAND_ROUNDING_BYTES = KIB;
/** Kinesis provisioned: a PUT payload unit is a 25 KB chunk of a record. */
export const KINESIS_PUT_PAYLOAD_UNIT_BYTES = 25 * KIB;
/** Firehose ingestion: each record rounded up to the nearest 5 KB, per record, not per call. */
export const FIREHOSE_ROUNDING_BYTES = 5 * KIB;
/** A shard takes 1 MiB/s or 1,000 records/s of writes. https://docs.aws.amazon.com/streams/latest/dev/service-sizes-and-limits.html */
export const KINESIS_SHARD_WRITE_BYTES_PER_SECOND = MIB;
export const KINESIS_SHARD_WRITE_RECORDS_PER_SECOND = 1_000;
/** A new on-demand stream starts with 4 MB/s and 4,000 records/s of write capacity, and scales from there. Same page. */
/** Retention included in the base price; extended retention runs to 7 days, long-term beyond. Kinesis pricing page. */
export const KINESIS_INCLUDED_RETENTION_HOURS = 24;
export const KINESIS_EXTENDED_RETENTION_MAX_HOURS = 7 * 24;
export const KINESIS_ON_DEMAND_INITIAL_WRITE = { bytesPerSecond: 4 * MIB, recordsPerSecond: 4_000 } as const;
/** At 1,769 MB a function has the equivalent of one vCPU; CPU share is proportional to memory. https://docs.aws.amazon.com/lambda/latest/dg/configuration-memory.html */
export const LAMBDA_MB_PER_VCPU = 1_769;
/** Lambda's default concurrency quota per account and region. https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html */
export const LAMBDA_DEFAULT_CONCURRENCY = 1_000;
/**
 * What the `Alarms` stack creates (stacks/Alarms.ts), as billed: 10 alarms, eight
 * on one metric each (one of them on the files Snowpipe could not load) and two on
 * a metric math expression over two (the share of rejected records; stream input
 * that Firehose does not read), so 12 alarm metrics; and one dashboard. A test
 * synthesizes the stacks and fails when these differ from the template.
 */
export const STAGE_ALARMS = { alarms: 10, alarmMetrics: 12, dashboards: 1 } as const;
/**
 * What stacks/Alarms.ts adds in delivery mode `streaming`: the stream consumer's errors and its iterator age,
 * one metric each, and a graph on the same dashboard. The stacks test compares both modes with the template.
 */
export const STREAMING_ALARMS = { alarms: 2, alarmMetrics: 2, dashboards: 0 } as const;
/** The alarms, alarm metrics and dashboards of a stage in a delivery mode. */
export function stageAlarms(delivery: 'files' | 'streaming'): { alarms: number; alarmMetrics: number; dashboards: number } {
  if (delivery === 'files') return { ...STAGE_ALARMS };
  return {
    alarms: STAGE_ALARMS.alarms + STREAMING_ALARMS.alarms,
    alarmMetrics: STAGE_ALARMS.alarmMetrics + STREAMING_ALARMS.alarmMetrics,
    dashboards: STAGE_ALARMS.dashboards + STREAMING_ALARMS.dashboards,
  };
}
/**
 * A Kinesis event source mapping reads each shard once a second (shared throughput), so a batching window
 * under a second still waits for the next poll. https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
 */
export const LAMBDA_KINESIS_POLL_SECONDS = 1;
/** The shards a new on-demand stream starts with: its initial 4 MB/s and 4,000 records/s of writes, 1 MB/s and 1,000 records/s each. */
export const KINESIS_ON_DEMAND_INITIAL_SHARDS = 4;
