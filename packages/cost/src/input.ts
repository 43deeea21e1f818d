import { formatZodError, stageConfigSchema } from '@snowgate/config';
import { ConfigError, DEFAULT_LIMITS } from '@snowgate/core';
import { z } from 'zod';
import { SNOWFLAKE_CREDIT_ENTERPRISE } from './prices';
import { KIB } from './units';
import { DEFAULT_CONSUMER_MS, DEFAULT_LOG_BYTES_PER_REQUEST, DEFAULT_NETWORK_MS, PACKING_MODES } from './assumptions';
import { kinesisRecordBytes, requestBodyBytes } from './load';

/** What the model needs to know, validated: the load and the stage's settings, defaulting to the stage defaults. */
// ── Input ───────────────────────────────────────────────────────────────────

export const stageDefaults = {
  lambda: stageConfigSchema.shape.lambda.parse(undefined),
  firehose: stageConfigSchema.shape.firehose.parse(undefined),
  buckets: stageConfigSchema.shape.buckets.parse(undefined),
  api: stageConfigSchema.shape.api.parse(undefined),
  streamRetentionHours: stageConfigSchema.shape.streamRetentionHours.parse(undefined),
  delivery: stageConfigSchema.shape.delivery.parse(undefined),
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
    /** `files` (the default): Firehose's files, loaded by Snowpipe. `streaming`: a consumer of the stream appends rows through Snowpipe Streaming; Firehose still writes the files. */
    delivery: z.enum(['files', 'streaming']).default(stageDefaults.delivery.mode),
    /** Streaming (ignored with files): the event source mapping's batching window and batch size (`delivery.streaming`). */
    consumerBatchWindowSeconds: z.number().int().min(0).max(300).default(stageDefaults.delivery.streaming.batchWindowSeconds),
    consumerBatchSize: z.number().int().min(1).max(10_000).default(stageDefaults.delivery.streaming.batchSize),
    consumerMemoryMb: z.number().int().min(128).max(10_240).default(stageDefaults.delivery.streaming.memoryMb),
    /** Streaming: billed time per consumer invocation (an append and the wait for its commit). */
    consumerMs: z.number().positive().default(DEFAULT_CONSUMER_MS),
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
