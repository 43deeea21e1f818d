/**
 * Writes the CloudFormation templates that `sst deploy --stage <stage>` would
 * deploy, without AWS credentials, and checks them with cdk-nag.
 *
 *   pnpm synth                       # stage "dev", into cdk.out/dev
 *   pnpm synth --stage prod --out /tmp/prod
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { streamingAccount, type StageConfig } from '@snowgate/config';
import { loadStageConfig } from '@snowgate/config/files';
import { ConfigError } from '@snowgate/core';
import { parseCommandLine } from './args';

const USAGE = `Usage: pnpm synth [--stage STAGE] [--out DIR]

Writes the CloudFormation templates that sst deploy --stage STAGE would deploy,
offline (no AWS credentials), and checks them with cdk-nag (exit 1 on an error).
Without snowflake.account, Snowflake's wiring comes from config/<stage>.snowflake.json
only: sst deploy also reads Parameter Store (/snowgate/<stage>/snowflake/wiring), which
is not reachable offline, so an applied stage deploys wired even where this shows it
unwired. With snowflake.account the deploy wires Snowpipe itself.

Options:
  --stage STAGE   the stage whose config/<stage>.json to synthesize (default dev)
  --out DIR       where to write the templates (default cdk.out/<stage>)
  -h, --help      print this help

Example:
  pnpm synth --stage prod --out /tmp/prod`;

const { values } = parseCommandLine('pnpm synth', USAGE, {
  options: { stage: { type: 'string', default: 'dev' }, out: { type: 'string' } },
});
const stage = values.stage!;
// Read before CDK loads (seconds): a bad config stops at once, its problems a line each.
let config: StageConfig;
try {
  config = loadStageConfig(stage);
  // What only a deploy needs (the twin streams without an account), said before CDK loads as well.
  if (config.delivery.mode === 'streaming') streamingAccount(config);
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  console.error(`pnpm synth: ${error.message}`);
  process.exit(2);
}
// Loaded after the arguments: CDK takes seconds to load, --help should not.
const { synthesize } = await import('../stacks/synth');
const { snowflakeWiringParameter } = await import('@snowgate/config');
const out = resolve(values.out ?? `cdk.out/${stage}`);
mkdirSync(out, { recursive: true });

const result = await synthesize(stage, config);
let errors = 0;
for (const [name, template] of Object.entries(result.templates)) {
  const file = resolve(out, `${result.stacks[name as keyof typeof result.stacks].stackName}.template.json`);
  writeFileSync(file, JSON.stringify(template.toJSON(), null, 2));
  const resources = Object.keys(template.toJSON().Resources ?? {}).length;
  const nag = result.nagErrors[name as keyof typeof result.nagErrors];
  errors += nag.length;
  console.log(`${name.padEnd(10)} ${String(resources).padStart(3)} resources  ${file}`);
  for (const e of nag) console.log(`  cdk-nag error: ${e}`);
}
writeFileSync(resolve(out, 'cdk-nag.json'), JSON.stringify({ errors: result.nagErrors, warnings: result.nagWarnings }, null, 2));
const { iamUserArn, notificationChannelArn, account } = config.snowflake;
console.log(
  account
    ? `\nSnowflake account ${account.identifier}: sst deploy runs the SQL in snowflake/ through the SQL API (key in Secrets Manager ${account.secretName}) and wires Snowpipe from what it reads back (Custom::SnowflakeObjects, Custom::SnowflakeLink in the Snowflake stack)`
    : iamUserArn
      ? `\nSnowpipe wiring: from config/${stage}.snowflake.json (${notificationChannelArn ? 'trust and notification' : 'trust only'}); sst deploy checks it against Parameter Store ${snowflakeWiringParameter(stage)}`
      : `\nSnowpipe wiring: none in config/ (the role trusts this account only, no bucket notification). sst deploy also reads Parameter Store ${snowflakeWiringParameter(stage)}, where pnpm snowflake:apply keeps it: not reachable offline`,
);
console.log(`Templates for stage "${stage}" are in ${out}`);
console.log(errors === 0 ? 'cdk-nag AwsSolutions: no unsuppressed errors' : `cdk-nag AwsSolutions: ${errors} unsuppressed error(s)`);
process.exit(errors === 0 ? 0 : 1);
