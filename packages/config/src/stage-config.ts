import { ConfigError, contractSettingsSchema, corsSettingsSchema, limitsSchema, packingSchema } from '@snowgate/core';
import { z } from 'zod';
import { formatZodError } from './format';
import { INGEST_ENV, writePolicySchema, type IngestSettings } from './settings';
import { unknownKeysErrorMap } from './unknown-keys';

/** An unquoted Snowflake identifier (https://docs.snowflake.com/en/sql-reference/identifiers-syntax). */
const snowflakeIdentifier = z.string().regex(/^[A-Za-z_][A-Za-z0-9_$]{0,254}$/, 'an unquoted Snowflake identifier');
/**
 * A settings schema shared with the handler (zod/mini, as the Lambda bundles it), refusing
 * unknown keys as the rest of the stage config does: a copy with zod's strict catch-all,
 * its fields and checks unchanged.
 */
const strict = <T extends z.core.$ZodObject>(schema: T): T => z.core.util.clone(schema, { ...schema._zod.def, catchall: z.never() });
const prefix = z.string().regex(/^([A-Za-z0-9!_.*'()=-]+\/)+$/, 'a key prefix ending with "/"');

/**
 * Everything that differs between stages, in one validated object: the AWS
 * stack reads it at synth time, the handler receives its `ingest` part as
 * `SNOWGATE_*` variables, and the local twin uses the same buffering and limits.
 * Every object is strict: an unknown key is an error, never a silent default.
 */
export const stageConfigSchema = z
  .strictObject({
    /** Production stages keep their buckets on `sst remove` and refuse `auth: none`. */
    production: z.boolean().default(false),
    auth: z
      .discriminatedUnion('mode', [
        z.strictObject({ mode: z.literal('iam') }),
        z.strictObject({ mode: z.literal('jwt'), issuer: z.url(), audience: z.array(z.string().min(1)).min(1) }),
        /**
         * API keys (`pnpm keys create`), checked by a Lambda authorizer against hashed
         * records in SSM Parameter Store. API Gateway caches each key's answer for
         * `cacheSeconds`, and the authorizer each record for a minute: a revoked key
         * stops working within their sum.
         */
        z.strictObject({
          mode: z.literal('apiKey'),
          header: z
            .string()
            .regex(/^[a-z0-9-]{1,64}$/, 'a lower-case header name')
            .default('x-api-key'),
          cacheSeconds: z.number().int().min(0).max(3_600).default(300),
        }),
        /** No authorization at all: for throw-away development stages only. */
        z.strictObject({ mode: z.literal('none') }),
      ])
      .default({ mode: 'iam' }),
    api: z
      .strictObject({
        /** Steady-state requests per second across the stage, and the burst above it. */
        throttleRate: z.number().positive().default(1_000),
        throttleBurst: z.number().int().positive().default(2_000),
        /** Which web pages may send events (CORS): any origin by default; see docs/CONFIGURATION.md. */
        cors: z.prefault(corsSettingsSchema, {}),
      })
      .prefault({}),
    lambda: z
      .strictObject({
        memoryMb: z.number().int().min(512).max(10_240).default(1_024),
        /** Below API Gateway's 30 s integration timeout. */
        timeoutSeconds: z.number().int().min(3).max(29).default(10),
        logRetentionDays: z.union([z.literal(7), z.literal(14), z.literal(30), z.literal(90), z.literal(365)]).default(30),
      })
      .prefault({}),
    stream: z
      .discriminatedUnion('mode', [
        z.strictObject({ mode: z.literal('on-demand') }),
        z.strictObject({ mode: z.literal('provisioned'), shards: z.number().int().min(1).max(500) }),
      ])
      .default({ mode: 'on-demand' }),
    /**
     * Hours the stream keeps records (Kinesis allows 24..8,760). Firehose retries a failed delivery only
     * while the records are still in the stream, so this is the longest Firehose or S3 outage that loses
     * nothing: 72 h outlasts a weekend. Beyond 24 h it is billed (see pnpm cost).
     */
    streamRetentionHours: z.number().int().min(24).max(8_760).default(72),
    firehose: z
      .strictObject({
        /** Firehose flushes when either is reached: 1 MiB or 5 s by default. */
        bufferSizeMiB: z.number().int().min(1).max(128).default(1),
        bufferIntervalSeconds: z.number().int().min(0).max(900).default(5),
        prefix: prefix.default('events/'),
        errorPrefix: prefix.default('firehose-errors/'),
        /** Landing files stored gzip (`.gz`, about 9x smaller) or `UNCOMPRESSED` for tools that read them as they are; Snowpipe reads both. */
        compression: z.enum(['GZIP', 'UNCOMPRESSED']).default('GZIP'),
      })
      .prefault({}),
    buckets: z
      .strictObject({
        /** Days before landing files expire (Snowpipe has loaded them long before). */
        landingExpirationDays: z.number().int().positive().default(30),
        /** Days before quarantined input moves to Infrequent Access, and before it expires. */
        errorsInfrequentAccessDays: z.number().int().min(30).default(30),
        errorsExpirationDays: z.number().int().positive().default(365),
        /** Days before records Firehose could not deliver (under `firehose.errorPrefix`) expire. */
        firehoseErrorsExpirationDays: z.number().int().positive().default(90),
        errorPrefix: prefix.default('errors/'),
      })
      .prefault({}),
    ingest: z
      .strictObject({
        limits: z.prefault(strict(limitsSchema), {}),
        write: z.prefault(strict(writePolicySchema), {}),
        /** `packed` (default): a request's events share Kinesis records of up to `maxRecordBytes`; `single`: one event per record, keyed by its id. */
        packing: z.prefault(strict(packingSchema), {}),
      })
      .prefault({}),
    /** Schema contracts (`schemas/<type>/<version>.json`): `off` by default; see schemas/README.md. */
    contracts: z.prefault(strict(contractSettingsSchema), {}),
    /**
     * How accepted events reach RAW_EVENTS. `files` (default): Firehose's landing files, loaded by the
     * auto-ingest pipe (a minute or more on AWS). `streaming`: a consumer of the stream appends each event
     * as a row through Snowpipe Streaming (seconds); Firehose keeps writing the landing files as the archive.
     */
    delivery: z
      .strictObject({
        mode: z.enum(['files', 'streaming']).default('files'),
        /** The stream's consumer in `streaming` (stacks/Delivery.ts); unused in `files`. */
        streaming: z
          .strictObject({
            /**
             * Seconds the event source mapping gathers records before it invokes the consumer (Lambda allows 0..300):
             * each second here is a second of latency, and fewer, larger appends.
             */
            batchWindowSeconds: z.number().int().min(0).max(300).default(0),
            /** Kinesis records per invocation, at most (Lambda allows 1..10,000); a packed record holds several events. */
            batchSize: z.number().int().min(1).max(10_000).default(100),
            /**
             * The channels' names are `<channelPrefix>-<shardId>`: unique per stage, so that two stages (or two
             * consumers) never append to each other's channels. Default `snowgate-<stage>`.
             */
            channelPrefix: z
              .string()
              .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, _ and -, at most 64')
              .optional(),
            memoryMb: z.number().int().min(128).max(10_240).default(512),
            /** The consumer waits until Snowflake commits what it appended (seconds, usually): room for that and retries. */
            timeoutSeconds: z.number().int().min(10).max(900).default(120),
          })
          .prefault({}),
      })
      .prefault({}),
    snowflake: z.strictObject({
      /** `STORAGE_AWS_EXTERNAL_ID` of the storage integration, fixed here so that neither side waits for the other. */
      externalId: z.string().regex(/^[\w+=,.@:/-]{2,1224}$/),
      /** Snowflake's IAM user (`DESC INTEGRATION` → `STORAGE_AWS_IAM_USER_ARN`); until known, only this account can assume the role. */
      iamUserArn: z
        .string()
        .regex(/^arn:aws:iam::\d{12}:user\/.+$/)
        .optional(),
      /** The pipe's SQS queue (`SHOW PIPES` → `notification_channel`); until known, no bucket notification is created. */
      notificationChannelArn: z
        .string()
        .regex(/^arn:aws:sqs:[a-z0-9-]+:\d{12}:.+$/)
        .optional(),
      /**
       * The freshness alert's notification integration's external ID (`DESC NOTIFICATION INTEGRATION` →
       * `SF_AWS_EXTERNAL_ID`, written by `pnpm snowflake:apply`); until known, Snowflake cannot publish to the alarm topic.
       */
      alertExternalId: z
        .string()
        .regex(/^[\w+=,.@:/-]{2,1224}$/)
        .optional(),
      /**
       * The pipe's load-error notification integration's external ID (`DESC NOTIFICATION INTEGRATION` →
       * `SF_AWS_EXTERNAL_ID`); until known, Snowflake cannot publish load errors to the stage's LoadErrors topic.
       */
      errorExternalId: z
        .string()
        .regex(/^[\w+=,.@:/-]{2,1224}$/)
        .optional(),
      /**
       * The Snowflake account whose side the deploy manages, and how it signs in: key-pair JWT as the user
       * in the secret. Absent: the stage deploys AWS only, and `pnpm snowflake:apply` runs the SQL.
       */
      account: z
        .strictObject({
          /** The account identifier as in the account URL: `myorg-myaccount`, or a locator such as `xy12345.us-east-2.aws`. */
          identifier: z
            .string()
            .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'an account identifier as in the account URL, e.g. myorg-myaccount')
            .refine((id) => !/\.snowflakecomputing\.(com|cn)$/i.test(id), 'the account identifier, without .snowflakecomputing.com'),
          /** The Secrets Manager secret holding `{"user","private_key"}` (and `key_passphrase` for an encrypted key): `pnpm snowflake:secret`. */
          secretName: z.string().regex(/^[A-Za-z0-9/_+=.@-]{1,512}$/, 'a Secrets Manager secret name (letters, digits and /_+=.@-)'),
          /** An existing warehouse the deploy's statements run on; default the user's DEFAULT_WAREHOUSE (`objects.warehouse` is the one the SQL creates). */
          warehouse: snowflakeIdentifier.optional(),
          /**
           * The SQL API's base URL; default `https://<identifier>.snowflakecomputing.com`. https only, except
           * http on the loopback address, where a test's fake of the API listens.
           */
          url: z
            .url({ protocol: /^https?$/ })
            .refine((url) => {
              if (!URL.canParse(url)) return true; // z.url has said so
              const { protocol, hostname } = new URL(url);
              return protocol === 'https:' || ['localhost', '127.0.0.1', '[::1]'].includes(hostname);
            }, 'an https URL (http only on localhost, for a fake)')
            .transform((url) => url.replace(/\/+$/, ''))
            .optional(),
        })
        .transform(({ url, ...account }) => ({
          ...account,
          url: url ?? `https://${account.identifier.toLowerCase()}.snowflakecomputing.com`,
        }))
        .optional(),
      /** Where `pnpm snowflake:apply` creates the Snowflake objects; see snowflake/README.md. */
      objects: z
        .strictObject({
          database: snowflakeIdentifier.default('SNOWGATE'),
          /** Defaults to the stage's name, upper-cased: one schema per stage. */
          schema: snowflakeIdentifier.optional(),
          warehouse: snowflakeIdentifier.default('SNOWGATE_WH'),
          /** The role the migrations run as (and the deploy's statements, with `account`): it needs CREATE INTEGRATION (or is ACCOUNTADMIN). */
          adminRole: snowflakeIdentifier.default('ACCOUNTADMIN'),
        })
        .prefault({}),
    }),
    alarms: z
      .strictObject({
        /** Alarm when the oldest record not yet delivered by Firehose is older than this (DeliveryToS3.DataFreshness). */
        dataFreshnessSeconds: z.number().int().positive().default(900),
        iteratorAgeMs: z.number().int().positive().default(60_000),
        /** Alarm when more than this share of the records in 5 minutes is rejected (quarantined), once there are `rejectionMinRecords` of them. */
        rejectionRate: z.number().gt(0).lt(1).default(0.05),
        rejectionMinRecords: z.number().int().positive().default(100),
        /** Snowflake's freshness alert fires when files wait but nothing loaded for this long (snowflake/migrations/V1.6.0__freshness_alert.sql). */
        loadFreshnessMinutes: z.number().int().min(15).max(10_080).default(60),
        /** An e-mail address subscribed to the stage's alarm topic. */
        email: z.email().optional(),
        /** An existing SNS topic (on-call tooling, chat) that every alarm notifies, with or without `email`. */
        topicArn: z
          .string()
          .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[\w-]{1,256}$/, 'an SNS topic ARN (arn:aws:sns:<region>:<account>:<name>)')
          .optional(),
      })
      .prefault({}),
  })
  .refine((c) => c.buckets.errorsExpirationDays > c.buckets.errorsInfrequentAccessDays, {
    message: 'quarantine must expire after it moves to Infrequent Access (S3 refuses the rule otherwise)',
    path: ['buckets', 'errorsExpirationDays'],
  })
  .refine((c) => !c.snowflake.notificationChannelArn || c.snowflake.iamUserArn, {
    message: 'set iamUserArn with notificationChannelArn: Snowpipe cannot read a file before its user may assume the role',
    path: ['snowflake', 'iamUserArn'],
  })
  // An alarm with no action tells nobody: a production stage must say where alarms go.
  .refine((c) => !c.production || c.alarms.email || c.alarms.topicArn, {
    message:
      'a production stage needs an alarm destination: set alarms.email (subscribed to the stage alarm topic) or alarms.topicArn (an existing topic)',
    path: ['alarms'],
  })
  .refine((c) => !(c.production && c.auth.mode === 'none'), {
    message: 'a production stage cannot use auth mode "none"',
    path: ['auth', 'mode'],
  })
  // `pnpm replay` writes its ledger under replays/ in the error bucket: the quarantine may not live there.
  .refine((c) => !c.buckets.errorPrefix.startsWith('replays/'), {
    message: 'the quarantine prefix may not be under replays/, where pnpm replay keeps its ledger',
    path: ['buckets', 'errorPrefix'],
  })
  .refine((c) => c.ingest.write.budgetMs < c.lambda.timeoutSeconds * 1_000 - 500, {
    message: 'the write budget must end at least 500 ms before the Lambda timeout',
    path: ['ingest', 'write', 'budgetMs'],
  });
export type StageConfig = z.infer<typeof stageConfigSchema>;
export type StageConfigInput = z.input<typeof stageConfigSchema>;

/**
 * Validates a stage config, throwing one `ConfigError` that lists every problem, a line each:
 * an unknown key at any level is one, with the closest known name where there is one.
 * `problems` found before parsing (in the files the input was merged from) are listed with them.
 *
 * @example
 * parseStageConfig({ firehose: { bufferIntervalSecond: 1 } }) // ConfigError: … firehose.bufferIntervalSecond: unknown key; did you mean "bufferIntervalSeconds"?
 */
export function parseStageConfig(input: unknown, source = 'stage config', problems: readonly string[] = []): StageConfig {
  const result = stageConfigSchema.safeParse(input, { error: unknownKeysErrorMap });
  if (!result.success || problems.length > 0) {
    const lines = [...(result.success ? [] : [formatZodError(result.error)]), ...problems.map((p) => `  - ${p}`)];
    throw new ConfigError(`invalid ${source}:\n${lines.join('\n')}`);
  }
  return result.data;
}

/**
 * The handler's environment for a stage: the inverse of `ingestSettingsFromEnv`.
 *
 * @example
 * ingestEnvironment(config, { streamName: 's', errorBucket: 'b' }).SNOWGATE_MAX_DEPTH // → '64'
 */
export function ingestEnvironment(config: StageConfig, names: { streamName: string; errorBucket: string }): Record<string, string> {
  const settings: Omit<IngestSettings, 'region' | 'kinesisEndpoint' | 's3Endpoint' | 'schemasDir'> = {
    streamName: names.streamName,
    errorBucket: names.errorBucket,
    errorPrefix: config.buckets.errorPrefix,
    limits: config.ingest.limits,
    write: config.ingest.write,
    packing: config.ingest.packing,
    contracts: config.contracts,
  };
  const env: Record<string, string> = {};
  for (const [name, path] of Object.entries(INGEST_ENV)) {
    let value: unknown = settings;
    for (const key of path) value = (value as Record<string, unknown> | undefined)?.[key];
    if (value !== undefined) env[name] = String(value);
  }
  return env;
}

/**
 * The pipe Snowpipe Streaming appends through (snowflake/migrations/V1.8.0__streaming_pipe.sql): it maps the
 * consumer's rows to RAW_EVENTS' columns. Created in both delivery modes, used only in `streaming`.
 */
export const STREAMING_PIPE = 'RAW_EVENTS_STREAMING_PIPE';

/**
 * The Snowflake account a `streaming` stage's consumer appends to, or a `ConfigError` saying what is missing.
 * Only a deploy needs it (the stack asks); the twin streams to its own endpoint without one.
 *
 * @example
 * streamingAccount(parseStageConfig({ delivery: { mode: 'streaming' }, snowflake: { externalId: 'x' } })) // ConfigError: delivery mode "streaming" needs snowflake.account …
 */
export function streamingAccount(config: StageConfig): NonNullable<StageConfig['snowflake']['account']> {
  if (!config.snowflake.account) {
    throw new ConfigError(
      'delivery mode "streaming" needs snowflake.account (identifier and secretName): the stream consumer signs in to Snowpipe Streaming with the key in that secret (docs/CONFIGURATION.md, "Delivery")',
    );
  }
  return config.snowflake.account;
}

/**
 * The stream consumer's environment for a stage (`streamConsumerEnvSchema` reads it back): the inverse of
 * `streamConsumerSettingsFromEnv`. The schema is `snowflake.objects.schema`, or the stage's name upper-cased, as
 * `pnpm snowflake:apply` names it.
 *
 * @example
 * streamConsumerEnvironment('dev', config).SNOWGATE_CHANNEL_PREFIX // → 'snowgate-dev'
 */
export function streamConsumerEnvironment(stage: string, config: StageConfig): Record<string, string> {
  const account = streamingAccount(config);
  const { objects } = config.snowflake;
  return {
    SNOWGATE_STAGE: stage,
    SNOWGATE_SNOWFLAKE_ACCOUNT: account.identifier,
    SNOWGATE_SNOWFLAKE_URL: account.url,
    SNOWGATE_SNOWFLAKE_SECRET: account.secretName,
    SNOWGATE_SNOWFLAKE_DATABASE: objects.database,
    SNOWGATE_SNOWFLAKE_SCHEMA: objects.schema ?? stage.toUpperCase().replace(/[^A-Z0-9_]/g, '_'),
    SNOWGATE_SNOWFLAKE_PIPE: STREAMING_PIPE,
    SNOWGATE_CHANNEL_PREFIX: config.delivery.streaming.channelPrefix ?? `snowgate-${stage}`.replace(/[^A-Za-z0-9_-]/g, '-').slice(0, 64),
  };
}
