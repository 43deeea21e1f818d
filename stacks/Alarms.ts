import { METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from '@snowgate/functions/metrics';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { use, type StackContext } from 'sst/constructs';
import { stageConfig } from './config';
import { Delivery } from './Delivery';
import { Ingest } from './Ingest';
import { Stream } from './Stream';

/**
 * Alarms on what fails silently (the handler, its 500s, the API's 5xx, stream throttling and
 * lag, Firehose falling behind or not reading at all, a rising share of rejected
 * records, a file Snowpipe could not load), each notifying the stage's alarm topic(s),
 * and one CloudWatch dashboard of the whole pipeline.
 *
 * Missing data is chosen per alarm: most of these metrics exist only while there is
 * traffic, so silence is "nothing happened" (not breaching); the iterator age exists
 * as long as Firehose polls the stream, so its silence means Firehose stopped reading
 * (breaching).
 */
export function Alarms({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const { api, ingest } = use(Ingest);
  const { stream, delivery } = use(Stream);
  const { consumer } = use(Delivery);
  const period = Duration.minutes(5);

  const alarms = [
    ingest.metricErrors({ period }).createAlarm(stack, 'IngestErrors', {
      // Its own failures are answered 500 and counted in InternalErrors (below); this counts what it could not answer.
      alarmDescription:
        'The ingest Lambda failed without answering (a timeout, out of memory, a crash at start): API Gateway answered 500 and nothing in those requests was acknowledged',
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, // no invocations, no errors
    }),
    ingest.metricThrottles({ period }).createAlarm(stack, 'IngestThrottles', {
      alarmDescription: 'The ingest Lambda was throttled: raise its concurrency',
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, // no invocations, no throttles
    }),
    new cloudwatch.Metric({
      namespace: 'AWS/ApiGateway',
      metricName: '5xx',
      dimensionsMap: { ApiId: api.cdk.httpApi.apiId },
      statistic: 'Sum',
      period,
    }).createAlarm(stack, 'Api5xx', {
      alarmDescription: 'The API answered 5xx: producers are retrying (503) or the handler failed',
      threshold: 10,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, // no requests
    }),
    stream.metricPutRecordsThrottledRecords({ period, statistic: 'Sum' }).createAlarm(stack, 'StreamWriteThrottled', {
      alarmDescription: 'Kinesis throttled writes: add shards or use on-demand',
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, // no writes
    }),
    stream.metricGetRecordsIteratorAgeMilliseconds({ period, statistic: 'Maximum' }).createAlarm(stack, 'StreamIteratorAge', {
      alarmDescription:
        'Firehose is falling behind the stream, or no longer reads it (no data: its GetRecords calls stopped, e.g. a broken role or key). Records older than the stream retention are lost',
      threshold: config.alarms.iteratorAgeMs,
      evaluationPeriods: 2,
      // Firehose polls even an idle stream, and each poll reports an age: silence means nobody reads.
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    }),
    new cloudwatch.Metric({
      namespace: 'AWS/Firehose',
      metricName: 'DeliveryToS3.DataFreshness',
      dimensionsMap: { DeliveryStreamName: delivery.ref },
      statistic: 'Maximum',
      period,
    }).createAlarm(stack, 'FirehoseFreshness', {
      alarmDescription: 'The oldest record in Firehose is older than the threshold: deliveries to S3 are failing',
      threshold: config.alarms.dataFreshnessSeconds,
      evaluationPeriods: 2,
      // Reported only while Firehose holds records: an idle stage has none. StreamUnread covers a Firehose that reads nothing.
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
    // Records arrive on the stream and Firehose reads none of them: delivery has stopped before S3, and its own
    // metrics (freshness, delivery) fall silent rather than breach. Missing data here is a period with no input.
    new cloudwatch.MathExpression({
      expression: 'IF(incoming > 0 AND FILL(read, 0) == 0, 1, 0)',
      usingMetrics: {
        incoming: stream.metricIncomingRecords({ period, statistic: 'Sum' }),
        read: new cloudwatch.Metric({
          namespace: 'AWS/Firehose',
          metricName: 'DataReadFromKinesisStream.Records',
          dimensionsMap: { DeliveryStreamName: delivery.ref },
          statistic: 'Sum',
          period,
        }),
      },
      label: 'stream input unread by Firehose',
      period,
    }).createAlarm(stack, 'StreamUnread', {
      alarmDescription:
        'The stream receives records that Firehose does not read (its role, the stream key or the delivery stream is broken): nothing lands, and records older than the stream retention are lost',
      threshold: 1,
      evaluationPeriods: 2,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    }),
  ];

  // The ingest function's own metrics (EMF, packages/functions/src/metrics.ts), by stage.
  const own = (metricName: string, statistic = 'Sum') =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName,
      dimensionsMap: { service: METRICS_SERVICE, stage: app.stage },
      statistic,
      period,
    });
  const accepted = own(METRIC.accepted);
  const rejected = own(METRIC.rejected);
  const rejectionRate = new cloudwatch.MathExpression({
    // Below the minimum volume a few bad records are noise, not a broken producer.
    expression: `IF(accepted + rejected >= ${config.alarms.rejectionMinRecords}, rejected / (accepted + rejected), 0)`,
    usingMetrics: { accepted, rejected },
    label: 'rejected share',
    period,
  });
  alarms.push(
    own(METRIC.internalErrors).createAlarm(stack, 'IngestInternalErrors', {
      alarmDescription:
        'The ingest function answered 500: access denied (IAM or KMS), a missing stream or bucket, or a bug. A retry cannot succeed until it is fixed; the cause is in its log under the request id',
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, // the metric is emitted only on a 500
    }),
    rejectionRate.createAlarm(stack, 'RejectionRate', {
      alarmDescription: `More than ${config.alarms.rejectionRate * 100} % of the records were rejected in 5 minutes: a producer or a schema changed (see the quarantine, and pnpm replay)`,
      threshold: config.alarms.rejectionRate,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, // below the minimum volume, or no traffic
    }),
  );

  // Where Snowpipe reports a file it could not load: the pipe's ERROR_INTEGRATION publishes Snowflake's
  // error message (file, first error) here (V1.7.0__load_error_notifications.sql). Its own topic, so that
  // the alarm below counts only load errors; alarms.email reads the messages themselves.
  // https://docs.snowflake.com/en/user-guide/data-load-snowpipe-errors-sns
  const loadErrors = new sns.Topic(stack, 'LoadErrors', { enforceSSL: true });
  const loadErrorsPublished = loadErrors.metricNumberOfMessagesPublished({ period, statistic: 'Sum' });
  alarms.push(
    loadErrorsPublished.createAlarm(stack, 'SnowpipeLoadErrors', {
      alarmDescription:
        'Snowpipe could not load a file (ON_ERROR = SKIP_FILE skips it whole, and nothing retries it): its error is in the LoadErrors topic and in the LOAD_FAILURES view; see docs/TROUBLESHOOTING.md, When loads stop',
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, // nothing published, nothing failed
    }),
  );
  // Delivery mode `streaming`: the stream consumer (stacks/Delivery.ts). It retries a failed batch until the stream
  // drops it, so a consumer that cannot append (Snowflake down, a revoked key) shows as errors and a growing iterator
  // age, long before records expire. Both exist only while Lambda invokes it: an idle stream reports nothing.
  if (consumer) {
    alarms.push(
      consumer.metricErrors({ period }).createAlarm(stack, 'StreamConsumerErrors', {
        alarmDescription:
          'The stream consumer failed to append to Snowflake (unreachable, credentials, the pipe or a row refused): Lambda retries the batch; see its log',
        threshold: 1,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, // no invocations, no errors
      }),
      new cloudwatch.Metric({
        namespace: 'AWS/Lambda',
        metricName: 'IteratorAge',
        dimensionsMap: { FunctionName: consumer.functionName },
        statistic: 'Maximum',
        period,
      }).createAlarm(stack, 'StreamConsumerIteratorAge', {
        alarmDescription: `The stream consumer is falling behind: rows reach RAW_EVENTS late, and records older than the stream retention (${config.streamRetentionHours} h) are lost to it (catch up from the landing files: docs/TROUBLESHOOTING.md)`,
        threshold: config.alarms.iteratorAgeMs,
        evaluationPeriods: 2,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING, // reported per invocation only: no records, no age
      }),
    );
  }

  const apiMetric = (metricName: string, statistic = 'Sum') =>
    new cloudwatch.Metric({ namespace: 'AWS/ApiGateway', metricName, dimensionsMap: { ApiId: api.cdk.httpApi.apiId }, statistic, period });
  const firehoseMetric = (metricName: string, statistic = 'Sum') =>
    new cloudwatch.Metric({
      namespace: 'AWS/Firehose',
      metricName,
      dimensionsMap: { DeliveryStreamName: delivery.ref },
      statistic,
      period,
    });
  const graph = (title: string, left: cloudwatch.IMetric[], right: cloudwatch.IMetric[] = []) =>
    new cloudwatch.GraphWidget({ title, left, right, width: 8, height: 6 });
  const dashboard = new cloudwatch.Dashboard(stack, 'Dashboard', {
    dashboardName: `snowgate-${app.stage}`,
    defaultInterval: Duration.hours(3),
    widgets: [
      [new cloudwatch.AlarmStatusWidget({ title: 'Alarms', alarms, width: 24, height: 3 })],
      [
        graph('API: requests and errors', [apiMetric('Count'), apiMetric('4xx'), apiMetric('5xx')]),
        graph('API: latency', [apiMetric('Latency', 'p50'), apiMetric('Latency', 'p99')]),
        graph(
          'Ingest Lambda',
          [ingest.metricInvocations({ period }), ingest.metricErrors({ period }), ingest.metricThrottles({ period })],
          [ingest.metricDuration({ period, statistic: 'p99' })],
        ),
      ],
      [
        // Accepted events and the Kinesis records they went in (fewer when packed: what Kinesis and Firehose bill).
        graph(
          'Events: accepted and rejected, and the Kinesis records they went in',
          [accepted, rejected, own(METRIC.streamRecords)],
          [rejectionRate],
        ),
        new cloudwatch.GraphWidget({
          title: 'Rejected records by reason',
          left: [
            new cloudwatch.MathExpression({
              expression: `SEARCH('{${METRICS_NAMESPACE},Reason,service,stage} MetricName="${METRIC.rejectedByReason}" stage="${app.stage}"', 'Sum', 300)`,
              label: '',
              period,
            }),
          ],
          width: 8,
          height: 6,
        }),
        graph(
          'Durability: 503s, 500s, PutRecords retries, batch size',
          [own(METRIC.downstreamUnavailable), own(METRIC.internalErrors), own(METRIC.putRecordsRetries), own(METRIC.schemaWarnings)],
          [own(METRIC.batchSize, 'Average'), own(METRIC.batchSize, 'p99')],
        ),
      ],
      [
        graph(
          'Kinesis',
          [
            stream.metricIncomingRecords({ period, statistic: 'Sum' }),
            stream.metricPutRecordsThrottledRecords({ period, statistic: 'Sum' }),
            firehoseMetric('DataReadFromKinesisStream.Records'),
          ],
          [stream.metricGetRecordsIteratorAgeMilliseconds({ period, statistic: 'Maximum' })],
        ),
        graph(
          'Firehose → landing bucket',
          [firehoseMetric('DeliveryToS3.Records'), firehoseMetric('DeliveryToS3.Bytes')],
          [firehoseMetric('DeliveryToS3.DataFreshness', 'Maximum')],
        ),
        graph('Firehose delivery success', [firehoseMetric('DeliveryToS3.Success', 'Average')]),
      ],
      [graph('Snowpipe load errors (files it could not load)', [loadErrorsPublished])],
      ...(consumer
        ? [
            [
              graph(
                'Stream consumer → Snowpipe Streaming',
                [consumer.metricInvocations({ period }), consumer.metricErrors({ period })],
                [
                  new cloudwatch.Metric({
                    namespace: 'AWS/Lambda',
                    metricName: 'IteratorAge',
                    dimensionsMap: { FunctionName: consumer.functionName },
                    statistic: 'Maximum',
                    period,
                  }),
                  consumer.metricDuration({ period, statistic: 'p99' }),
                ],
              ),
            ],
          ]
        : []),
    ],
  });

  // Where alarms go: the stage's topic (on every stage, so that Snowflake's freshness alert has somewhere to publish;
  // a topic without a subscriber costs nothing), with `alarms.email` subscribed, and an existing topic
  // (`alarms.topicArn`) notified too. The stage config refuses a production stage with neither.
  const topic = new sns.Topic(stack, 'AlarmTopic', { enforceSSL: true });
  if (config.alarms.email) {
    topic.addSubscription(new subscriptions.EmailSubscription(config.alarms.email));
    loadErrors.addSubscription(new subscriptions.EmailSubscription(config.alarms.email));
  }
  const topics: sns.ITopic[] = [topic];
  if (config.alarms.topicArn) topics.push(sns.Topic.fromTopicArn(stack, 'ExistingAlarmTopic', config.alarms.topicArn));
  for (const alarm of alarms) for (const t of topics) alarm.addAlarmAction(new actions.SnsAction(t));

  // Snowflake's freshness alert (snowflake/migrations/V1.6.0__freshness_alert.sql) and the pipe's load errors (V1.7.0)
  // publish through notification integrations that assume one role: Snowflake's IAM user, with each integration's own
  // external ID. With `snowflake.account` the Snowflake stack makes that role from what the deploy reads back; without,
  // it is made here from what `pnpm snowflake:apply` wrote, and until that is known only this account may assume it,
  // as for the storage role.
  // https://docs.snowflake.com/en/user-guide/notifications/creating-notification-integration-amazon-sns
  const outputs: Record<string, string> = {};
  if (!config.snowflake.account) {
    const { iamUserArn, alertExternalId, errorExternalId } = config.snowflake;
    const externalIds = [alertExternalId, errorExternalId].filter((id): id is string => id !== undefined);
    const snowflakeAlertRole = new iam.Role(stack, 'SnowflakeAlertRole', {
      assumedBy: iamUserArn && externalIds.length ? new iam.ArnPrincipal(iamUserArn) : new iam.AccountRootPrincipal(),
      externalIds,
      description: 'Assumed by the Snowflake notification integrations to publish load alerts and load errors',
    });
    topic.grantPublish(snowflakeAlertRole);
    loadErrors.grantPublish(snowflakeAlertRole);
    outputs.SnowflakeAlertRoleArn = snowflakeAlertRole.roleArn;
  }

  stack.addOutputs({
    AlarmTopic: topic.topicArn,
    SnowflakeErrorTopicArn: loadErrors.topicArn,
    ...outputs,
    Dashboard: `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards/dashboard/${dashboard.dashboardName}`,
  });
  return { alarms, dashboard, topic, loadErrors };
}
