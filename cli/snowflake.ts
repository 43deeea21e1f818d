/**
 * The Snowflake half, applied from the deployed stack's outputs and the stage config.
 *
 *   pnpm snowflake:apply --stage dev [--dry-run] [--outputs .sst/outputs.json]
 *   pnpm snowflake:remove --stage dev [--dry-run] --yes
 *   pnpm snowflake:backfill (--stage dev | --twin) --from 2026-11-01 --to 2026-11-05 [--dry-run] [--json]
 *
 * Connection settings come from the environment (SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER,
 * SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY, SNOWFLAKE_PRIVATE_KEY_PASSPHRASE):
 * key-pair authentication only. See snowflake/README.md.
 */
import { join } from 'node:path';
import { parseCommandLine } from './args';

const USAGE = `Usage: pnpm snowflake:apply --stage STAGE [--dry-run] [--outputs FILE]
       pnpm snowflake:remove --stage STAGE (--yes | --dry-run)
       pnpm snowflake:backfill (--stage STAGE | --twin) --from DATE --to DATE [--dry-run] [--json]

apply runs the SQL migrations in snowflake/ for a deployed stage, rendered from its
stack outputs and config/<stage>.json, and writes config/<stage>.snowflake.json
(Snowflake's IAM user and the pipe's queue) for the next sst deploy. remove drops
what apply created (the database, schema and warehouse stay). backfill loads the
landing files of a window of UTC days that nothing loaded and that ALTER PIPE … REFRESH
no longer reaches (older than 7 days), with COPY INTO … FILES in chunks of 1,000; a
file with rows in RAW_EVENTS or a load in COPY_HISTORY is never loaded again.

Options:
  --stage STAGE     the stage deployed with sst deploy --stage STAGE (required)
  --dry-run         print the SQL that would run; no connection
  --outputs FILE    the stack outputs (default .sst/outputs.json)
  --yes             remove: confirm the drop (RAW_EVENTS and its data go)
  --from DATE       backfill: the first day (YYYY-MM-DD, UTC) of landing files
  --to DATE         backfill: the last day, included
  --json            backfill: print the outcome as JSON
  --twin            backfill: on the local twin (stopped) instead of Snowflake
  --data-dir DIR    backfill --twin: the twin's data dir (default $SNOWGATE_DATA_DIR or .snowgate)
  -h, --help        print this help

Connection, from the environment (key-pair only; see snowflake/README.md):
  SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY,
  SNOWFLAKE_PRIVATE_KEY_PASSPHRASE

Examples:
  pnpm snowflake:apply --stage dev --dry-run
  pnpm snowflake:backfill --stage prod --from 2026-11-01 --to 2026-11-05 --dry-run`;

const root = new URL('../', import.meta.url).pathname;
const { values, positionals } = parseCommandLine('pnpm snowflake', USAGE, {
  allowPositionals: true,
  options: {
    stage: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    outputs: { type: 'string' },
    yes: { type: 'boolean', default: false },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean', default: false },
    twin: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
  },
});

if (positionals[0] === 'backfill') {
  try {
    if (!values.from || !values.to) throw new Error('--from DATE and --to DATE are required (YYYY-MM-DD, UTC, both included)');
    if (values.twin === Boolean(values.stage)) throw new Error('backfill on --stage STAGE (Snowflake) or --twin, one of them');
    const report = values.twin
      ? await backfillOnTwin(values.from, values.to)
      : await backfillOnSnowflake(values.stage!, values.from, values.to);
    const { formatBackfillReport } = await import('@snowgate/core');
    console.log(values.json ? JSON.stringify(report, null, 2) : formatBackfillReport(report));
  } catch (error) {
    console.error(`snowflake: ${(error as Error).message}`);
    process.exitCode = 1;
  }
  // The rest of this file is apply and remove.
  process.exit();
}

// Loaded after the arguments: the Snowflake driver is slow to load, --help should not be.
const { loadStageConfig } = await import('@snowgate/config/files');
const { applySnowflake, connectSnowflake, connectionSettingsFromEnv, readStackOutputs, removeSnowflake, snowflakeVariables } = await import(
  '@snowgate/snowflake'
);
const { default: snowflake } = await import('snowflake-sdk');

try {
  const command = positionals[0];
  if (command !== 'apply' && command !== 'remove')
    throw new Error('apply, remove or backfill? (pnpm snowflake:apply / snowflake:remove / snowflake:backfill; see --help)');
  if (!values.stage) throw new Error('--stage <stage> is required (the stage you deployed with sst deploy --stage)');
  const stage = values.stage;
  const dryRun = values['dry-run'];
  if (command === 'remove' && !dryRun && !values.yes)
    throw new Error(
      `this drops the pipe, the views, the stage, the file format, RAW_EVENTS with its data, the integration and the roles: add --yes`,
    );
  const configDir = join(root, 'config');
  const config = loadStageConfig(stage, configDir);
  const variables = snowflakeVariables(stage, config, readStackOutputs(stage, values.outputs ?? join(root, '.sst/outputs.json')));
  const options = {
    stage,
    config,
    variables,
    configDir,
    dryRun,
    print: (text: string) => console.log(text),
    connect: async () => {
      snowflake.configure({ logLevel: 'ERROR' });
      return connectSnowflake(connectionSettingsFromEnv(), variables.admin_role, snowflake.createConnection);
    },
  };
  if (command === 'apply') await applySnowflake(options);
  else await removeSnowflake(options);
} catch (error) {
  console.error(`snowflake: ${(error as Error).message}`);
  process.exitCode = 1;
}

async function backfillOnSnowflake(stage: string, from: string, to: string) {
  const { loadStageConfig } = await import('@snowgate/config/files');
  const { backfillSnowflake, connectSnowflake, connectionSettingsFromEnv, readStackOutputs, snowflakeVariables } = await import(
    '@snowgate/snowflake'
  );
  const { default: snowflake } = await import('snowflake-sdk');
  const config = loadStageConfig(stage, join(root, 'config'));
  const variables = snowflakeVariables(stage, config, readStackOutputs(stage, values.outputs ?? join(root, '.sst/outputs.json')));
  snowflake.configure({ logLevel: 'ERROR' });
  // Listing and comparing need the connection even on a dry run; only the COPY statements are left out.
  const session = await connectSnowflake(connectionSettingsFromEnv(), variables.admin_role, snowflake.createConnection);
  try {
    return await backfillSnowflake(session, variables, {
      window: { from, to },
      dryRun: values['dry-run'],
      print: (text) => (values.json ? console.error(text) : console.log(text)),
    });
  } finally {
    await session.close();
  }
}

async function backfillOnTwin(from: string, to: string) {
  const { endpointsFile, twinDataDir } = await import('@snowgate/config');
  const { loadStageConfig } = await import('@snowgate/config/files');
  const { readJson } = await import('@snowgate/twin/durable-file');
  const dataDir = twinDataDir(values['data-dir']);
  const endpoints = readJson<{ api: string }>(endpointsFile(dataDir));
  const running =
    endpoints &&
    (await fetch(`${endpoints.api}/health`).then(
      (r) => r.ok,
      () => false,
    ));
  if (running)
    throw new Error(
      `the twin is running on ${dataDir} (${endpoints.api}): it loads every landing file its history lacks by itself; stop it (Ctrl-C) to backfill`,
    );
  const { backfillTwinDataDir } = await import('@snowgate/twin');
  return backfillTwinDataDir(dataDir, loadStageConfig('local').firehose.prefix, { window: { from, to }, dryRun: values['dry-run'] });
}
