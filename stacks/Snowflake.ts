import { Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import { use, type StackContext } from 'sst/constructs';
import { stageConfig } from './config';
import { objectsUnderPrefix, suppress } from './nag';
import { Storage } from './Storage';

/**
 * The AWS half of Snowflake's access: a role that Snowflake's IAM user assumes
 * with the fixed external ID, reading only the landing prefix; and, once the
 * pipe's queue is known, the bucket notification that feeds it.
 * https://docs.snowflake.com/en/user-guide/data-load-s3-config-storage-integration
 */
export function Snowflake({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const { landing } = use(Storage);
  const prefix = config.firehose.prefix;

  // Until `snowflake:apply` has read Snowflake's IAM user, only this account may assume the role
  // (Snowflake's documented first step); the next deploy names the user.
  const principal = config.snowflake.iamUserArn ? new iam.ArnPrincipal(config.snowflake.iamUserArn) : new iam.AccountRootPrincipal();
  const role = new iam.Role(stack, 'SnowflakeRole', {
    assumedBy: principal,
    externalIds: [config.snowflake.externalId],
    description: 'Assumed by the Snowflake storage integration to read landed files',
  });
  role.addToPolicy(
    new iam.PolicyStatement({ actions: ['s3:GetObject', 's3:GetObjectVersion'], resources: [landing.arnForObjects(`${prefix}*`)] }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['s3:ListBucket'],
      resources: [landing.bucketArn],
      conditions: { StringLike: { 's3:prefix': [`${prefix}*`] } },
    }),
  );
  role.addToPolicy(new iam.PolicyStatement({ actions: ['s3:GetBucketLocation'], resources: [landing.bucketArn] }));

  suppress(role, [objectsUnderPrefix(prefix, 'Snowflake reads every landed file under the landing prefix, and nothing else')]);

  if (config.snowflake.notificationChannelArn) {
    const queueRegion = config.snowflake.notificationChannelArn.split(':')[3];
    if (!Token.isUnresolved(stack.region) && queueRegion !== stack.region) {
      throw new Error(
        `the pipe's queue is in ${queueRegion}, the landing bucket in ${stack.region}: S3 notifies only queues in its own region`,
      );
    }
    const queue = sqs.Queue.fromQueueArn(stack, 'SnowpipeQueue', config.snowflake.notificationChannelArn);
    landing.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(queue), { prefix });
  }

  stack.addOutputs({
    SnowflakeRoleArn: role.roleArn,
    SnowflakeExternalId: config.snowflake.externalId,
    SnowflakeStageUrl: `s3://${landing.bucketName}/${prefix}`,
    SnowpipeNotification: config.snowflake.notificationChannelArn ?? 'not yet: run pnpm snowflake:apply, then sst deploy',
  });
  return { snowflakeRole: role };
}
