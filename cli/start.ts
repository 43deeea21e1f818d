/**
 * `pnpm start`: runs the local twin until Ctrl-C, then drains it: every
 * accepted record is delivered and loaded before the process exits.
 */
import { twinDataDir, twinEnv, type TwinEnv } from '@snowgate/config';
import { ConfigError } from '@snowgate/core';
import { drainOnSignals, readyBanner, startTwin, statusLine, type TwinOptionsInput } from '@snowgate/twin';
import { parseCommandLine } from './args';

const USAGE = `Usage: pnpm start [options]

Runs the local twin: the whole pipeline on this machine (API, Kinesis and S3
emulators, Firehose, Snowpipe, DuckDB) until Ctrl-C, which drains it first.

Options (each also from its environment variable):
  --port N                   API port, 0 for a free one (PORT; default 4000)
  --host ADDR                address to listen on (SNOWGATE_TWIN_HOST; default 127.0.0.1)
  --data-dir DIR             where the state is kept (SNOWGATE_DATA_DIR; default .snowgate)
  --kinesis-failure-rate R   share of PutRecords entries throttled, 0..1 (SNOWGATE_TWIN_KINESIS_FAILURE_RATE; default 0)
  --s3-failure-rate R        share of S3 PutObject calls failing with 503, 0..1 (SNOWGATE_TWIN_S3_FAILURE_RATE; default 0)
  --streaming-failure-rate R share of the streaming endpoint's answers failing (429 or 5xx), 0..1, with delivery mode
                             streaming (SNOWGATE_TWIN_STREAMING_FAILURE_RATE; default 0)
  --shards N                 shards of the local stream, when created (SNOWGATE_TWIN_SHARDS; default 2)
  --config FILE              the stage config to run with (SNOWGATE_TWIN_CONFIG; default config/local.json)
  --schemas-dir DIR          the schema contracts (SNOWGATE_SCHEMAS_DIR; default schemas)
  -h, --help                 print this help

Environment only:
  SNOWGATE_TWIN_QUIET=1      no progress lines from the delivery thread on stderr
  POWERTOOLS_LOG_LEVEL       log level of the ingest handler and the authorizer (default WARN)

Example:
  pnpm start --port 0 --data-dir /tmp/twin`;

let ticker: NodeJS.Timeout | undefined;
let stopping = false;
const starting = startTwin(twinOptions(process.argv.slice(2), process.env));
// Attached before the twin is up, so that a Ctrl-C during start-up also waits for it and drains.
drainOnSignals({
  drain: async () => {
    stopping = true;
    clearInterval(ticker);
    const twin = await starting;
    await twin.stop();
    console.log(`Stopped. ${statusLine(twin.status())}`);
  },
  exit: (code) => process.exit(code),
});
const twin = await starting.catch((error: unknown) => {
  // A bad stage config or option is the user's to fix: its problems, a line each, not a stack.
  if (!(error instanceof ConfigError)) throw error;
  console.error(`pnpm start: ${error.message}`);
  process.exit(2);
});
console.log(
  readyBanner({
    endpoints: twin.endpoints,
    contracts: twin.status().contracts,
    auth: twin.auth,
    dataDir: twin.dataDir,
    delivery: twin.status().delivery,
  }),
);

if (process.stdout.isTTY && !stopping) ticker = setInterval(() => console.log(statusLine(twin.status())), 10_000);

/** Options from the command line first, then the environment, then the twin's defaults. */
function twinOptions(argv: string[], env: Record<string, string | undefined>): TwinOptionsInput {
  const { values } = parseCommandLine('pnpm start', USAGE, {
    args: argv,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'kinesis-failure-rate': { type: 'string' },
      's3-failure-rate': { type: 'string' },
      'streaming-failure-rate': { type: 'string' },
      shards: { type: 'string' },
      config: { type: 'string' },
      'schemas-dir': { type: 'string' },
    },
    strict: true,
  });
  const fromEnv = twinEnv(env);
  const pick = (cli: string | undefined, option: keyof TwinEnv) => cli ?? (fromEnv[option] as string | undefined);
  const input: Record<string, unknown> = {
    port: pick(values.port, 'port'),
    host: pick(values.host, 'host'),
    dataDir: twinDataDir(values['data-dir'], env),
    kinesisFailureRate: pick(values['kinesis-failure-rate'], 'kinesisFailureRate'),
    s3FailureRate: pick(values['s3-failure-rate'], 's3FailureRate'),
    streamingFailureRate: pick(values['streaming-failure-rate'], 'streamingFailureRate'),
    shards: pick(values.shards, 'shards'),
    config: pick(values.config, 'config'),
    schemasDir: pick(values['schemas-dir'], 'schemasDir'),
    quiet: fromEnv.quiet,
    logLevel: fromEnv.logLevel,
    failpoint: fromEnv.failpoint,
  };
  return Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as TwinOptionsInput;
}
