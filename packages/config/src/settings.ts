import { ConfigError, contractSettingsSchema, limitsSchema, packingSchema } from '@snowgate/core';
import * as z from '@snowgate/core/zod';
import { formatZodError } from './format';

const positiveInt = z.coerce.number().check(z.int(), z.positive());
/** A positive integer up to `max`, `fallback` when absent. */
const positiveIntUpTo = (max: number, fallback: number) => z._default(positiveInt.check(z.lte(max)), fallback);

/** How long and how hard the handler tries to make input durable before answering 503. */
export const writePolicySchema = z.object({
  /** Total time for Kinesis and the error bucket to acknowledge, retries included. Keep it below the Lambda timeout. */
  budgetMs: positiveIntUpTo(25_000, 3_000),
  /** First backoff step; each retry doubles it, with full jitter. */
  baseDelayMs: z._default(positiveInt, 25),
  /** Cap on a single backoff step. */
  maxDelayMs: z._default(positiveInt, 500),
  /** `Retry-After` sent with a 503. */
  retryAfterSeconds: positiveIntUpTo(3_600, 1),
});
export type WritePolicy = z.infer<typeof writePolicySchema>;

const prefix = z.string().check(z.regex(/^([A-Za-z0-9!_.*'()-]+\/)*$/, 'a key prefix of safe characters ending with "/" (or empty)'));

/**
 * The settings the ingest handler runs with, in Lambda and in the local twin alike.
 * Validated once, at start; an invalid value stops the process with every problem listed.
 */
export const ingestSettingsSchema = z.object({
  streamName: z.string().check(z.minLength(1), z.maxLength(128)),
  errorBucket: z.string().check(z.minLength(3), z.maxLength(63)),
  errorPrefix: z._default(prefix, 'errors/'),
  /** Region for the SDK clients; in Lambda, AWS_REGION is used when this is absent. */
  region: z.optional(z.string().check(z.minLength(1))),
  /** Endpoints of wire-compatible emulators (the local twin). Absent in AWS. */
  kinesisEndpoint: z.optional(z.url()),
  s3Endpoint: z.optional(z.url()),
  limits: z.prefault(limitsSchema, {}),
  write: z.prefault(writePolicySchema, {}),
  /** How accepted envelopes become Kinesis records: `packed` (several per record, the default) or `single` (one per record, keyed by `id`). */
  packing: z.prefault(packingSchema, {}),
  contracts: z.prefault(contractSettingsSchema, {}),
  /** Where the schema files are (`<dir>/<type>/<version>.json`); by default `schemas/` beside the code (the Lambda's task root). */
  schemasDir: z.optional(z.string().check(z.minLength(1))),
});
export type IngestSettings = z.infer<typeof ingestSettingsSchema>;
export type IngestSettingsInput = z.input<typeof ingestSettingsSchema>;

/** Environment variable → settings path. The only place that names them. */
export const INGEST_ENV = {
  SNOWGATE_STREAM_NAME: ['streamName'],
  SNOWGATE_ERROR_BUCKET: ['errorBucket'],
  SNOWGATE_ERROR_PREFIX: ['errorPrefix'],
  SNOWGATE_REGION: ['region'],
  SNOWGATE_KINESIS_ENDPOINT: ['kinesisEndpoint'],
  SNOWGATE_S3_ENDPOINT: ['s3Endpoint'],
  SNOWGATE_MAX_BODY_BYTES: ['limits', 'maxBodyBytes'],
  SNOWGATE_MAX_RECORD_BYTES: ['limits', 'maxRecordBytes'],
  SNOWGATE_MAX_RECORDS_PER_REQUEST: ['limits', 'maxRecordsPerRequest'],
  SNOWGATE_MAX_DEPTH: ['limits', 'maxDepth'],
  SNOWGATE_MAX_INFLATE_RATIO: ['limits', 'maxInflateRatio'],
  SNOWGATE_QUARANTINE_MAX_INPUT_BYTES: ['limits', 'quarantineMaxInputBytes'],
  SNOWGATE_WRITE_BUDGET_MS: ['write', 'budgetMs'],
  SNOWGATE_RETRY_BASE_DELAY_MS: ['write', 'baseDelayMs'],
  SNOWGATE_RETRY_MAX_DELAY_MS: ['write', 'maxDelayMs'],
  SNOWGATE_RETRY_AFTER_SECONDS: ['write', 'retryAfterSeconds'],
  SNOWGATE_PACKING: ['packing', 'mode'],
  SNOWGATE_PACKED_RECORD_MAX_BYTES: ['packing', 'maxRecordBytes'],
  SNOWGATE_CONTRACTS_MODE: ['contracts', 'mode'],
  SNOWGATE_CONTRACTS_TYPE_FIELD: ['contracts', 'typeField'],
  SNOWGATE_CONTRACTS_VERSION_FIELD: ['contracts', 'versionField'],
  SNOWGATE_CONTRACTS_UNKNOWN: ['contracts', 'unknown'],
  SNOWGATE_CONTRACTS_MISSING_VERSION: ['contracts', 'missingVersion'],
  SNOWGATE_SCHEMAS_DIR: ['schemasDir'],
} as const satisfies Record<string, readonly string[]>;

/** Validates settings, throwing one `ConfigError` that lists every problem. */
export function parseIngestSettings(input: unknown): IngestSettings {
  const result = ingestSettingsSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`invalid Snowgate settings:\n${formatZodError(result.error)}`);
  }
  return result.data;
}

/**
 * Reads the settings from `SNOWGATE_*` environment variables. An unknown
 * `SNOWGATE_*` variable is an error, so that a typo cannot silently fall back to a default.
 *
 * @example
 * ingestSettingsFromEnv({ SNOWGATE_STREAM_NAME: 'events', SNOWGATE_ERROR_BUCKET: 'errors' }).limits.maxDepth // → 64
 */
export function ingestSettingsFromEnv(env: Record<string, string | undefined>): IngestSettings {
  const unknown = Object.keys(env).filter((k) => k.startsWith('SNOWGATE_') && !(k in INGEST_ENV) && !isOtherSnowgateVar(k));
  if (unknown.length > 0) {
    throw new ConfigError(`unknown setting(s) ${unknown.join(', ')}; known: ${Object.keys(INGEST_ENV).join(', ')}`);
  }
  const input: Record<string, unknown> = {};
  for (const [name, path] of Object.entries(INGEST_ENV)) {
    const value = env[name];
    if (value === undefined || value === '') continue;
    let node = input;
    for (const key of path.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
  }
  return parseIngestSettings(input);
}

/** Variables of the wider app (the local twin, the stage) that the handler does not read. */
function isOtherSnowgateVar(name: string): boolean {
  return (
    name === 'SNOWGATE_DATA_DIR' ||
    name === 'SNOWGATE_STAGE' ||
    name.startsWith('SNOWGATE_TWIN_') ||
    // The SDK routes' function also checks write keys (writeKeySettingsFromEnv).
    name === 'SNOWGATE_API_KEYS_PREFIX' ||
    name === 'SNOWGATE_API_KEYS_CACHE_SECONDS'
  );
}
