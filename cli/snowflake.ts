/**
 * The Snowflake half, applied from the deployed stack's outputs and the stage config.
 *
 *   pnpm snowflake:apply --stage dev [--dry-run] [--outputs .sst/outputs.json]
 *   pnpm snowflake:remove --stage dev [--dry-run] --yes
 *   pnpm snowflake:backfill (--stage dev | --twin) --from 2026-11-01 --to 2026-11-05 [--dry-run] [--json]
 *   pnpm snowflake:secret --stage dev --key-file rsa_key.p8 [--user U] [--passphrase-env VAR] [--dry-run]
 *
 * SQL goes through Snowflake's SQL API with key-pair JWT: as the user in the stage's secret
 * (snowflake.account) when the config names an account, else from the environment
 * (SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY,
 * SNOWFLAKE_PRIVATE_KEY_PASSPHRASE). See snowflake/README.md.
 */
import { join } from 'node:path';
import { parseCommandLine, usageError } from './args';

const USAGE = `Usage: pnpm snowflake:apply --stage STAGE [--dry-run] [--outputs FILE]
       pnpm snowflake:remove --stage STAGE (--yes | --dry-run)
       pnpm snowflake:backfill (--stage STAGE | --twin) --from DATE --to DATE [--dry-run] [--json]
       pnpm snowflake:secret --stage STAGE --key-file FILE [--user USER] [--passphrase-env VAR] [--region REGION] [--dry-run]

apply runs the SQL migrations in snowflake/ that the stage has not run yet (each once,
recorded in MIGRATION_HISTORY in its schema), rendered from its stack outputs and
config/<stage>.json, and stores Snowflake's IAM user, the pipe's queue and the
notification integrations' external IDs in Parameter Store
(/snowgate/<stage>/snowflake/wiring), where every later sst deploy of the stage reads
them, and in config/<stage>.snowflake.json. remove drops
what apply created (the database, schema and warehouse stay; on a production stage
RAW_EVENTS and its data stay too). backfill loads the landing files of a window of
UTC days that nothing loaded and that ALTER PIPE … REFRESH no longer reaches (older
than 7 days), with COPY INTO … FILES in chunks of 1,000; a file with rows in
RAW_EVENTS or a load in COPY_HISTORY is never loaded again. secret stores a Snowflake
user's key pair in the Secrets Manager secret named by the stage's
snowflake.account.secretName, as {"user","private_key"[,"key_passphrase"]} (created,
or a new version), and prints the public key's fingerprint, to compare with DESC USER's
RSA_PUBLIC_KEY_FP; it never prints the key.

Options:
  --stage STAGE     the stage deployed with sst deploy --stage STAGE (required)
  --dry-run         print every migration's SQL; no connection (secret: check the key
                    and print its fingerprint; no call to Secrets Manager)
  --outputs FILE    the stack outputs (default .sst/outputs.json)
  --region REGION   the stage's AWS region, for Parameter Store and Secrets Manager
                    (default: the AWS SDK's)
  --yes             remove: confirm the drop (RAW_EVENTS and its data go, except on
                    a production stage)
  --from DATE       backfill: the first day (YYYY-MM-DD, UTC) of landing files
  --to DATE         backfill: the last day, included
  --json            backfill: print the outcome as JSON
  --twin            backfill: on the local twin (stopped) instead of Snowflake
  --data-dir DIR    backfill --twin: the twin's data dir (default $SNOWGATE_DATA_DIR or .snowgate)
  --key-file FILE   secret: the private key, PKCS#8 PEM (BEGIN PRIVATE KEY, or
                    BEGIN ENCRYPTED PRIVATE KEY with --passphrase-env)
  --user USER       secret: the Snowflake user the public key is registered to
                    (default: the user the secret already holds)
  --passphrase-env VAR
                    secret: the environment variable holding an encrypted key's
                    passphrase (never the passphrase itself on the command line)
  -h, --help        print this help

Connection (Snowflake's SQL API, key-pair only; see snowflake/README.md): a stage whose
config has snowflake.account signs in as the user in its secret (pnpm snowflake:secret);
any other from the environment:
  SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER, SNOWFLAKE_PRIVATE_KEY_PATH or SNOWFLAKE_PRIVATE_KEY,
  SNOWFLAKE_PRIVATE_KEY_PASSPHRASE

Examples:
  pnpm snowflake:apply --stage dev --dry-run
  pnpm snowflake:backfill --stage prod --from 2026-11-01 --to 2026-11-05 --dry-run
  pnpm snowflake:secret --stage dev --key-file rsa_key.p8 --user SNOWGATE_DEPLOY`;

const root = new URL('../', import.meta.url).pathname;
const COMMAND = 'pnpm snowflake';
const { values, positionals } = parseCommandLine(COMMAND, USAGE, {
  allowPositionals: true,
  options: {
    stage: { type: 'string' },
    'dry-run': { type: 'boolean', default: false },
    outputs: { type: 'string' },
    region: { type: 'string' },
    yes: { type: 'boolean', default: false },
    from: { type: 'string' },
    to: { type: 'string' },
    json: { type: 'boolean', default: false },
    twin: { type: 'boolean', default: false },
    'data-dir': { type: 'string' },
    'key-file': { type: 'string' },
    user: { type: 'string' },
    'passphrase-env': { type: 'string' },
  },
});

if (positionals[0] === 'secret') {
  await storeSecret();
  process.exit();
}

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

// Loaded after the arguments: the AWS SDK is slow to load, --help should not be.
const { loadStageConfig } = await import('@snowgate/config/files');
const { applySnowflake, readStackOutputs, removeSnowflake, snowflakeVariables, ssmWiringStore } = await import('@snowgate/snowflake');
const { SSMClient } = await import('@aws-sdk/client-ssm');

try {
  const command = positionals[0];
  if (command !== 'apply' && command !== 'remove')
    throw new Error(
      'apply, remove, backfill or secret? (pnpm snowflake:apply / snowflake:remove / snowflake:backfill / snowflake:secret; see --help)',
    );
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
    connect: () => connect(config),
  };
  if (command === 'apply') await applySnowflake(options);
  else await removeSnowflake(options);
} catch (error) {
  console.error(`snowflake: ${(error as Error).message}`);
  process.exitCode = 1;
}

async function backfillOnSnowflake(stage: string, from: string, to: string) {
  const { loadStageConfig } = await import('@snowgate/config/files');
  const { apiSession, backfillSnowflake, readStackOutputs, snowflakeVariables } = await import('@snowgate/snowflake');
  const config = loadStageConfig(stage, join(root, 'config'));
  const variables = snowflakeVariables(stage, config, readStackOutputs(stage, values.outputs ?? join(root, '.sst/outputs.json')));
  // Listing and comparing need the connection even on a dry run; only the COPY statements are left out.
  const session = apiSession(await connect(config), { role: variables.admin_role });
  return backfillSnowflake(session, variables, {
    window: { from, to },
    dryRun: values['dry-run'],
    print: (text) => (values.json ? console.error(text) : console.log(text)),
  });
}

/** The SQL API client for a stage: the key from its secret (snowflake.account) or from the environment. */
async function connect(config: import('@snowgate/config').StageConfig) {
  const { connectSqlApi } = await import('@snowgate/snowflake');
  const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  const { sql, from } = await connectSqlApi(config, {
    secretsManager: () => new SecretsManagerClient(values.region ? { region: values.region } : {}),
  });
  console.error(`snowflake: connecting as ${from}`);
  return sql;
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

/** pnpm snowflake:secret: bad input (arguments, key file, stage config) is one line and exit 2; a failed AWS call exit 1. */
async function storeSecret() {
  const { existsSync, readFileSync } = await import('node:fs');
  const stage = values.stage;
  const keyFile = values['key-file'];
  if (!stage) usageError(COMMAND, '--stage STAGE is required (the stage whose snowflake.account.secretName holds the key)');
  if (!keyFile) usageError(COMMAND, '--key-file FILE is required (the private key, PKCS#8 PEM)');
  if (!existsSync(keyFile)) usageError(COMMAND, `--key-file ${keyFile}: no such file`);
  const variable = values['passphrase-env'];
  const passphrase = variable === undefined ? undefined : process.env[variable];
  if (variable !== undefined && !passphrase) usageError(COMMAND, `--passphrase-env ${variable}: that environment variable is not set`);
  const { loadStageConfig } = await import('@snowgate/config/files');
  const { KeySecretInputError, storeKeySecret } = await import('@snowgate/snowflake');
  const { SecretsManagerClient } = await import('@aws-sdk/client-secrets-manager');
  try {
    const config = loadStageConfig(stage, join(root, 'config'));
    await storeKeySecret({
      stage,
      config,
      privateKey: readFileSync(keyFile, 'utf8'),
      passphrase,
      user: values.user,
      secretsManager: new SecretsManagerClient(values.region ? { region: values.region } : {}),
      dryRun: values['dry-run'],
      print: (line) => console.log(line),
    });
  } catch (error) {
    if (error instanceof KeySecretInputError) usageError(COMMAND, error.message);
    console.error(`snowflake: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
