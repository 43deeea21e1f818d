import { formatZodError, stageConfigSchema } from '@snowgate/config';
import { buildEnvelope, ConfigError, DEFAULT_LIMITS } from '@snowgate/core';
import { z } from 'zod';

/**
 * A monthly cost model of one Snowgate stage: what a steady load of events
 * costs on AWS and in Snowpipe, service by service. Pure arithmetic over list
 * prices; `pnpm cost` prints it and docs/COST.md explains the method.
 *
 * A month is 30 days. A GB is 2^30 bytes and a KB 1,024 bytes, as AWS
 * defines them on the Kinesis pricing page.
 */

/** One list price, where it was read, and how far it could be checked when it was written down. */
export interface ListPrice {
  name: string;
  amount: number;
  unit: string;
  source: string;
  /** The date the price was read. */
  read: string;
  /** What confirmed the figure, or that nothing here could. */
  check: string;
}

const READ = '2026-11-22';
const UNVERIFIED = `list price as of ${READ}, unverified here`;
/** The CloudWatch alarm and dashboard prices were read later, when the model started pricing what the stacks create. */
const READ_CLOUDWATCH_MONITORING = '2026-12-04';
/** The Kinesis retention prices were read when the stage default went from 24 h to 72 h. */
const READ_KINESIS_RETENTION = '2026-12-07';

// ── AWS, us-east-1 ──────────────────────────────────────────────────────────

/** HTTP API requests, first 300 million a month. Requests are metered in 512 KB increments (see `API_HTTP_METERING_BYTES`). */
export const API_HTTP_REQUESTS_FIRST_300M: ListPrice = {
  name: 'API Gateway HTTP API requests (first 300M/month)',
  amount: 1.0,
  unit: 'USD per million requests',
  source: 'https://aws.amazon.com/api-gateway/pricing/',
  read: READ,
  check: 'rate corroborated by third-party summaries (awsforengineers.com, 2025-05); the AWS page text was not readable here',
};
/** HTTP API requests beyond 300 million a month. */
export const API_HTTP_REQUESTS_OVER_300M: ListPrice = {
  name: 'API Gateway HTTP API requests (over 300M/month)',
  amount: 0.9,
  unit: 'USD per million requests',
  source: 'https://aws.amazon.com/api-gateway/pricing/',
  read: READ,
  check: `${UNVERIFIED} (third-party pages disagree on the tiers above 300M)`,
};
/** Lambda requests, any architecture. */
export const LAMBDA_REQUESTS: ListPrice = {
  name: 'Lambda requests',
  amount: 0.2,
  unit: 'USD per million requests',
  source: 'https://aws.amazon.com/lambda/pricing/',
  read: READ,
  check: 'corroborated by third-party summaries (cloudchipr.com, 2024); the AWS page text was not readable here',
};
/** Lambda duration on arm64 (the stack deploys arm64), first 7.5 billion GB-seconds a month. */
export const LAMBDA_ARM_GB_SECOND: ListPrice = {
  name: 'Lambda duration, arm64 (first 7.5B GB-s/month)',
  amount: 0.0000133334,
  unit: 'USD per GB-second',
  source: 'https://aws.amazon.com/lambda/pricing/',
  read: READ,
  check: 'corroborated by third-party summaries (cloudchipr.com, 2024)',
};
/** Each on-demand stream, per hour, whether or not anything is written. */
export const KINESIS_ON_DEMAND_STREAM_HOUR: ListPrice = {
  name: 'Kinesis on-demand stream-hour',
  amount: 0.04,
  unit: 'USD per stream-hour',
  source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
  read: READ,
  check: UNVERIFIED,
};
/** On-demand data in, each record rounded up to the nearest 1 KB (the rounding is quoted from the AWS page). */
export const KINESIS_ON_DEMAND_DATA_IN_GB: ListPrice = {
  name: 'Kinesis on-demand data in',
  amount: 0.08,
  unit: 'USD per GB',
  source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
  read: READ,
  check: `1 KB rounding per record confirmed from the AWS page text; the rate is a ${UNVERIFIED}`,
};
/** On-demand data retrieved by shared-throughput consumers such as Firehose. */
export const KINESIS_ON_DEMAND_DATA_OUT_GB: ListPrice = {
  name: 'Kinesis on-demand data retrieval',
  amount: 0.04,
  unit: 'USD per GB',
  source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
  read: READ,
  check: `${UNVERIFIED}; counted without rounding`,
};
/** Provisioned mode: each shard, per hour. */
export const KINESIS_SHARD_HOUR: ListPrice = {
  name: 'Kinesis provisioned shard-hour',
  amount: 0.015,
  unit: 'USD per shard-hour',
  source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
  read: READ,
  check: 'corroborated by a third-party summary (kindatechnical.com); the AWS page text was not readable here',
};
/** Provisioned mode: PUT payload units of 25 KB (a 5 KB record is one unit, a 45 KB record two). */
export const KINESIS_PUT_PAYLOAD_UNITS: ListPrice = {
  name: 'Kinesis provisioned PUT payload units',
  amount: 0.014,
  unit: 'USD per million units',
  source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
  read: READ,
  check: `25 KB unit confirmed from the AWS page text; the rate is a ${UNVERIFIED}`,
};
/** Provisioned mode: retention beyond 24 h and up to 7 days, per shard-hour whatever the hours chosen in that range. */
export const KINESIS_EXTENDED_RETENTION_SHARD_HOUR: ListPrice = {
  name: 'Kinesis provisioned extended retention (25 h to 7 days)',
  amount: 0.02,
  unit: 'USD per shard-hour',
  source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
  read: READ_KINESIS_RETENTION,
  check: `billed per shard-hour, not per hour retained (a third-party reading of the Tokyo price, rihirostyle.com, confirmed with AWS support); the rate is a list price as of ${READ_KINESIS_RETENTION}, unverified here`,
};
/** On-demand mode: data held beyond 24 h and up to 7 days, per GB-month. */
export const KINESIS_ON_DEMAND_EXTENDED_RETENTION_GB_MONTH: ListPrice = {
  name: 'Kinesis on-demand extended retention (25 h to 7 days)',
  amount: 0.1,
  unit: 'USD per GB-month',
  source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
  read: READ_KINESIS_RETENTION,
  check: `that on-demand extended retention is billed by data held is from the AWS page text; the rate is a list price as of ${READ_KINESIS_RETENTION}, unverified here`,
};
/** Either mode: data held beyond 7 days (long-term retention), per GB-month. Reading it back is billed apart (not modelled). */
export const KINESIS_LONG_TERM_RETENTION_GB_MONTH: ListPrice = {
  name: 'Kinesis long-term retention (beyond 7 days)',
  amount: 0.023,
  unit: 'USD per GB-month',
  source: 'https://aws.amazon.com/kinesis/data-streams/pricing/',
  read: READ_KINESIS_RETENTION,
  check: `list price as of ${READ_KINESIS_RETENTION}, unverified here`,
};
/** Firehose ingestion from Direct PUT or a Kinesis stream, first 500 TB a month, each record rounded up to 5 KB. */
export const FIREHOSE_INGEST_GB: ListPrice = {
  name: 'Firehose ingestion, Kinesis stream as source (first 500 TB/month)',
  amount: 0.029,
  unit: 'USD per GB',
  source: 'https://aws.amazon.com/firehose/pricing/',
  read: READ,
  check: `5 KB rounding per record for "Direct PUT and KDS as a source" confirmed from the AWS page text; the rate is a ${UNVERIFIED}`,
};
/** S3 Standard PUT, COPY, POST, LIST requests. */
export const S3_PUT_REQUESTS: ListPrice = {
  name: 'S3 Standard PUT requests',
  amount: 0.005,
  unit: 'USD per 1,000 requests',
  source: 'https://aws.amazon.com/s3/pricing/',
  read: READ,
  check: 'corroborated by a third-party summary (c3x.dev)',
};
/** S3 Standard GET requests: Snowpipe reads each landing file once, through our role, so on our bill. */
export const S3_GET_REQUESTS: ListPrice = {
  name: 'S3 Standard GET requests',
  amount: 0.0004,
  unit: 'USD per 1,000 requests',
  source: 'https://aws.amazon.com/s3/pricing/',
  read: READ,
  check: 'corroborated by a third-party summary (c3x.dev)',
};
/** S3 Standard storage, first 50 TB a month. */
export const S3_STANDARD_GB_MONTH: ListPrice = {
  name: 'S3 Standard storage (first 50 TB)',
  amount: 0.023,
  unit: 'USD per GB-month',
  source: 'https://aws.amazon.com/s3/pricing/',
  read: READ,
  check: 'corroborated by a third-party table (gist.github.com/EverettBerry, 2022)',
};
/** CloudWatch Logs ingestion (standard class): the handler's log line, Lambda's START/END/REPORT lines, the API's access log. */
export const CLOUDWATCH_LOGS_INGEST_GB: ListPrice = {
  name: 'CloudWatch Logs ingestion',
  amount: 0.5,
  unit: 'USD per GB',
  source: 'https://aws.amazon.com/cloudwatch/pricing/',
  read: READ,
  check: 'corroborated by third-party summaries (c3x.dev, factualminds.com, 2026)',
};
/**
 * A standard-resolution CloudWatch alarm, per metric it reads, per month: an alarm
 * on one metric is one alarm metric; an alarm on a metric math expression is
 * billed for each metric the expression reads.
 */
export const CLOUDWATCH_ALARM_METRIC_MONTH: ListPrice = {
  name: 'CloudWatch standard alarm metric',
  amount: 0.1,
  unit: 'USD per alarm metric-month',
  source: 'https://aws.amazon.com/cloudwatch/pricing/',
  read: READ_CLOUDWATCH_MONITORING,
  check:
    'the unit is the AWS page\'s (its free tier counts "10 Alarm metrics"); $0.10 corroborated by a third-party summary (c3x.dev); that a metric math alarm counts each metric it reads is not in the page text read here',
};
/** A CloudWatch dashboard, per month (the free tier's 3 dashboards are not modelled). */
export const CLOUDWATCH_DASHBOARD_MONTH: ListPrice = {
  name: 'CloudWatch dashboard',
  amount: 3.0,
  unit: 'USD per dashboard-month',
  source: 'https://aws.amazon.com/cloudwatch/pricing/',
  read: READ_CLOUDWATCH_MONITORING,
  check:
    'corroborated by a third-party summary (factualminds.com, 2026); the AWS page text read here gives the free tier (3 custom dashboards of up to 50 metrics), not the rate',
};

// ── Snowflake ───────────────────────────────────────────────────────────────

/**
 * Snowpipe, current model: a fixed number of credits per GB loaded, for every
 * edition; text formats (our NDJSON) count at their uncompressed size. The
 * model is stated on Snowflake's billing page; the figure is in its Service
 * Consumption Table.
 */
export const SNOWPIPE_CREDITS_PER_GB: ListPrice = {
  name: 'Snowpipe (credit-per-GB model)',
  amount: 0.0037,
  unit: 'credits per GB (uncompressed, for JSON)',
  source: 'https://docs.snowflake.com/en/user-guide/data-load-snowpipe-billing',
  read: READ,
  check:
    'per-GB model and uncompressed-size rule confirmed from the Snowflake page text; 0.0037 from a third-party analysis (seemoredata.io) citing the Service Consumption Table (https://www.snowflake.com/legal-files/CreditConsumptionTable.pdf), not read here',
};
/** Snowpipe, legacy model: per-file overhead on top of per-second compute. Shown only to compare. */
export const SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES: ListPrice = {
  name: 'Snowpipe legacy file overhead (before the credit-per-GB model)',
  amount: 0.06,
  unit: 'credits per 1,000 files',
  source: 'https://docs.snowflake.net/manuals/user-guide/data-load-snowpipe-billing.html',
  read: READ,
  check: 'quoted from the older Snowflake page text; the legacy compute part is not modelled',
};
/** Default credit price: Enterprise edition, AWS us-east-1, on demand. Contracts differ: pass your own. */
export const SNOWFLAKE_CREDIT_ENTERPRISE: ListPrice = {
  name: 'Snowflake credit, Enterprise, AWS us-east-1, on demand',
  amount: 3.0,
  unit: 'USD per credit',
  source: 'https://www.snowflake.com/en/pricing-options/',
  read: READ,
  check: 'corroborated by a third-party guide (finout.io, 2025); the Snowflake page was not readable here',
};

/** Every price the model uses, for listing (`pnpm cost --prices`). */
export const PRICE_LIST: readonly ListPrice[] = [
  API_HTTP_REQUESTS_FIRST_300M,
  API_HTTP_REQUESTS_OVER_300M,
  LAMBDA_REQUESTS,
  LAMBDA_ARM_GB_SECOND,
  KINESIS_ON_DEMAND_STREAM_HOUR,
  KINESIS_ON_DEMAND_DATA_IN_GB,
  KINESIS_ON_DEMAND_DATA_OUT_GB,
  KINESIS_SHARD_HOUR,
  KINESIS_PUT_PAYLOAD_UNITS,
  KINESIS_EXTENDED_RETENTION_SHARD_HOUR,
  KINESIS_ON_DEMAND_EXTENDED_RETENTION_GB_MONTH,
  KINESIS_LONG_TERM_RETENTION_GB_MONTH,
  FIREHOSE_INGEST_GB,
  S3_PUT_REQUESTS,
  S3_GET_REQUESTS,
  S3_STANDARD_GB_MONTH,
  CLOUDWATCH_LOGS_INGEST_GB,
  CLOUDWATCH_ALARM_METRIC_MONTH,
  CLOUDWATCH_DASHBOARD_MONTH,
  SNOWPIPE_CREDITS_PER_GB,
  SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES,
  SNOWFLAKE_CREDIT_ENTERPRISE,
];

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
const API_HTTP_FIRST_TIER_REQUESTS = 300_000_000;
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
 * What the `Alarms` stack creates (stacks/Alarms.ts), as billed: 9 alarms, seven
 * on one metric each and two on a metric math expression over two (the share
 * of rejected records; stream input that Firehose does not read), so 11 alarm
 * metrics; and one dashboard. A test synthesizes the stacks and fails when
 * these differ from the template.
 */
export const STAGE_ALARMS = { alarms: 9, alarmMetrics: 11, dashboards: 1 } as const;

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

// ── Input ───────────────────────────────────────────────────────────────────

const stageDefaults = {
  lambda: stageConfigSchema.shape.lambda.parse(undefined),
  firehose: stageConfigSchema.shape.firehose.parse(undefined),
  buckets: stageConfigSchema.shape.buckets.parse(undefined),
  api: stageConfigSchema.shape.api.parse(undefined),
  streamRetentionHours: stageConfigSchema.shape.streamRetentionHours.parse(undefined),
};

/** What the model needs to know. Defaults are the stage defaults (`stage-config.ts`). */
export const costInputSchema = z
  .object({
    /** Average events per second, sustained over the month. */
    eventsPerSecond: z.number().positive().finite(),
    /** Average size of one event's JSON, as sent. */
    eventBytes: z.number().int().positive(),
    /** Events per request (1 = one object per request). */
    batch: z.number().int().min(1).max(DEFAULT_LIMITS.maxRecordsPerRequest),
    region: z.literal('us-east-1', { error: 'only us-east-1 list prices are shipped with this model' }).default('us-east-1'),
    stream: z.enum(['on-demand', 'provisioned']).default('on-demand'),
    /** `packed`: a request's accepted envelopes joined by newlines into records of at most `maxPackedRecordBytes`; `single`: one record per event. */
    packing: z.enum(PACKING_MODES).default('packed'),
    /** Packed mode: the largest record, data plus partition key. Default 25,600 bytes; at most the stage's record limit (Firehose's 1,000 KiB less the newline). */
    maxPackedRecordBytes: z.number().int().min(KIB).max(DEFAULT_LIMITS.maxRecordBytes).optional(),
    /** Provisioned mode: shards to pay for. Default: the fewest that take the write load. */
    shards: z.number().int().min(1).max(500).optional(),
    /** Hours the stream keeps records (the stage's `streamRetentionHours`): beyond 24 h it is billed. */
    retentionHours: z.number().int().min(24).max(8_760).default(stageDefaults.streamRetentionHours),
    bufferSeconds: z
      .number()
      .int()
      .min(1, { error: 'zero buffering is not modelled (Firehose then writes as fast as records arrive)' })
      .max(900)
      .default(stageDefaults.firehose.bufferIntervalSeconds),
    bufferMiB: z.number().int().min(1).max(128).default(stageDefaults.firehose.bufferSizeMiB),
    /** Share of events rejected (quarantined), independently of each other. */
    rejectRate: z.number().min(0).max(1).default(0),
    memoryMb: z.number().int().min(128).max(10_240).default(stageDefaults.lambda.memoryMb),
    /** Time per invocation spent waiting on Kinesis (and S3), added to the CPU estimate. */
    networkMs: z.number().min(0).default(DEFAULT_NETWORK_MS),
    /** Billed duration per invocation, replacing the estimate. */
    lambdaMs: z.number().positive().optional(),
    logBytesPerRequest: z.number().int().min(0).default(DEFAULT_LOG_BYTES_PER_REQUEST),
    creditUsd: z.number().positive().default(SNOWFLAKE_CREDIT_ENTERPRISE.amount),
    landingExpirationDays: z.number().int().positive().default(stageDefaults.buckets.landingExpirationDays),
    /** How Firehose stores landing files (`firehose.compression`): GZIP by default, priced at LANDING_GZIP_STORED_SHARE of the bytes. */
    landingCompression: z.enum(['GZIP', 'UNCOMPRESSED']).default(stageDefaults.firehose.compression),
    errorsExpirationDays: z.number().int().positive().default(stageDefaults.buckets.errorsExpirationDays),
  })
  .refine((c) => c.stream === 'provisioned' || c.shards === undefined, {
    message: 'shards apply to a provisioned stream only',
    path: ['shards'],
  })
  .refine((c) => c.packing === 'packed' || c.maxPackedRecordBytes === undefined, {
    message: 'maxPackedRecordBytes applies to packed records only',
    path: ['maxPackedRecordBytes'],
  })
  .refine((c) => requestBodyBytes(c.batch, c.eventBytes) <= DEFAULT_LIMITS.maxBodyBytes, {
    message: `the request body would exceed the ${DEFAULT_LIMITS.maxBodyBytes}-byte body limit: use a smaller batch`,
    path: ['batch'],
  })
  .refine((c) => kinesisRecordBytes(c.eventBytes) <= DEFAULT_LIMITS.maxRecordBytes, {
    message: `an event this large exceeds the ${DEFAULT_LIMITS.maxRecordBytes}-byte record limit once enveloped`,
    path: ['eventBytes'],
  });
export type CostInput = z.infer<typeof costInputSchema>;
export type CostInputRaw = z.input<typeof costInputSchema>;

/** Validates the model's input, listing every problem at once. */
export function parseCostInput(input: unknown): CostInput {
  const result = costInputSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`invalid cost input:\n${formatZodError(result.error, { root: '(input)' })}`);
  }
  return result.data;
}

// ── Building blocks ─────────────────────────────────────────────────────────

/**
 * Rounds a size up to a whole number of billing units.
 *
 * @example
 * roundUpTo(3_000, 5 * 1_024) // → 5_120 (a 3 KB record is billed as 5 KB by Firehose)
 */
export function roundUpTo(bytes: number, unitBytes: number): number {
  return Math.max(1, Math.ceil(bytes / unitBytes)) * unitBytes;
}

/**
 * Size of a request body carrying `batch` events: the object itself, or a JSON array of them.
 *
 * @example
 * requestBodyBytes(100, 500) // → 50_101 (100 × 500 bytes, 99 commas, 2 brackets)
 */
export function requestBodyBytes(batch: number, eventBytes: number): number {
  return batch === 1 ? eventBytes : batch * eventBytes + (batch - 1) + 2;
}

/**
 * How many requests API Gateway bills for one HTTP API request (512 KB increments).
 *
 * @example
 * apiRequestUnits(524_289) // → 2
 */
export function apiRequestUnits(bodyBytes: number): number {
  return Math.max(1, Math.ceil(bodyBytes / API_HTTP_METERING_BYTES));
}

/**
 * Bytes of one Kinesis record as Kinesis counts it: the envelope plus the partition key.
 *
 * @example
 * kinesisRecordBytes(500) // → 620
 */
export function kinesisRecordBytes(eventBytes: number): number {
  return eventBytes + ENVELOPE_OVERHEAD_BYTES + ASSUMED_PARTITION_KEY_BYTES;
}

/**
 * Bytes of one record as Firehose receives it from the stream: the envelope (the data blob only).
 *
 * @example
 * firehoseRecordBytes(500) // → 584
 */
export function firehoseRecordBytes(eventBytes: number): number {
  return eventBytes + ENVELOPE_OVERHEAD_BYTES;
}

/**
 * Shards a provisioned stream needs for a write load: 1 MiB/s or 1,000 records/s each, whichever binds.
 *
 * @example
 * provisionedShardsNeeded(2_500, 620) // → 3 (records bind: 2,500 / 1,000; bytes would need 2)
 */
export function provisionedShardsNeeded(recordsPerSecond: number, recordBytes: number): number {
  const byBytes = Math.ceil((recordsPerSecond * recordBytes) / KINESIS_SHARD_WRITE_BYTES_PER_SECOND);
  const byRecords = Math.ceil(recordsPerSecond / KINESIS_SHARD_WRITE_RECORDS_PER_SECOND);
  return Math.max(1, byBytes, byRecords);
}

/** One kind of Kinesis record a request writes: `count` records of `envelopes` envelopes each. */
export interface RecordGroup {
  count: number;
  envelopes: number;
  /** The data blob: the envelopes joined by "\n" (Firehose appends the closing newline). */
  dataBytes: number;
  partitionKeyBytes: number;
}

/**
 * Envelopes of `envelopeBytes` that fit one packed record: n envelopes and
 * n − 1 newlines plus the packed partition key, at most `maxRecordBytes`. At
 * least 1: an envelope larger than that goes alone in its own record.
 *
 * @example
 * envelopesPerPackedRecord(1_084, 25_600) // → 23 (23 × 1,084 + 22 + 40 = 24,994 B)
 */
export function envelopesPerPackedRecord(envelopeBytes: number, maxRecordBytes: number): number {
  return Math.max(1, Math.floor((maxRecordBytes - PACKED_PARTITION_KEY_BYTES + 1) / (envelopeBytes + 1)));
}

/**
 * The largest event (as sent) that still shares a packed record with another:
 * two envelopes, a newline and the packed partition key within `maxRecordBytes`.
 * Larger events go one per record, packed or not.
 *
 * @example
 * largestSharedEventBytes(25_600) // → 12_695
 */
export function largestSharedEventBytes(maxRecordBytes: number): number {
  return Math.floor((maxRecordBytes - PACKED_PARTITION_KEY_BYTES - 1) / 2) - ENVELOPE_OVERHEAD_BYTES;
}

/**
 * The Kinesis records one request writes for `accepted` envelopes of equal
 * size. Packed, the handler fills records in order, so all are full but the
 * last. A record of one envelope is the record single mode writes (partition
 * key = the event's id): a single-event request cannot be packed.
 *
 * @example
 * requestRecords(100, 1_084, 'packed', 25_600) // → 4 records of 23 envelopes, 1 of 8
 * requestRecords(100, 1_084, 'single', 25_600) // → 100 records of 1
 */
export function requestRecords(accepted: number, envelopeBytes: number, packing: Packing, maxRecordBytes: number): RecordGroup[] {
  const perRecord = packing === 'packed' ? envelopesPerPackedRecord(envelopeBytes, maxRecordBytes) : 1;
  const group = (count: number, envelopes: number): RecordGroup => ({
    count,
    envelopes,
    dataBytes: envelopes * envelopeBytes + (envelopes - 1),
    partitionKeyBytes: envelopes === 1 ? ASSUMED_PARTITION_KEY_BYTES : PACKED_PARTITION_KEY_BYTES,
  });
  const full = Math.floor(accepted / perRecord);
  const rest = accepted % perRecord;
  return [...(full > 0 ? [group(full, perRecord)] : []), ...(rest > 0 ? [group(1, rest)] : [])];
}

/** What one request's records add up to, in each service's billing unit. */
export interface RecordTotals {
  records: number;
  /** Data plus partition keys, as Kinesis counts a record's size. */
  kinesisBytes: number;
  /** On-demand data in: each record rounded up to 1 KB. */
  kinesisOnDemandBilledBytes: number;
  /** Provisioned: 25 KB PUT payload units, per record. */
  putPayloadUnits: number;
  /** The data blobs, as Firehose receives them. */
  firehoseBytes: number;
  /** Firehose ingestion: each record rounded up to 5 KB. */
  firehoseBilledBytes: number;
  /** Landed NDJSON: each record and the newline Firehose appends. */
  landingBytes: number;
}

const NO_RECORDS: RecordTotals = {
  records: 0,
  kinesisBytes: 0,
  kinesisOnDemandBilledBytes: 0,
  putPayloadUnits: 0,
  firehoseBytes: 0,
  firehoseBilledBytes: 0,
  landingBytes: 0,
};

/**
 * Sums what each service bills for a request's records.
 *
 * @example
 * recordTotals(requestRecords(100, 1_084, 'packed', 25_600)).firehoseBilledBytes // → 112_640 (4 × 25,600 + 10,240)
 */
export function recordTotals(groups: readonly RecordGroup[]): RecordTotals {
  const totals = { ...NO_RECORDS };
  for (const g of groups) {
    const kinesis = g.dataBytes + g.partitionKeyBytes;
    totals.records += g.count;
    totals.kinesisBytes += g.count * kinesis;
    totals.kinesisOnDemandBilledBytes += g.count * roundUpTo(kinesis, KINESIS_ON_DEMAND_ROUNDING_BYTES);
    totals.putPayloadUnits += g.count * Math.ceil(kinesis / KINESIS_PUT_PAYLOAD_UNIT_BYTES);
    totals.firehoseBytes += g.count * g.dataBytes;
    totals.firehoseBilledBytes += g.count * roundUpTo(g.dataBytes, FIREHOSE_ROUNDING_BYTES);
    totals.landingBytes += g.count * (g.dataBytes + 1);
  }
  return totals;
}

/**
 * The records an average request writes: each of its `batch` events is
 * rejected independently with probability `rejectRate`, so the accepted count
 * is binomial, and the totals are its expectation (exact, over every count).
 *
 * @example
 * expectedRequestRecords({ batch: 100, rejectRate: 0, envelopeBytes: 1_084, packing: 'packed', maxRecordBytes: 25_600 }).records // → 5
 */
export function expectedRequestRecords(load: {
  batch: number;
  rejectRate: number;
  envelopeBytes: number;
  packing: Packing;
  maxRecordBytes: number;
}): RecordTotals {
  const { batch, rejectRate, envelopeBytes, packing, maxRecordBytes } = load;
  const totalsOf = (accepted: number) => recordTotals(requestRecords(accepted, envelopeBytes, packing, maxRecordBytes));
  if (rejectRate === 0) return totalsOf(batch);
  if (rejectRate === 1) return { ...NO_RECORDS };
  // P(accepted = a) = C(batch, a) · (1 − r)^a · r^(batch − a), in logarithms.
  const logFactorial = [0];
  for (let k = 1; k <= batch; k++) logFactorial.push(logFactorial[k - 1]! + Math.log(k));
  const expected = { ...NO_RECORDS };
  for (let a = 1; a <= batch; a++) {
    const p = Math.exp(
      logFactorial[batch]! - logFactorial[a]! - logFactorial[batch - a]! + a * Math.log1p(-rejectRate) + (batch - a) * Math.log(rejectRate),
    );
    if (p === 0) continue;
    const t = totalsOf(a);
    for (const key of Object.keys(expected) as (keyof RecordTotals)[]) expected[key] += p * t[key];
  }
  return expected;
}

/**
 * Seconds between Firehose deliveries: the buffer is flushed when it holds
 * `bufferMiB` or when `bufferSeconds` have passed, whichever comes first.
 *
 * @example
 * firehoseFlushSeconds(585_000, 1, 5) // → 1.79… (1 MiB fills before 5 s)
 */
export function firehoseFlushSeconds(bytesPerSecond: number, bufferMiB: number, bufferSeconds: number): number {
  if (bytesPerSecond <= 0) return bufferSeconds;
  return Math.min(bufferSeconds, (bufferMiB * MIB) / bytesPerSecond);
}

/**
 * Landing files a delivery stream writes per day. A flush window with no
 * record writes no file: with records arriving at random (Poisson) at
 * `recordsPerSecond`, a window of T seconds has data with probability
 * 1 − e^(−rate·T). So a busy stream on the default 5 s buffer writes
 * 86,400 / 5 = 17,280 files a day, and more once 1 MiB fills first.
 *
 * @example
 * landingFilesPerDay({ recordsPerSecond: 10, lineBytes: 585, bufferMiB: 1, bufferSeconds: 5 }) // → 17,280 (to 5 figures)
 * landingFilesPerDay({ recordsPerSecond: 1_000, lineBytes: 585, bufferMiB: 1, bufferSeconds: 5 }) // → 48,202 (1 MiB every 1.79 s)
 */
export function landingFilesPerDay(load: {
  recordsPerSecond: number;
  lineBytes: number;
  bufferMiB: number;
  bufferSeconds: number;
}): number {
  const interval = firehoseFlushSeconds(load.recordsPerSecond * load.lineBytes, load.bufferMiB, load.bufferSeconds);
  const windowHasData = -Math.expm1(-load.recordsPerSecond * interval);
  return (SECONDS_PER_DAY / interval) * windowHasData;
}

/**
 * Billed milliseconds of one invocation: waiting on the network plus the
 * handler's CPU time, scaled to the function's share of a vCPU, rounded up to
 * Lambda's 1 ms granularity.
 *
 * @example
 * lambdaBilledMs({ batch: 1, memoryMb: 1_024, networkMs: 20 })   // → 21
 * lambdaBilledMs({ batch: 100, memoryMb: 1_024, networkMs: 20 }) // → 22
 */
export function lambdaBilledMs({ batch, memoryMb, networkMs }: { batch: number; memoryMb: number; networkMs: number }): number {
  const cpuShare = Math.min(1, memoryMb / LAMBDA_MB_PER_VCPU);
  const cpuMs = (HANDLER_CPU_MS_PER_REQUEST + HANDLER_CPU_MS_PER_EVENT * batch) / cpuShare;
  return Math.ceil(networkMs + cpuMs);
}

// ── The model ───────────────────────────────────────────────────────────────

export type CostService = 'API Gateway' | 'Lambda' | 'Kinesis' | 'Firehose' | 'S3' | 'Snowpipe' | 'CloudWatch';

/** One line of the bill: a quantity for the month at one list price. */
export interface CostLine {
  service: CostService;
  item: string;
  /** Per month, in `unit`. */
  quantity: number;
  unit: string;
  price: ListPrice;
  usd: number;
}

/** The intermediate figures the lines come from, for the table and for the tests. */
export interface CostDerived {
  eventsPerMonth: number;
  acceptedEventsPerSecond: number;
  requestsPerSecond: number;
  requestsPerMonth: number;
  requestBodyBytes: number;
  apiUnitsPerRequest: number;
  lambdaBilledMs: number;
  lambdaConcurrency: number;
  /** One event in its envelope: what Firehose sees of an unpacked record. */
  envelopeBytes: number;
  /** Packed: the most envelopes a record holds (1 when single). */
  envelopesPerRecord: number;
  maxPackedRecordBytes: number | undefined;
  /** Expected Kinesis records per request (with rejections, an average). */
  kinesisRecordsPerRequest: number;
  kinesisRecordsPerSecond: number;
  /** Per record, on average: data plus partition key. */
  kinesisRecordBytes: number;
  kinesisOnDemandBilledBytes: number;
  putPayloadUnitsPerRecord: number;
  shardsNeeded: number;
  shards: number | undefined;
  firehoseRecordBytes: number;
  firehoseBilledBytes: number;
  landingLineBytes: number;
  flushSeconds: number;
  landingFilesPerDay: number;
  landingFileBytes: number;
  landingGiBPerMonth: number;
  quarantinedRequestsPerMonth: number;
  /** What the legacy Snowpipe model would add for file overhead alone, in USD. For comparison, not in the total. */
  snowpipeLegacyFileOverheadUsd: number;
}

export interface CostEstimate {
  input: CostInput;
  derived: CostDerived;
  lines: CostLine[];
  byService: Record<CostService, number>;
  monthlyUsd: number;
  usdPerMillionEvents: number;
  /** Where the load meets a default limit of the stage or the account. */
  warnings: string[];
}

const line = (service: CostService, item: string, quantity: number, unit: string, price: ListPrice, usd: number): CostLine => ({
  service,
  item,
  quantity,
  unit,
  price,
  usd,
});

/**
 * The monthly (30-day) cost of a stage under a steady load, line by line.
 *
 * @example
 * const single = estimateMonthlyCost({ eventsPerSecond: 1_000, eventBytes: 500, batch: 1 });
 * const batched = estimateMonthlyCost({ eventsPerSecond: 1_000, eventBytes: 500, batch: 100 });
 * single.byService['API Gateway']  // → 2_362.80
 * batched.byService['API Gateway'] // → 25.92
 * // Firehose bills per record: packed, 100 events share 3 records; one event per request is one record either way.
 * batched.byService.Firehose < single.byService.Firehose // → true
 * estimateMonthlyCost({ eventsPerSecond: 1_000, eventBytes: 500, batch: 100, packing: 'single' }).byService.Firehose === single.byService.Firehose // → true
 */
export function estimateMonthlyCost(raw: CostInputRaw): CostEstimate {
  const input = parseCostInput(raw);
  const { eventsPerSecond, eventBytes, batch, rejectRate } = input;

  // Requests and what API Gateway and Lambda make of them.
  const eventsPerMonth = eventsPerSecond * SECONDS_PER_MONTH;
  const requestsPerSecond = eventsPerSecond / batch;
  const requestsPerMonth = requestsPerSecond * SECONDS_PER_MONTH;
  const bodyBytes = requestBodyBytes(batch, eventBytes);
  const apiUnitsPerRequest = apiRequestUnits(bodyBytes);
  const apiUnits = requestsPerMonth * apiUnitsPerRequest;
  const billedMs = input.lambdaMs ?? lambdaBilledMs({ batch, memoryMb: input.memoryMb, networkMs: input.networkMs });
  const gbSeconds = requestsPerMonth * (billedMs / 1_000) * (input.memoryMb / 1_024);

  // Records: only accepted events reach the stream, Firehose and the landing bucket; packed, a request's
  // accepted envelopes share few records.
  const acceptedEventsPerSecond = eventsPerSecond * (1 - rejectRate);
  const envelope = firehoseRecordBytes(eventBytes);
  const maxPackedRecordBytes = input.maxPackedRecordBytes ?? DEFAULT_MAX_PACKED_RECORD_BYTES;
  const perRequest = expectedRequestRecords({
    batch,
    rejectRate,
    envelopeBytes: envelope,
    packing: input.packing,
    maxRecordBytes: maxPackedRecordBytes,
  });
  const recordsPerSecond = requestsPerSecond * perRequest.records;
  const perRecord = (total: number) => (perRequest.records > 0 ? total / perRequest.records : 0);
  const recordBytes = perRecord(perRequest.kinesisBytes);
  const onDemandBilledBytes = perRecord(perRequest.kinesisOnDemandBilledBytes);
  const putPayloadUnitsPerRecord = perRecord(perRequest.putPayloadUnits);
  const shardsNeeded = provisionedShardsNeeded(recordsPerSecond, recordBytes);
  const shards = input.stream === 'provisioned' ? (input.shards ?? shardsNeeded) : undefined;
  const fhBytes = perRecord(perRequest.firehoseBytes);
  const fhBilledBytes = perRecord(perRequest.firehoseBilledBytes);
  const recordsLabel =
    input.packing === 'single'
      ? `${fmt(recordBytes)} B records`
      : `packed records (${fmtFew(perRequest.records)} per request) of ${fmt(recordBytes)} B avg.`;
  const fhRecordsLabel = input.packing === 'single' ? `${fmt(fhBytes)} B records` : `packed records of ${fmt(fhBytes)} B avg.`;

  // Landing files: one NDJSON line per event (packed records hold several; Firehose appends the last newline).
  const lineBytes = envelope + 1;
  const landingBytesPerSecond = requestsPerSecond * perRequest.landingBytes;
  const flushSeconds = firehoseFlushSeconds(landingBytesPerSecond, input.bufferMiB, input.bufferSeconds);
  const filesPerDay = landingFilesPerDay({
    recordsPerSecond,
    lineBytes: perRecord(perRequest.landingBytes),
    bufferMiB: input.bufferMiB,
    bufferSeconds: input.bufferSeconds,
  });
  const filesPerMonth = filesPerDay * DAYS_PER_MONTH;
  const landingBytesPerDay = landingBytesPerSecond * SECONDS_PER_DAY;
  const landingGiBPerMonth = (landingBytesPerDay * DAYS_PER_MONTH) / GIB;
  // Steady state: the bucket holds `landingExpirationDays` of files.
  const landingStoredGiB =
    ((landingBytesPerDay * input.landingExpirationDays) / GIB) * (input.landingCompression === 'GZIP' ? LANDING_GZIP_STORED_SHARE : 1);

  // Quarantine: one object per request with anything rejected.
  const quarantinedShare = rejectRate === 0 ? 0 : 1 - (1 - rejectRate) ** batch;
  const quarantinedRequestsPerMonth = requestsPerMonth * quarantinedShare;
  const quarantineBytesPerMonth =
    quarantinedRequestsPerMonth * QUARANTINE_OBJECT_OVERHEAD_BYTES +
    eventsPerMonth * rejectRate * (eventBytes + QUARANTINE_BYTES_PER_REJECTED_RECORD);
  // Upper bound: held for `errorsExpirationDays` at Standard price (the move to Infrequent Access is ignored).
  const quarantineStoredGiB = (quarantineBytesPerMonth / GIB) * (input.errorsExpirationDays / DAYS_PER_MONTH);

  const apiFirst = Math.min(apiUnits, API_HTTP_FIRST_TIER_REQUESTS);
  const apiOver = apiUnits - apiFirst;
  const lines: CostLine[] = [
    line(
      'API Gateway',
      `requests × ${apiUnitsPerRequest} (512 KB units), first 300M`,
      apiFirst,
      'requests',
      API_HTTP_REQUESTS_FIRST_300M,
      (apiFirst / 1e6) * API_HTTP_REQUESTS_FIRST_300M.amount,
    ),
  ];
  if (apiOver > 0) {
    lines.push(
      line(
        'API Gateway',
        'requests beyond 300M',
        apiOver,
        'requests',
        API_HTTP_REQUESTS_OVER_300M,
        (apiOver / 1e6) * API_HTTP_REQUESTS_OVER_300M.amount,
      ),
    );
  }
  lines.push(
    line('Lambda', 'invocations', requestsPerMonth, 'requests', LAMBDA_REQUESTS, (requestsPerMonth / 1e6) * LAMBDA_REQUESTS.amount),
    line(
      'Lambda',
      `duration, ${billedMs} ms × ${fmt(input.memoryMb)} MB`,
      gbSeconds,
      'GB-s',
      LAMBDA_ARM_GB_SECOND,
      gbSeconds * LAMBDA_ARM_GB_SECOND.amount,
    ),
  );
  if (input.stream === 'on-demand') {
    const inGiB = (requestsPerMonth * perRequest.kinesisOnDemandBilledBytes) / GIB;
    const outGiB = (requestsPerMonth * perRequest.kinesisBytes) / GIB;
    lines.push(
      line(
        'Kinesis',
        'on-demand stream-hours',
        HOURS_PER_MONTH,
        'stream-hours',
        KINESIS_ON_DEMAND_STREAM_HOUR,
        HOURS_PER_MONTH * KINESIS_ON_DEMAND_STREAM_HOUR.amount,
      ),
      line(
        'Kinesis',
        `data in, ${recordsLabel} billed as ${fmt(onDemandBilledBytes)} B`,
        inGiB,
        'GB',
        KINESIS_ON_DEMAND_DATA_IN_GB,
        inGiB * KINESIS_ON_DEMAND_DATA_IN_GB.amount,
      ),
      line(
        'Kinesis',
        'data retrieved by Firehose',
        outGiB,
        'GB',
        KINESIS_ON_DEMAND_DATA_OUT_GB,
        outGiB * KINESIS_ON_DEMAND_DATA_OUT_GB.amount,
      ),
    );
  } else {
    const shardHours = shards! * HOURS_PER_MONTH;
    const units = requestsPerMonth * perRequest.putPayloadUnits;
    lines.push(
      line(
        'Kinesis',
        `${shards} shard(s) × ${HOURS_PER_MONTH} h`,
        shardHours,
        'shard-hours',
        KINESIS_SHARD_HOUR,
        shardHours * KINESIS_SHARD_HOUR.amount,
      ),
      line(
        'Kinesis',
        `PUT payload units (${fmtFew(putPayloadUnitsPerRecord)} per record, ${fmtFew(perRequest.putPayloadUnits)} per request)`,
        units,
        'units',
        KINESIS_PUT_PAYLOAD_UNITS,
        (units / 1e6) * KINESIS_PUT_PAYLOAD_UNITS.amount,
      ),
    );
  }
  // Retention beyond the included 24 h: a steady load holds `rate × hours` of data; on-demand is billed on the
  // data-in size (each record rounded up to 1 KB), provisioned per shard-hour up to 7 days, both per GB beyond.
  const retainedGiB = (hours: number) =>
    (requestsPerSecond * (input.stream === 'on-demand' ? perRequest.kinesisOnDemandBilledBytes : perRequest.kinesisBytes) * hours * 3_600) /
    GIB;
  const extendedHours = Math.max(
    0,
    Math.min(input.retentionHours, KINESIS_EXTENDED_RETENTION_MAX_HOURS) - KINESIS_INCLUDED_RETENTION_HOURS,
  );
  const longTermHours = Math.max(0, input.retentionHours - KINESIS_EXTENDED_RETENTION_MAX_HOURS);
  if (extendedHours > 0 && input.stream === 'on-demand') {
    const gbMonths = retainedGiB(extendedHours);
    lines.push(
      line(
        'Kinesis',
        `retention ${input.retentionHours} h: data held ${extendedHours} h beyond the included 24 h`,
        gbMonths,
        'GB-month',
        KINESIS_ON_DEMAND_EXTENDED_RETENTION_GB_MONTH,
        gbMonths * KINESIS_ON_DEMAND_EXTENDED_RETENTION_GB_MONTH.amount,
      ),
    );
  } else if (extendedHours > 0) {
    const shardHours = shards! * HOURS_PER_MONTH;
    lines.push(
      line(
        'Kinesis',
        `retention ${input.retentionHours} h: extended retention, ${shards} shard(s) × ${HOURS_PER_MONTH} h`,
        shardHours,
        'shard-hours',
        KINESIS_EXTENDED_RETENTION_SHARD_HOUR,
        shardHours * KINESIS_EXTENDED_RETENTION_SHARD_HOUR.amount,
      ),
    );
  }
  if (longTermHours > 0) {
    const gbMonths = retainedGiB(longTermHours);
    lines.push(
      line(
        'Kinesis',
        `retention ${input.retentionHours} h: data held ${longTermHours} h beyond 7 days`,
        gbMonths,
        'GB-month',
        KINESIS_LONG_TERM_RETENTION_GB_MONTH,
        gbMonths * KINESIS_LONG_TERM_RETENTION_GB_MONTH.amount,
      ),
    );
  }
  const fhGiB = (requestsPerMonth * perRequest.firehoseBilledBytes) / GIB;
  lines.push(
    line(
      'Firehose',
      `ingestion, ${fhRecordsLabel} billed as ${fmt(fhBilledBytes)} B`,
      fhGiB,
      'GB',
      FIREHOSE_INGEST_GB,
      fhGiB * FIREHOSE_INGEST_GB.amount,
    ),
    line('S3', 'landing PUTs (one per file)', filesPerMonth, 'requests', S3_PUT_REQUESTS, (filesPerMonth / 1_000) * S3_PUT_REQUESTS.amount),
    line(
      'S3',
      'landing GETs (Snowpipe reads each file)',
      filesPerMonth,
      'requests',
      S3_GET_REQUESTS,
      (filesPerMonth / 1_000) * S3_GET_REQUESTS.amount,
    ),
    line(
      'S3',
      `landing storage, ${input.landingExpirationDays} days held${input.landingCompression === 'GZIP' ? `, gzip (${(LANDING_GZIP_STORED_SHARE * 100).toFixed(1)} % of the bytes)` : ', uncompressed'}`,
      landingStoredGiB,
      'GB-month',
      S3_STANDARD_GB_MONTH,
      landingStoredGiB * S3_STANDARD_GB_MONTH.amount,
    ),
  );
  if (quarantinedRequestsPerMonth > 0) {
    lines.push(
      line(
        'S3',
        'quarantine PUTs (one per request with rejections)',
        quarantinedRequestsPerMonth,
        'requests',
        S3_PUT_REQUESTS,
        (quarantinedRequestsPerMonth / 1_000) * S3_PUT_REQUESTS.amount,
      ),
      line(
        'S3',
        `quarantine storage, ≤ ${input.errorsExpirationDays} days at Standard`,
        quarantineStoredGiB,
        'GB-month',
        S3_STANDARD_GB_MONTH,
        quarantineStoredGiB * S3_STANDARD_GB_MONTH.amount,
      ),
    );
  }
  const snowpipeCredits = landingGiBPerMonth * SNOWPIPE_CREDITS_PER_GB.amount;
  lines.push(
    line(
      'Snowpipe',
      `${landingGiBPerMonth.toFixed(2)} GB loaded, ${snowpipeCredits.toFixed(2)} credits at $${input.creditUsd}`,
      landingGiBPerMonth,
      'GB',
      SNOWPIPE_CREDITS_PER_GB,
      snowpipeCredits * input.creditUsd,
    ),
  );
  const logGiB = (requestsPerMonth * input.logBytesPerRequest) / GIB;
  lines.push(
    line(
      'CloudWatch',
      `logs, ${fmt(input.logBytesPerRequest)} B per request`,
      logGiB,
      'GB',
      CLOUDWATCH_LOGS_INGEST_GB,
      logGiB * CLOUDWATCH_LOGS_INGEST_GB.amount,
    ),
    line(
      'CloudWatch',
      `${STAGE_ALARMS.alarms} alarms (${STAGE_ALARMS.alarmMetrics} alarm metrics)`,
      STAGE_ALARMS.alarmMetrics,
      'alarm metric-months',
      CLOUDWATCH_ALARM_METRIC_MONTH,
      STAGE_ALARMS.alarmMetrics * CLOUDWATCH_ALARM_METRIC_MONTH.amount,
    ),
    line(
      'CloudWatch',
      `${STAGE_ALARMS.dashboards} dashboard`,
      STAGE_ALARMS.dashboards,
      'dashboard-months',
      CLOUDWATCH_DASHBOARD_MONTH,
      STAGE_ALARMS.dashboards * CLOUDWATCH_DASHBOARD_MONTH.amount,
    ),
  );

  const byService = { 'API Gateway': 0, Lambda: 0, Kinesis: 0, Firehose: 0, S3: 0, Snowpipe: 0, CloudWatch: 0 } satisfies Record<
    CostService,
    number
  >;
  for (const l of lines) byService[l.service] += l.usd;
  const monthlyUsd = lines.reduce((sum, l) => sum + l.usd, 0);

  const lambdaConcurrency = requestsPerSecond * (billedMs / 1_000);
  const warnings: string[] = [];
  if (requestsPerSecond > stageDefaults.api.throttleRate) {
    warnings.push(
      `${fmt(requestsPerSecond)} requests/s is above the stage's default API throttle (${stageDefaults.api.throttleRate}/s): raise api.throttleRate, or batch`,
    );
  }
  if (lambdaConcurrency > LAMBDA_DEFAULT_CONCURRENCY) {
    warnings.push(
      `about ${fmt(lambdaConcurrency)} concurrent invocations: above Lambda's default quota of ${LAMBDA_DEFAULT_CONCURRENCY} per account and region`,
    );
  }
  const writeBytesPerSecond = requestsPerSecond * perRequest.kinesisBytes;
  if (
    input.stream === 'on-demand' &&
    (writeBytesPerSecond > KINESIS_ON_DEMAND_INITIAL_WRITE.bytesPerSecond ||
      recordsPerSecond > KINESIS_ON_DEMAND_INITIAL_WRITE.recordsPerSecond)
  ) {
    warnings.push(
      "above a new on-demand stream's initial write capacity (4 MB/s, 4,000 records/s): it scales up, but ramp traffic or expect throttling at first",
    );
  }
  if (shards !== undefined && shards < shardsNeeded) {
    warnings.push(`${shards} shard(s) cannot take this write load: it needs ${shardsNeeded}`);
  }

  return {
    input,
    derived: {
      eventsPerMonth,
      acceptedEventsPerSecond,
      requestsPerSecond,
      requestsPerMonth,
      requestBodyBytes: bodyBytes,
      apiUnitsPerRequest,
      lambdaBilledMs: billedMs,
      lambdaConcurrency,
      envelopeBytes: envelope,
      envelopesPerRecord: input.packing === 'packed' ? envelopesPerPackedRecord(envelope, maxPackedRecordBytes) : 1,
      maxPackedRecordBytes: input.packing === 'packed' ? maxPackedRecordBytes : undefined,
      kinesisRecordsPerRequest: perRequest.records,
      kinesisRecordsPerSecond: recordsPerSecond,
      kinesisRecordBytes: recordBytes,
      kinesisOnDemandBilledBytes: onDemandBilledBytes,
      putPayloadUnitsPerRecord,
      shardsNeeded,
      shards,
      firehoseRecordBytes: fhBytes,
      firehoseBilledBytes: fhBilledBytes,
      landingLineBytes: lineBytes,
      flushSeconds,
      landingFilesPerDay: filesPerDay,
      landingFileBytes: filesPerDay > 0 ? landingBytesPerDay / filesPerDay : 0,
      landingGiBPerMonth,
      quarantinedRequestsPerMonth,
      snowpipeLegacyFileOverheadUsd: (filesPerMonth / 1_000) * SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES.amount * input.creditUsd,
    },
    lines,
    byService,
    monthlyUsd,
    usdPerMillionEvents: (monthlyUsd / eventsPerMonth) * 1e6,
    warnings,
  };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
function fmtFew(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
}
