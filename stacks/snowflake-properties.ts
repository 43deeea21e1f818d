import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StageConfig } from '@snowgate/config';
import { migrationFiles, SNOWFLAKE_DIR, snowflakeVariables, type SnowflakeVariables, type StackOutputs } from '@snowgate/snowflake';
import { Token } from 'aws-cdk-lib';

/** IAM's limit on a role name. https://docs.aws.amazon.com/IAM/latest/APIReference/API_CreateRole.html */
export const IAM_ROLE_NAME_MAX = 64;

/**
 * A role name fixed in advance, so that its ARN is a plain string before the role exists:
 * Snowflake's integrations are created with it, and the role then trusts the IAM user they
 * name (the order Snowflake-Labs' Terraform modules use). Unique per app, stage and region
 * (IAM names are account-wide); a name over IAM's 64 characters keeps its start and ends
 * with a hash of the whole, so that two long stages never share one.
 *
 * @example
 * fixedRoleName('snowgate', 'dev', 'eu-west-1', 'sf-s3') // → 'snowgate-dev-eu-west-1-sf-s3'
 */
export function fixedRoleName(app: string, stage: string, region: string, purpose: string): string {
  const name = `${app}-${stage}-${region}-${purpose}`;
  if (name.length <= IAM_ROLE_NAME_MAX) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 8);
  return `${name.slice(0, IAM_ROLE_NAME_MAX - hash.length - 1)}-${hash}`;
}

export interface MigrationChecksum {
  file: string;
  /** sha256 of the file as committed, hex. */
  checksum: string;
}

/**
 * Each migration's name and sha256, in the order they run: the custom resource's `Migrations`
 * property. A new or changed file changes the property, so CloudFormation sends an Update;
 * nothing new, no Update, and nothing runs on Snowflake.
 */
export function migrationChecksums(dir = join(SNOWFLAKE_DIR, 'migrations')): MigrationChecksum[] {
  return migrationFiles(dir).map((file) => ({
    file,
    checksum: createHash('sha256')
      .update(readFileSync(join(dir, file)))
      .digest('hex'),
  }));
}

/** One checksum of them all: the Link resource's `Nonce`, so that it validates and refreshes again after any migration. */
export function migrationsNonce(migrations: MigrationChecksum[]): string {
  return createHash('sha256')
    .update(migrations.map((m) => `${m.file}:${m.checksum}`).join('\n'))
    .digest('hex');
}

/** The SQL variables of the load-error integration, and what the stack passes that only exists at deploy time. */
export type ResourceVariables = SnowflakeVariables & { error_integration: string; error_topic_arn: string };

/** What the stack knows of the values `snowflakeVariables` takes from a deployed stack's outputs. */
export type StackValues = StackOutputs & { SnowflakeErrorTopicArn: string };

/**
 * The `Variables` of `Custom::SnowflakeObjects`: the SQL variables `pnpm snowflake:apply` would
 * render with (`snowflakeVariables`, the same names and checks), from the stack's values instead
 * of its outputs. Values that exist only at deploy time (the bucket's and the topics' names are
 * CloudFormation references) are checked in a stand-in's shape, then put back as references.
 */
export function resourceVariables(stage: string, config: StageConfig, values: StackValues): ResourceVariables {
  const standIns: Record<string, string> = {
    SnowflakeStageUrl: `s3://deploy-time-bucket/${config.firehose.prefix}`,
    AlarmTopic: 'arn:aws:sns:us-east-1:000000000000:deploy-time-topic',
    SnowflakeErrorTopicArn: 'arn:aws:sns:us-east-1:000000000000:deploy-time-topic',
  };
  const checked = Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, Token.isUnresolved(value) ? (standIns[key] ?? value) : value]),
  ) as StackValues;
  const STAGE = stage.toUpperCase().replace(/[^A-Z0-9_]/g, '_');
  return {
    // Named by `snowflakeVariables` once it knows the load-error integration; until then, its name here.
    error_integration: `SNOWGATE_${STAGE}_LOAD_ERRORS`,
    ...snowflakeVariables(stage, config, checked),
    stage_url: values.SnowflakeStageUrl,
    alert_topic_arn: values.AlarmTopic,
    error_topic_arn: values.SnowflakeErrorTopicArn,
  };
}
