import { ConfigError } from '@snowgate/core';
import { formatZodError, type StageConfig } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';
import { resolve } from 'node:path';
import { z } from 'zod';

const rate = z.coerce.number().min(0).max(1);

/** How the local twin runs. The pipeline's own settings (limits, buffering) come from the stage config of stage `local`. */
export const twinOptionsSchema = z.object({
  /** API port; 0 picks a free one. */
  port: z.coerce.number().int().min(0).max(65_535).default(4000),
  host: z.string().default('127.0.0.1'),
  /** Where the twin keeps its state: emulator data, Firehose checkpoints, the DuckDB warehouse. */
  dataDir: z.string().min(1),
  /** Share of PutRecords entries answered as throttled (never stored), as Kinesis does under load. */
  kinesisFailureRate: rate.default(0),
  /** Share of S3 PutObject calls (error bucket and landing bucket) that fail with 503 SlowDown. */
  s3FailureRate: rate.default(0),
  /** Delivery mode `streaming`: share of the emulated Snowpipe Streaming endpoint's answers that fail (429 or 5xx). */
  streamingFailureRate: rate.default(0),
  /** Shards of the local stream. */
  shards: z.coerce.number().int().min(1).max(64).default(2),
  /** A stage config file to run with instead of `config/local.json` (limits, buffering, contracts). */
  config: z.string().min(1).optional(),
  /** The schema contracts' directory (`<dir>/<type>/<version>.json`). */
  schemasDir: z.string().min(1).default('schemas'),
  /** No `twin: …` progress lines on stderr (the delivery thread's messages). */
  quiet: z.boolean().default(false),
  /** The Powertools log level of the ingest handler and the authorizer (`POWERTOOLS_LOG_LEVEL` for `pnpm start`). */
  logLevel: z.string().default('WARN'),
  /** Tests only (`SNOWGATE_TWIN_FAILPOINT`): a moment where the twin stops so that a test can kill it there. */
  failpoint: z.enum(['landing-write', 'stream-checkpoint']).optional(),
});
export type TwinOptions = z.infer<typeof twinOptionsSchema>;
export type TwinOptionsInput = z.input<typeof twinOptionsSchema>;

export interface ResolvedTwinOptions extends TwinOptions {
  stage: StageConfig;
}

export function resolveTwinOptions(input: TwinOptionsInput, stage?: StageConfig): ResolvedTwinOptions {
  const result = twinOptionsSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`invalid twin options:\n${formatZodError(result.error)}`);
  }
  return {
    ...result.data,
    dataDir: resolve(result.data.dataDir),
    schemasDir: resolve(result.data.schemasDir),
    stage: stage ?? loadStageConfig('local', undefined, result.data.config && resolve(result.data.config)),
  };
}
