import { ConfigError } from '@snowgate/core';
import * as z from '@snowgate/core/zod';
import { formatZodError } from './format';
import { ingestSettingsFromEnv, type IngestSettings } from './settings';

/**
 * The environment each Snowgate process runs with, read here and nowhere else:
 * each reader validates its variables once, at start, and throws a
 * `ConfigError` listing every problem; callers receive parsed values. Each
 * takes the environment as an argument (`process.env` by default), so that a
 * test passes its own instead of changing the global one.
 */

/** A process's environment variables, as `process.env` holds them. */
export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The ingest Lambda's environment: its settings (`SNOWGATE_*`, see `INGEST_ENV`)
 * and the stage's name, which names the metrics' dimension (the stack sets `SNOWGATE_STAGE`).
 *
 * @example
 * ingestFunctionEnv({ SNOWGATE_STREAM_NAME: 'events', SNOWGATE_ERROR_BUCKET: 'errors' }).stage // → 'unknown'
 */
export function ingestFunctionEnv(env: Env = process.env): { settings: IngestSettings; stage: string } {
  return { settings: ingestSettingsFromEnv(env), stage: env.SNOWGATE_STAGE ?? 'unknown' };
}

/** The API-key authorizer's environment (the stack sets it). */
export const authorizerEnvSchema = z.object({
  SNOWGATE_API_KEYS_PREFIX: z.string().check(z.regex(/^\/[\w./-]+\/$/)),
  SNOWGATE_API_KEY_HEADER: z.string().check(z.regex(/^[a-z0-9-]{1,64}$/)),
  /** How long a record (or its absence) is kept in memory. */
  SNOWGATE_API_KEYS_CACHE_SECONDS: z._default(z.coerce.number().check(z.int(), z.gte(0), z.lte(3_600)), 60),
});
export type AuthorizerSettings = z.infer<typeof authorizerEnvSchema>;

/** Reads and validates the authorizer's settings. */
export function authorizerSettingsFromEnv(env: Env = process.env): AuthorizerSettings {
  const result = authorizerEnvSchema.safeParse(env);
  if (!result.success) throw new ConfigError(`invalid authorizer settings: ${formatZodError(result.error, { inline: true })}`);
  return result.data;
}

/** The SDK routes' ingest function in auth mode `apiKey` (`sdk-ingest.ts`): where the key records are, and their cache. */
export const writeKeyEnvSchema = z.object({
  SNOWGATE_API_KEYS_PREFIX: authorizerEnvSchema.shape.SNOWGATE_API_KEYS_PREFIX,
  SNOWGATE_API_KEYS_CACHE_SECONDS: authorizerEnvSchema.shape.SNOWGATE_API_KEYS_CACHE_SECONDS,
});

/** Reads and validates the SDK ingest function's key settings (besides its ingest settings). */
export function writeKeySettingsFromEnv(env: Env = process.env): z.infer<typeof writeKeyEnvSchema> {
  const result = writeKeyEnvSchema.safeParse(env);
  if (!result.success) throw new ConfigError(`invalid write-key settings: ${formatZodError(result.error, { inline: true })}`);
  return result.data;
}

/** An unquoted Snowflake identifier (https://docs.snowflake.com/en/sql-reference/identifiers-syntax). */
const snowflakeName = z.string().check(z.regex(/^[A-Za-z_][A-Za-z0-9_$]{0,254}$/, 'an unquoted Snowflake identifier'));

/**
 * The stream consumer's environment (delivery mode `streaming`): the Snowflake account it appends to, the secret
 * holding its key, the pipe, and its channels' prefix. The stack sets it from the stage config
 * (`streamConsumerEnvironment`); the twin gives the same names to its consumer.
 */
export const streamConsumerEnvSchema = z.object({
  SNOWGATE_STAGE: z.string().check(z.minLength(1)),
  /** The account identifier, as in its URL (`myorg-myaccount`): the JWT's issuer and subject name it. */
  SNOWGATE_SNOWFLAKE_ACCOUNT: z.string().check(z.regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'an account identifier')),
  /** The account's base URL: the ingest host is discovered from it (`GET /v2/streaming/hostname`). */
  SNOWGATE_SNOWFLAKE_URL: z.url({ protocol: /^https?$/ }),
  /** The Secrets Manager secret `{"user","private_key"[,"key_passphrase"]}` (`pnpm snowflake:secret`). */
  SNOWGATE_SNOWFLAKE_SECRET: z.string().check(z.regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'a Secrets Manager secret name')),
  SNOWGATE_SNOWFLAKE_DATABASE: snowflakeName,
  SNOWGATE_SNOWFLAKE_SCHEMA: snowflakeName,
  SNOWGATE_SNOWFLAKE_PIPE: snowflakeName,
  /** Channel names are `<prefix>-<shardId>`. */
  SNOWGATE_CHANNEL_PREFIX: z.string().check(z.regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -')),
});

/** What the stream consumer runs with, parsed from `streamConsumerEnvSchema`. */
export interface StreamConsumerSettings {
  stage: string;
  account: { identifier: string; url: string; secretName: string };
  database: string;
  schema: string;
  pipe: string;
  channelPrefix: string;
}

/**
 * Reads and validates the stream consumer's settings, once, at start.
 *
 * @example
 * streamConsumerSettingsFromEnv(process.env).pipe // → 'RAW_EVENTS_STREAMING_PIPE'
 */
export function streamConsumerSettingsFromEnv(env: Env = process.env): StreamConsumerSettings {
  const result = streamConsumerEnvSchema.safeParse(env);
  if (!result.success) throw new ConfigError(`invalid stream consumer settings:\n${formatZodError(result.error)}`);
  const e = result.data;
  return {
    stage: e.SNOWGATE_STAGE,
    account: {
      identifier: e.SNOWGATE_SNOWFLAKE_ACCOUNT,
      url: e.SNOWGATE_SNOWFLAKE_URL.replace(/\/+$/, ''),
      secretName: e.SNOWGATE_SNOWFLAKE_SECRET,
    },
    database: e.SNOWGATE_SNOWFLAKE_DATABASE,
    schema: e.SNOWGATE_SNOWFLAKE_SCHEMA,
    pipe: e.SNOWGATE_SNOWFLAKE_PIPE,
    channelPrefix: e.SNOWGATE_CHANNEL_PREFIX,
  };
}

/**
 * The local twin's variables: each is the default of the `pnpm start` option of
 * the same name (command line first, then the environment, then the default).
 * Their values are validated with the options they feed (`twinOptionsSchema`),
 * so that an error names the option whichever way it was given.
 */
export const TWIN_ENV = {
  port: 'PORT',
  host: 'SNOWGATE_TWIN_HOST',
  dataDir: 'SNOWGATE_DATA_DIR',
  kinesisFailureRate: 'SNOWGATE_TWIN_KINESIS_FAILURE_RATE',
  s3FailureRate: 'SNOWGATE_TWIN_S3_FAILURE_RATE',
  streamingFailureRate: 'SNOWGATE_TWIN_STREAMING_FAILURE_RATE',
  shards: 'SNOWGATE_TWIN_SHARDS',
  config: 'SNOWGATE_TWIN_CONFIG',
  schemasDir: 'SNOWGATE_SCHEMAS_DIR',
} as const;

const twinEnvSchema = z.object({
  ...Object.fromEntries(Object.values(TWIN_ENV).map((name) => [name, z.optional(z.string())])),
  /** `1` silences the twin's own log lines (tests, benchmarks). */
  SNOWGATE_TWIN_QUIET: z.optional(z.string()),
  /** The log level of the handler and authorizer running in the twin. */
  POWERTOOLS_LOG_LEVEL: z.optional(z.string().check(z.minLength(1))),
  /** Tests only: where the twin stops so that a test can kill it there (`landing-write`, `stream-checkpoint`). */
  SNOWGATE_TWIN_FAILPOINT: z.optional(z.string()),
});

export type TwinEnv = { [K in keyof typeof TWIN_ENV]?: string | undefined } & {
  quiet: boolean;
  /** `POWERTOOLS_LOG_LEVEL`, `WARN` by default. */
  logLevel: string;
  failpoint?: string | undefined;
};

/**
 * The twin's variables, by option name.
 *
 * @example
 * twinEnv({ PORT: '0', SNOWGATE_TWIN_QUIET: '1' }) // → { port: '0', quiet: true, logLevel: 'WARN' }
 */
export function twinEnv(env: Env = process.env): TwinEnv {
  const result = twinEnvSchema.safeParse(env);
  if (!result.success) throw new ConfigError(`invalid twin environment:\n${formatZodError(result.error)}`);
  const values = result.data as Record<string, string | undefined>;
  const options = Object.fromEntries(
    Object.entries(TWIN_ENV).flatMap(([option, name]) => (values[name] === undefined ? [] : [[option, values[name]]])),
  );
  return {
    ...options,
    quiet: result.data.SNOWGATE_TWIN_QUIET === '1',
    logLevel: result.data.POWERTOOLS_LOG_LEVEL ?? 'WARN',
    ...(result.data.SNOWGATE_TWIN_FAILPOINT ? { failpoint: result.data.SNOWGATE_TWIN_FAILPOINT } : {}),
  };
}

/** What the command-line tools (`pnpm keys`, `pnpm replay`, …) read besides their options. */
export function toolEnv(env: Env = process.env): { debug: boolean; twinConfig?: string | undefined } {
  return { debug: !!env.SNOWGATE_DEBUG, twinConfig: env.SNOWGATE_TWIN_CONFIG };
}
