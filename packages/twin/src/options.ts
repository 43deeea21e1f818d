import { ConfigError, loadStageConfig, type StageConfig } from '@snowgate/core';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
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
  /** Shards of the local stream. */
  shards: z.coerce.number().int().min(1).max(64).default(2),
  /** A stage config file to run with instead of `config/local.json` (limits, buffering, contracts). */
  config: z.string().min(1).optional(),
  /** The schema contracts' directory (`<dir>/<type>/<version>.json`). */
  schemasDir: z.string().min(1).default('schemas'),
});
export type TwinOptions = z.infer<typeof twinOptionsSchema>;
export type TwinOptionsInput = z.input<typeof twinOptionsSchema>;

export interface ResolvedTwinOptions extends TwinOptions {
  stage: StageConfig;
}

export function resolveTwinOptions(input: TwinOptionsInput, stage?: StageConfig): ResolvedTwinOptions {
  const result = twinOptionsSchema.safeParse(input);
  if (!result.success) {
    throw new ConfigError(`invalid twin options:\n${result.error.issues.map((i) => `  - ${i.path.join('.')}: ${i.message}`).join('\n')}`);
  }
  return {
    ...result.data,
    dataDir: resolve(result.data.dataDir),
    schemasDir: resolve(result.data.schemasDir),
    stage: stage ?? loadStageConfig('local', undefined, result.data.config && resolve(result.data.config)),
  };
}

/** Options from the command line first, then the environment, then defaults. */
export function twinOptionsFromCli(argv: string[], env: Record<string, string | undefined>): TwinOptionsInput {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'kinesis-failure-rate': { type: 'string' },
      's3-failure-rate': { type: 'string' },
      shards: { type: 'string' },
      config: { type: 'string' },
      'schemas-dir': { type: 'string' },
    },
    strict: true,
  });
  const pick = (cli: string | undefined, name: string) => cli ?? env[name];
  const input: Record<string, unknown> = {
    port: pick(values.port, 'PORT'),
    host: pick(values.host, 'SNOWGATE_TWIN_HOST'),
    dataDir: pick(values['data-dir'], 'SNOWGATE_DATA_DIR') ?? resolve(process.cwd(), '.snowgate'),
    kinesisFailureRate: pick(values['kinesis-failure-rate'], 'SNOWGATE_TWIN_KINESIS_FAILURE_RATE'),
    s3FailureRate: pick(values['s3-failure-rate'], 'SNOWGATE_TWIN_S3_FAILURE_RATE'),
    shards: pick(values.shards, 'SNOWGATE_TWIN_SHARDS'),
    config: pick(values.config, 'SNOWGATE_TWIN_CONFIG'),
    schemasDir: pick(values['schemas-dir'], 'SNOWGATE_SCHEMAS_DIR'),
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as TwinOptionsInput;
}
