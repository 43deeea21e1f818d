/**
 * The Snowflake half, applied from the deployed stack's outputs and the stage config.
 *
 *   pnpm snowflake:apply --stage dev [--dry-run] [--outputs .sst/outputs.json]
 *   pnpm snowflake:remove --stage dev [--dry-run] --yes
 *
 * Connection settings come from the environment (SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER,
 * SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY, SNOWFLAKE_PRIVATE_KEY_PASSPHRASE):
 * key-pair authentication only. See snowflake/README.md.
 */
import { join } from 'node:path';
import { parseCommandLine } from './args';

const USAGE = `Usage: pnpm snowflake:apply --stage STAGE [--dry-run] [--outputs FILE]
       pnpm snowflake:remove --stage STAGE (--yes | --dry-run)

apply runs the SQL migrations in snowflake/ for a deployed stage, rendered from its
stack outputs and config/<stage>.json, and stores Snowflake's IAM user and the pipe's
queue in Parameter Store (/snowgate/<stage>/snowflake/wiring), where every later
sst deploy of the stage reads them, and in config/<stage>.snowflake.json. remove drops
what apply created (the database, schema and warehouse stay; on a production stage
RAW_EVENTS and its data stay too).

Options:
  --stage STAGE     the stage deployed with sst deploy --stage STAGE (required)
  --dry-run         print the SQL that would run; no connection
  --outputs FILE    the stack outputs (default .sst/outputs.json)
  --region REGION   the stage's AWS region, for Parameter Store (default: the AWS SDK's)
  --yes             remove: confirm the drop (RAW_EVENTS and its data go, except on
                    a production stage)
  -h, --help        print this help

Connection, from the environment (key-pair only; see snowflake/README.md):
  SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY,
  SNOWFLAKE_PRIVATE_KEY_PASSPHRASE

Example:
  pnpm snowflake:apply --stage dev --dry-run`;

const root = new URL('../', import.meta.url).pathname;
const { values, positionals } = parseCommandLine('pnpm snowflake', USAGE, {
  allowPositionals: true,
  options: {
    stage: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    outputs: { type: 'string' },
    region: { type: 'string' },
    yes: { type: 'boolean', default: false },
  },
});

// Loaded after the arguments: the Snowflake driver is slow to load, --help should not be.
const { loadStageConfig } = await import('@snowgate/config/files');
const {
  applySnowflake,
  connectSnowflake,
  connectionSettingsFromEnv,
  readStackOutputs,
  removeSnowflake,
  snowflakeVariables,
  ssmWiringStore,
} = await import('@snowgate/snowflake');
const { default: snowflake } = await import('snowflake-sdk');
const { SSMClient } = await import('@aws-sdk/client-ssm');

try {
  const command = positionals[0];
  if (command !== 'apply' && command !== 'remove')
    throw new Error('apply or remove? (pnpm snowflake:apply / pnpm snowflake:remove; see --help)');
  if (!values.stage) throw new Error('--stage <stage> is required (the stage you deployed with sst deploy --stage)');
  const stage = values.stage;
  const dryRun = values['dry-run'];
  const configDir = join(root, 'config');
  const config = loadStageConfig(stage, configDir);
  if (command === 'remove' && !dryRun && !values.yes)
    throw new Error(
      `this drops the pipe, the views, the stage, the file format, ${config.production ? '' : 'RAW_EVENTS with its data, '}the integration and the roles${config.production ? ' (RAW_EVENTS is kept: a production stage)' : ''}: add --yes`,
    );
  const variables = snowflakeVariables(stage, config, readStackOutputs(stage, values.outputs ?? join(root, '.sst/outputs.json')));
  const options = {
    stage,
    config,
    variables,
    configDir,
    wiring: ssmWiringStore(new SSMClient(values.region ? { region: values.region } : {})),
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
