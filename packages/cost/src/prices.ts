/** List prices (us-east-1 and Snowflake), each with its source and how far it was checked. A price update touches only this file. */
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
/** When the streaming delivery's prices were read. */
const READ_STREAMING = '2026-12-07';
/**
 * Snowpipe Streaming, high-performance architecture (delivery mode `streaming`): credits per
 * uncompressed GB appended, the same rate as file Snowpipe, no per-client or per-file fee.
 */
export const SNOWPIPE_STREAMING_CREDITS_PER_GB: ListPrice = {
  name: 'Snowpipe Streaming, high-performance (credit-per-GB)',
  amount: 0.0037,
  unit: 'credits per GB (uncompressed)',
  source: 'https://docs.snowflake.com/en/user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-overview',
  read: READ_STREAMING,
  check:
    "throughput-based billing confirmed from the Snowflake overview's text (its cost page was not readable here); 0.0037 credits per uncompressed GB is the Service Consumption Table's (https://www.snowflake.com/legal-files/CreditConsumptionTable.pdf) as quoted in our research notes, unverified here; how a VARIANT's bytes are counted (values, not keys) is unverified",
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
  SNOWPIPE_STREAMING_CREDITS_PER_GB,
  SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES,
  SNOWFLAKE_CREDIT_ENTERPRISE,
];
