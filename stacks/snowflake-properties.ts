import { createHash } from 'node:crypto';
import type { StageConfig } from '@snowgate/config';
import { snowflakeVariables, type SnowflakeVariables, type StackOutputs } from '@snowgate/snowflake';
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

/** One checksum of them all: the Link resource's `Nonce`, so that it validates and refreshes again after any migration. */
export function migrationsNonce(migrations: { file: string; checksum: string }[]): string {
  return createHash('sha256')
    .update(migrations.map((m) => `${m.file}:${m.checksum}`).join('\n'))
    .digest('hex');
}

/**
 * The `Variables` of `Custom::SnowflakeObjects`: the SQL variables `pnpm snowflake:apply` would
 * render with (`snowflakeVariables`, the same names and checks), from the stack's values instead
 * of its outputs. Values that exist only at deploy time (the bucket's and the topics' names are
 * CloudFormation references) are checked in a stand-in's shape, then put back as references.
 */
export function resourceVariables(stage: string, config: StageConfig, values: StackOutputs): SnowflakeVariables {
  const standIns: Partial<StackOutputs> = {
    SnowflakeStageUrl: `s3://deploy-time-bucket/${config.firehose.prefix}`,
    AlarmTopic: 'arn:aws:sns:us-east-1:000000000000:deploy-time-topic',
    SnowflakeErrorTopicArn: 'arn:aws:sns:us-east-1:000000000000:deploy-time-topic',
  };
  const checked = Object.fromEntries(
    Object.entries(values).map(([key, value]) => [key, Token.isUnresolved(value) ? (standIns[key as keyof StackOutputs] ?? value) : value]),
  ) as StackOutputs;
  return {
    ...snowflakeVariables(stage, config, checked),
    stage_url: values.SnowflakeStageUrl,
    alert_topic_arn: values.AlarmTopic,
    error_topic_arn: values.SnowflakeErrorTopicArn,
  };
}
