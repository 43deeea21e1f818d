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
import { loadStageConfig } from '@snowgate/core';
import { applySnowflake, connectSnowflake, connectionSettingsFromEnv, readStackOutputs, removeSnowflake, snowflakeVariables } from '@snowgate/snowflake';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import snowflake from 'snowflake-sdk';

const root = new URL('../', import.meta.url).pathname;
const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    stage: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    outputs: { type: 'string' },
    yes: { type: 'boolean', default: false },
  },
});

try {
  const command = positionals[0];
  if (command !== 'apply' && command !== 'remove') throw new Error('usage: snowflake.ts apply|remove --stage <stage> [--dry-run]');
  if (!values.stage) throw new Error('--stage <stage> is required (the stage you deployed with sst deploy --stage)');
  const stage = values.stage;
  const dryRun = values['dry-run'];
  if (command === 'remove' && !dryRun && !values.yes) throw new Error(`this drops the pipe, the views, the stage, the file format, RAW_EVENTS with its data, the integration and the roles: add --yes`);
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
