import { ConfigError } from '@snowgate/core';
import { formatZodError, twinDataDir, twinEnv, type StageConfig, type TwinEnv } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';
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
  /** No `twin: …` progress lines on stderr (the delivery thread's messages). */
  quiet: z.boolean().default(false),
  /** The Powertools log level of the ingest handler and the authorizer (`POWERTOOLS_LOG_LEVEL` for `pnpm start`). */
  logLevel: z.string().default('WARN'),
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

export const TWIN_USAGE = `Usage: pnpm start [options]

Runs the local twin: the whole pipeline on this machine (API, Kinesis and S3
emulators, Firehose, Snowpipe, DuckDB) until Ctrl-C, which drains it first.

Options (each also from its environment variable):
  --port N                   API port, 0 for a free one (PORT; default 4000)
  --host ADDR                address to listen on (SNOWGATE_TWIN_HOST; default 127.0.0.1)
  --data-dir DIR             where the state is kept (SNOWGATE_DATA_DIR; default .snowgate)
  --kinesis-failure-rate R   share of PutRecords entries throttled, 0..1 (SNOWGATE_TWIN_KINESIS_FAILURE_RATE; default 0)
  --s3-failure-rate R        share of S3 PutObject calls failing with 503, 0..1 (SNOWGATE_TWIN_S3_FAILURE_RATE; default 0)
  --shards N                 shards of the local stream, when created (SNOWGATE_TWIN_SHARDS; default 2)
  --config FILE              the stage config to run with (SNOWGATE_TWIN_CONFIG; default config/local.json)
  --schemas-dir DIR          the schema contracts (SNOWGATE_SCHEMAS_DIR; default schemas)
  -h, --help                 print this help

Environment only:
  SNOWGATE_TWIN_QUIET=1      no progress lines from the delivery thread on stderr
  POWERTOOLS_LOG_LEVEL       log level of the ingest handler and the authorizer (default WARN)

Example:
  pnpm start --port 0 --data-dir /tmp/twin`;

/**
 * Options from the command line first, then the environment, then defaults.
 * `--help` prints {@link TWIN_USAGE} and exits 0; an unknown option prints one line and exits 2.
 */
export function twinOptionsFromCli(argv: string[], env: Record<string, string | undefined>): TwinOptionsInput {
  let parsed: ReturnType<typeof parseTwinArgs>;
  try {
    parsed = parseTwinArgs(argv);
  } catch (error) {
    console.error(`pnpm start: ${(error as Error).message} (see pnpm start --help)`);
    process.exit(2);
  }
  if (parsed.values.help) {
    console.log(TWIN_USAGE);
    process.exit(0);
  }
  const { values } = parsed;
  const fromEnv = twinEnv(env);
  const pick = (cli: string | undefined, option: keyof TwinEnv) => cli ?? (fromEnv[option] as string | undefined);
  const input: Record<string, unknown> = {
    port: pick(values.port, 'port'),
    host: pick(values.host, 'host'),
    dataDir: twinDataDir(values['data-dir'], env),
    kinesisFailureRate: pick(values['kinesis-failure-rate'], 'kinesisFailureRate'),
    s3FailureRate: pick(values['s3-failure-rate'], 's3FailureRate'),
    shards: pick(values.shards, 'shards'),
    config: pick(values.config, 'config'),
    schemasDir: pick(values['schemas-dir'], 'schemasDir'),
    quiet: fromEnv.quiet,
    logLevel: fromEnv.logLevel,
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as TwinOptionsInput;
}

function parseTwinArgs(argv: string[]) {
  return parseArgs({
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
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
}
