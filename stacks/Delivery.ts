import { streamConsumerEnvironment } from '@snowgate/config';
import { ArnFormat, Duration } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { Function as SstFunction, use, type StackContext } from 'sst/constructs';
import { lambdaNodejs } from './bundling';
import { stageConfig } from './config';
import { LAMBDA_RUNTIME, RETENTION } from './Ingest';
import { BASIC_EXECUTION, suppress } from './nag';
import { KINESIS_READ_ACTIONS, Stream } from './Stream';

/**
 * Delivery mode `streaming` (docs/CONFIGURATION.md, "Delivery"): a consumer of the stream that appends each
 * event as a row to RAW_EVENTS through Snowpipe Streaming, one channel per shard, the shard's sequence number as
 * the channel's offset token (docs/decisions/027-streaming-delivery-exactly-once-per-channel.md). In `files`
 * this stack holds nothing of ours: Firehose's files and the auto-ingest pipe deliver. Firehose writes the
 * landing files in both modes (the archive, and replay's source).
 */
export function Delivery({ stack, app }: StackContext) {
  const config = stageConfig(app);
  if (config.delivery.mode !== 'streaming') return { consumer: undefined };
  const { stream } = use(Stream);
  const settings = config.delivery.streaming;
  // Throws a ConfigError naming snowflake.account when the stage has none: the consumer cannot sign in without it.
  const environment = streamConsumerEnvironment(app.stage, config);

  // The key-pair secret `pnpm snowflake:secret` stores: Secrets Manager appends six random characters to a
  // secret's name in its ARN, so a policy names it by the name and `-??????`.
  // https://docs.aws.amazon.com/secretsmanager/latest/userguide/auth-and-access_iam-policies.html
  const secretArn = stack.formatArn({
    service: 'secretsmanager',
    resource: 'secret',
    resourceName: `${environment.SNOWGATE_SNOWFLAKE_SECRET}-??????`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  const consumer = new SstFunction(stack, 'StreamConsumerFn', {
    runtime: LAMBDA_RUNTIME,
    architecture: 'arm_64',
    logRetention: RETENTION[config.lambda.logRetentionDays],
    nodejs: lambdaNodejs(),
    tracing: 'disabled',
    handler: 'packages/functions/src/stream-consumer.handler',
    description: 'Kinesis → Snowpipe Streaming: appends each event to RAW_EVENTS, one channel per shard',
    memorySize: settings.memoryMb,
    timeout: settings.timeoutSeconds,
    environment: { ...environment, POWERTOOLS_SERVICE_NAME: 'snowgate-stream-consumer', POWERTOOLS_LOG_LEVEL: 'INFO' },
    permissions: [
      // What a Kinesis event source mapping reads with the function's role (shared throughput, no enhanced fan-out).
      // https://docs.aws.amazon.com/lambda/latest/dg/services-kinesis-create.html
      new iam.PolicyStatement({ actions: [...KINESIS_READ_ACTIONS], resources: [stream.streamArn] }),
      new iam.PolicyStatement({ actions: ['secretsmanager:GetSecretValue'], resources: [secretArn] }),
    ],
  });

  // One invocation per shard at a time (parallelization 1), so that a channel's appends keep the shard's order and
  // its offset token only grows. A failed batch is retried from the first record the consumer did not append
  // (ReportBatchItemFailures), never split (bisecting would retry records out of order), and never given up while the
  // stream keeps it: retries and record age unlimited, so a Snowflake outage shows as a growing iterator age (alarmed)
  // and nothing is skipped. TRIM_HORIZON: a new mapping starts at the oldest record kept, so that nothing written
  // before it existed is missed (what was already loaded from files repeats rows, deduplicated by id in RAW_EVENTS_LATEST).
  // https://docs.aws.amazon.com/lambda/latest/dg/with-kinesis.html
  const mapping = consumer.addEventSourceMapping('FromStream', {
    eventSourceArn: stream.streamArn,
    startingPosition: lambda.StartingPosition.TRIM_HORIZON,
    batchSize: settings.batchSize,
    maxBatchingWindow: Duration.seconds(settings.batchWindowSeconds),
    parallelizationFactor: 1,
    bisectBatchOnError: false,
    reportBatchItemFailures: true,
    retryAttempts: -1,
  });
  // Infinite record age (-1), written out: CDK's Duration cannot be negative, and the template should say it.
  (mapping.node.defaultChild as lambda.CfnEventSourceMapping).maximumRecordAgeInSeconds = -1;
  // The role must read the stream before the mapping is created (Lambda checks it then).
  mapping.node.addDependency(consumer.role!);

  suppress(consumer, [
    BASIC_EXECUTION,
    {
      id: 'AwsSolutions-IAM5',
      reason: "The stage's Snowflake key secret, by name: Secrets Manager suffixes a secret's ARN with six random characters",
      appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:secretsmanager:.*:secret:.*-\\?\\?\\?\\?\\?\\?$/g' }],
    },
  ]);

  stack.addOutputs({ StreamConsumerFunction: consumer.functionName });
  return { consumer };
}
