import type { StageConfig } from '@snowgate/config';
import { ArnFormat, CustomResource, Duration, Token } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as s3n from 'aws-cdk-lib/aws-s3-notifications';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as cr from 'aws-cdk-lib/custom-resources';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { Function as SstFunction, use, type StackContext } from 'sst/constructs';
import { Alarms } from './Alarms';
import { lambdaNodejs } from './bundling';
import { stageConfig } from './config';
import { LAMBDA_RUNTIME, RETENTION } from './Ingest';
import { BASIC_EXECUTION, objectsUnderPrefix, suppress } from './nag';
import { migrationChecksums } from '@snowgate/snowflake';
import { fixedRoleName, migrationsNonce, resourceVariables } from './snowflake-properties';
import { Storage } from './Storage';

/**
 * How long the Provider waits for `isComplete` (the storage integration validating while IAM
 * propagates) before CloudFormation is told the resource failed. IAM usually settles in seconds,
 * sometimes minutes; the Provider allows up to 2 hours.
 */
const LINK_TOTAL_TIMEOUT = Duration.minutes(20);
/** How often the Provider asks `isComplete` again. */
const LINK_QUERY_INTERVAL = Duration.seconds(10);

/**
 * The AWS half of Snowflake's access: a role that Snowflake's IAM user assumes with the
 * fixed external ID, reading only the landing prefix; and the landing prefix's notification
 * to the pipe's queue.
 * https://docs.snowflake.com/en/user-guide/data-load-s3-config-storage-integration
 *
 * With `snowflake.account`, the deploy also does the Snowflake half (custom resources, below);
 * without, `pnpm snowflake:apply` does it and the wiring comes from Parameter Store.
 */
export function Snowflake({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const { landing } = use(Storage);
  const prefix = config.firehose.prefix;

  // What the storage role may do, on either path: read the landing prefix, nothing else.
  const readLanding = (role: iam.Role) => {
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
  };
  const stageUrl = `s3://${landing.bucketName}/${prefix}`;

  if (config.snowflake.account) return managedByDeploy(stack, app, config, config.snowflake.account, landing, readLanding, stageUrl);

  // Until `snowflake:apply` has read Snowflake's IAM user, only this account may assume the role
  // (Snowflake's documented first step); the next deploy names the user.
  const principal = config.snowflake.iamUserArn ? new iam.ArnPrincipal(config.snowflake.iamUserArn) : new iam.AccountRootPrincipal();
  const role = new iam.Role(stack, 'SnowflakeRole', {
    assumedBy: principal,
    externalIds: [config.snowflake.externalId],
    description: 'Assumed by the Snowflake storage integration to read landed files',
  });
  readLanding(role);

  if (config.snowflake.notificationChannelArn && config.delivery.mode === 'files') {
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
    SnowflakeStageUrl: stageUrl,
    SnowpipeNotification: config.snowflake.notificationChannelArn ?? 'not yet: run pnpm snowflake:apply, then sst deploy',
  });
  return { snowflakeRole: role };
}

/**
 * Both halves in one deploy. `Custom::SnowflakeObjects` runs the migrations through Snowflake's
 * SQL API with roles named in advance, and answers what Snowflake made: its IAM user, the external
 * IDs, the pipe's queue. The roles then trust that user, the landing prefix notifies that queue,
 * and only then `Custom::SnowflakeLink` waits for the integration to validate and loads what
 * landed before the pipe was fed. No reference runs backwards, so there is no cycle.
 */
function managedByDeploy(
  stack: StackContext['stack'],
  app: StackContext['app'],
  config: StageConfig,
  account: NonNullable<StageConfig['snowflake']['account']>,
  landing: s3.IBucket,
  readLanding: (role: iam.Role) => void,
  stageUrl: string,
) {
  const { topic, loadErrors } = use(Alarms);
  const region = stack.region;
  if (Token.isUnresolved(region) || Token.isUnresolved(stack.account)) {
    throw new Error("a stage with snowflake.account needs the stack's account and region at synth: its roles' ARNs are named in advance");
  }
  const partition = RegionInfo.get(region).partition ?? 'aws';
  const roleArn = (name: string) => `arn:${partition}:iam::${stack.account}:role/${name}`;
  const storageRoleName = fixedRoleName(app.name, app.stage, region, 'sf-s3');
  const alertRoleName = fixedRoleName(app.name, app.stage, region, 'sf-sns');

  const variables = resourceVariables(app.stage, config, {
    SnowflakeRoleArn: roleArn(storageRoleName),
    SnowflakeExternalId: config.snowflake.externalId,
    SnowflakeStageUrl: stageUrl,
    AlarmTopic: topic.topicArn,
    SnowflakeAlertRoleArn: roleArn(alertRoleName),
    SnowflakeErrorTopicArn: loadErrors.topicArn,
  });

  // The key pair stays in Secrets Manager: the handlers read this one secret by name, and nothing
  // about it but its ARN appears in a property, a response or a log. (`-??????` is the random suffix
  // Secrets Manager appends to a secret's ARN.)
  const secretArn = stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: account.secretName,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const handler = (name: 'onEvent' | 'isComplete', timeout: number, description: string) => {
    const fn = new SstFunction(stack, `SnowflakeResource${name === 'onEvent' ? 'OnEvent' : 'IsComplete'}Fn`, {
      handler: `packages/functions/src/snowflake-resource.${name}`,
      description,
      runtime: LAMBDA_RUNTIME,
      architecture: 'arm_64',
      memorySize: 256,
      timeout,
      logRetention: RETENTION[config.lambda.logRetentionDays],
      nodejs: lambdaNodejs(),
      tracing: 'disabled',
      // The migrations and the teardown travel with the handler (SNOWGATE_SNOWFLAKE_DIR, relative to its task root).
      copyFiles: [{ from: 'snowflake/migrations' }, { from: 'snowflake/teardown.sql' }],
      environment: { SNOWGATE_SNOWFLAKE_DIR: 'snowflake', POWERTOOLS_SERVICE_NAME: 'snowgate-snowflake-resource' },
      permissions: [new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [`${secretArn}-??????`] })],
    });
    suppress(fn, [BASIC_EXECUTION]);
    return fn;
  };
  // onEvent runs the migrations (Objects) or starts the link; isComplete asks once per call whether the integration validates.
  const provider = new cr.Provider(stack, 'SnowflakeProvider', {
    onEventHandler: handler('onEvent', 600, 'Custom::SnowflakeObjects and SnowflakeLink: runs the SQL in snowflake/ through the SQL API'),
    isCompleteHandler: handler('isComplete', 120, 'Custom::SnowflakeLink: validates the storage integration, then refreshes the pipe'),
    queryInterval: LINK_QUERY_INTERVAL,
    totalTimeout: LINK_TOTAL_TIMEOUT,
    logRetention: RETENTION_DAYS[config.lambda.logRetentionDays],
  });
  suppressProviderFindings(provider);

  const accountProperty = {
    identifier: account.identifier,
    url: account.url,
    secretArn,
    ...(account.warehouse ? { warehouse: account.warehouse } : {}),
  };
  const migrations = migrationChecksums();
  const objects = new CustomResource(stack, 'SnowflakeObjects', {
    serviceToken: provider.serviceToken,
    resourceType: 'Custom::SnowflakeObjects',
    properties: {
      Stage: app.stage,
      Production: String(config.production),
      Account: accountProperty,
      Variables: variables,
      Migrations: migrations,
    },
  });
  const iamUser = new iam.ArnPrincipal(objects.getAttString('IamUserArn'));

  const role = new iam.Role(stack, 'SnowflakeRole', {
    roleName: storageRoleName,
    assumedBy: iamUser,
    externalIds: [objects.getAttString('StorageExternalId')],
    description: 'Assumed by the Snowflake storage integration to read landed files',
  });
  readLanding(role);

  // The freshness alert (V1.6.0) and the pipe's load errors (V1.7.0) publish through two notification
  // integrations, each with its own external ID, as this one role.
  const alertRole = new iam.Role(stack, 'SnowflakeAlertRole', {
    roleName: alertRoleName,
    assumedBy: iamUser,
    externalIds: [objects.getAttString('AlertExternalId'), objects.getAttString('ErrorExternalId')],
    description: 'Assumed by the Snowflake notification integrations to publish load alerts and load errors',
  });
  topic.grantPublish(alertRole);
  loadErrors.grantPublish(alertRole);

  const notificationChannel = objects.getAttString('NotificationChannelArn');
  const link = new CustomResource(stack, 'SnowflakeLink', {
    serviceToken: provider.serviceToken,
    resourceType: 'Custom::SnowflakeLink',
    properties: {
      Account: accountProperty,
      // The role that created the integration and the pipe: validating needs USAGE on the one, refreshing owns the other.
      Role: variables.admin_role,
      Integration: variables.integration,
      StageUrl: variables.stage_url,
      Pipe: `${variables.database}.${variables.schema}.${variables.pipe}`,
      Mode: config.delivery.mode,
      Nonce: migrationsNonce(migrations),
    },
  });
  link.node.addDependency(role, alertRole);

  // In `streaming` the rows arrive through Snowpipe Streaming, and the landing files are the archive: the
  // auto-ingest pipe must not load them a second time, so nothing notifies it.
  if (config.delivery.mode === 'files') {
    // The landing bucket seen from this stack: its notification lives here, beside the queue it names (the
    // Storage stack cannot refer to this one's resources without a cycle). CDK merges it with the bucket's
    // other notifications instead of replacing them, as for any bucket it did not create.
    const bucket = s3.Bucket.fromBucketAttributes(stack, 'LandingBucket', { bucketArn: landing.bucketArn });
    const queue = sqs.Queue.fromQueueArn(stack, 'SnowpipeQueue', notificationChannel);
    bucket.addEventNotification(s3.EventType.OBJECT_CREATED, new s3n.SqsDestination(queue), { prefix: config.firehose.prefix });
    link.node.addDependency(bucket);
  }

  stack.addOutputs({
    SnowflakeRoleArn: role.roleArn,
    SnowflakeExternalId: config.snowflake.externalId,
    SnowflakeStageUrl: stageUrl,
    SnowpipeNotification: config.delivery.mode === 'files' ? notificationChannel : 'none: delivery.mode streaming',
    SnowflakeAlertRoleArn: alertRole.roleArn,
    SnowflakeObjects: objects.ref,
  });
  return { snowflakeRole: role };
}

const RETENTION_DAYS = {
  7: logs.RetentionDays.ONE_WEEK,
  14: logs.RetentionDays.TWO_WEEKS,
  30: logs.RetentionDays.ONE_MONTH,
  90: logs.RetentionDays.THREE_MONTHS,
  365: logs.RetentionDays.ONE_YEAR,
} as const;

/** The Provider's own framework (three Lambdas and a Step Functions waiter): CDK writes their code, runtime and policies. */
function suppressProviderFindings(provider: cr.Provider): void {
  suppress(provider, [
    { ...BASIC_EXECUTION, reason: "The custom resource Provider's framework Lambdas: the managed policy only writes their logs" },
    { id: 'AwsSolutions-L1', reason: "The custom resource Provider's framework Lambdas: CDK sets their runtime" },
    {
      id: 'AwsSolutions-IAM5',
      reason: "The Provider's framework invokes its own functions and the two handlers, any version of each (the ':*' CDK adds)",
      appliesTo: [{ regex: '/^Resource::<[A-Za-z0-9]+\\.Arn>:\\*$/g' }],
    },
    { id: 'AwsSolutions-SF1', reason: "The Provider's waiter state machine only retries isComplete; its Lambdas log every attempt" },
    { id: 'AwsSolutions-SF2', reason: 'The waiter state machine runs for one deploy; X-Ray is off throughout the app (no wildcard grant)' },
  ]);
}
