import { ArnFormat, Duration, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kinesis from 'aws-cdk-lib/aws-kinesis';
import * as firehose from 'aws-cdk-lib/aws-kinesisfirehose';
import * as logs from 'aws-cdk-lib/aws-logs';
import { use, type StackContext } from 'sst/constructs';
import { stageConfig } from './config';
import { objectsUnderPrefix, suppress } from './nag';
import { Storage } from './Storage';

/**
 * What a shared-throughput reader of the stream needs: Firehose, and the stream consumer's event source mapping.
 * https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html
 */
export const KINESIS_READ_ACTIONS = [
  'kinesis:DescribeStream',
  'kinesis:DescribeStreamSummary',
  'kinesis:GetShardIterator',
  'kinesis:GetRecords',
  'kinesis:ListShards',
] as const;

/** The Kinesis stream the handler writes to, and the Firehose that batches it into NDJSON files in the landing bucket. */
export function Stream({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const { landing } = use(Storage);

  const stream = new kinesis.Stream(stack, 'Events', {
    ...(config.stream.mode === 'on-demand'
      ? { streamMode: kinesis.StreamMode.ON_DEMAND }
      : { streamMode: kinesis.StreamMode.PROVISIONED, shardCount: config.stream.shards }),
    retentionPeriod: Duration.hours(config.streamRetentionHours),
    encryption: kinesis.StreamEncryption.MANAGED,
    removalPolicy: config.production ? RemovalPolicy.RETAIN : RemovalPolicy.DESTROY,
  });

  const logGroup = new logs.LogGroup(stack, 'FirehoseLogs', {
    retention: config.lambda.logRetentionDays as logs.RetentionDays,
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const logStream = new logs.LogStream(stack, 'FirehoseS3Delivery', { logGroup, removalPolicy: RemovalPolicy.DESTROY });

  const role = new iam.Role(stack, 'FirehoseRole', {
    assumedBy: new iam.ServicePrincipal('firehose.amazonaws.com', { conditions: { StringEquals: { 'sts:ExternalId': stack.account } } }),
    description: 'Firehose reads the events stream and writes the landing bucket',
  });
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: [...KINESIS_READ_ACTIONS],
      resources: [stream.streamArn],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['s3:GetBucketLocation', 's3:ListBucket', 's3:ListBucketMultipartUploads'],
      resources: [landing.bucketArn],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['s3:PutObject', 's3:AbortMultipartUpload'],
      resources: [landing.arnForObjects(`${config.firehose.prefix}*`), landing.arnForObjects(`${config.firehose.errorPrefix}*`)],
    }),
  );
  role.addToPolicy(
    new iam.PolicyStatement({
      actions: ['logs:PutLogEvents'],
      resources: [
        stack.formatArn({
          service: 'logs',
          resource: 'log-group',
          resourceName: `${logGroup.logGroupName}:log-stream:${logStream.logStreamName}`,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
    }),
  );

  const delivery = new firehose.CfnDeliveryStream(stack, 'ToLanding', {
    deliveryStreamType: 'KinesisStreamAsSource',
    kinesisStreamSourceConfiguration: { kinesisStreamArn: stream.streamArn, roleArn: role.roleArn },
    extendedS3DestinationConfiguration: {
      bucketArn: landing.bucketArn,
      roleArn: role.roleArn,
      // Dated by arrival hour (UTC), the layout Snowpipe and lifecycle rules expect.
      prefix: `${config.firehose.prefix}!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/`,
      errorOutputPrefix: `${config.firehose.errorPrefix}!{firehose:error-output-type}/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/`,
      bufferingHints: { sizeInMBs: config.firehose.bufferSizeMiB, intervalInSeconds: config.firehose.bufferIntervalSeconds },
      // GZIP by default: Snowpipe's file format reads it (COMPRESSION = AUTO) and bills the same uncompressed bytes.
      compressionFormat: config.firehose.compression,
      // Records on the stream carry no trailing newline; this makes each file NDJSON.
      processingConfiguration: {
        enabled: true,
        processors: [{ type: 'AppendDelimiterToRecord', parameters: [{ parameterName: 'Delimiter', parameterValue: '\\n' }] }],
      },
      cloudWatchLoggingOptions: { enabled: true, logGroupName: logGroup.logGroupName, logStreamName: logStream.logStreamName },
    },
  });
  // The role's policy must exist before Firehose first reads the stream.
  delivery.node.addDependency(role);

  suppress(role, [
    objectsUnderPrefix(config.firehose.prefix, 'Firehose writes new objects with generated names under the landing prefix only'),
    objectsUnderPrefix(config.firehose.errorPrefix, 'Firehose writes failed records with generated names under its error prefix only'),
  ]);
  suppress(delivery, [
    {
      id: 'AwsSolutions-KDF1',
      reason:
        'Delivery-stream SSE is not available with a Kinesis stream as source; records are encrypted at rest in the stream (KMS) and in the bucket (SSE-S3)',
    },
  ]);

  stack.addOutputs({ StreamName: stream.streamName, FirehoseName: delivery.ref });
  return { stream, delivery, firehoseRole: role };
}
