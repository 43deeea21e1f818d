import { METRIC, METRICS_NAMESPACE, METRICS_SERVICE } from '@snowgate/functions/metrics';
import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { use, type StackContext } from 'sst/constructs';
import { stageConfig } from './config';
import { Ingest } from './Ingest';
import { Stream } from './Stream';

/**
 * Alarms on what fails silently (the handler, its 500s, the API's 5xx, stream throttling and
 * lag, Firehose falling behind, a rising share of rejected records), and one
 * CloudWatch dashboard of the whole pipeline.
 */
export function Alarms({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const { api, ingest } = use(Ingest);
  const { stream, delivery } = use(Stream);
  const period = Duration.minutes(5);

  const alarms = [
    ingest.metricErrors({ period }).createAlarm(stack, 'IngestErrors', {
      // Its own failures are answered 500 and counted in InternalErrors (below); this counts what it could not answer.
      alarmDescription:
        'The ingest Lambda failed without answering (a timeout, out of memory, a crash at start): API Gateway answered 500 and nothing in those requests was acknowledged',
      threshold: 1,
      evaluationPeriods: 1,
    }),
    ingest.metricThrottles({ period }).createAlarm(stack, 'IngestThrottles', {
      alarmDescription: 'The ingest Lambda was throttled: raise its concurrency',
      threshold: 1,
      evaluationPeriods: 1,
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
    }),
    stream.metricPutRecordsThrottledRecords({ period, statistic: 'Sum' }).createAlarm(stack, 'StreamWriteThrottled', {
      alarmDescription: 'Kinesis throttled writes: add shards or use on-demand',
      threshold: 1,
      evaluationPeriods: 1,
    }),
    stream.metricGetRecordsIteratorAgeMilliseconds({ period, statistic: 'Maximum' }).createAlarm(stack, 'StreamIteratorAge', {
      alarmDescription: 'Firehose is falling behind the stream',
      threshold: config.alarms.iteratorAgeMs,
      evaluationPeriods: 2,
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
    }),
    rejectionRate.createAlarm(stack, 'RejectionRate', {
      alarmDescription: `More than ${config.alarms.rejectionRate * 100} % of the records were rejected in 5 minutes: a producer or a schema changed (see the quarantine, and pnpm replay)`,
      threshold: config.alarms.rejectionRate,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    }),
  );

  for (const alarm of alarms) (alarm.node.defaultChild as cloudwatch.CfnAlarm).treatMissingData = 'notBreaching';

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
    ],
  });

  // On every stage, so that Snowflake's freshness alert has somewhere to publish; a topic without a subscriber costs nothing.
  const topic = new sns.Topic(stack, 'AlarmTopic', { enforceSSL: true });
  if (config.alarms.email) topic.addSubscription(new subscriptions.EmailSubscription(config.alarms.email));
  for (const alarm of alarms) alarm.addAlarmAction(new actions.SnsAction(topic));

  // Snowflake's freshness alert (snowflake/migrations/V1.6.0__freshness_alert.sql) publishes to the topic through a
  // notification integration that assumes this role: Snowflake's IAM user, with the integration's own external ID
  // (`pnpm snowflake:apply` writes it). Until both are known only this account may assume it, as for the storage role.
  // https://docs.snowflake.com/en/user-guide/notifications/creating-notification-integration-amazon-sns
  const { iamUserArn, alertExternalId } = config.snowflake;
  const snowflakeAlertRole = new iam.Role(stack, 'SnowflakeAlertRole', {
    assumedBy: iamUserArn && alertExternalId ? new iam.ArnPrincipal(iamUserArn) : new iam.AccountRootPrincipal(),
    externalIds: alertExternalId ? [alertExternalId] : [],
    description: 'Assumed by the Snowflake notification integration to publish load alerts to the alarm topic',
  });
  topic.grantPublish(snowflakeAlertRole);

  stack.addOutputs({
    AlarmTopic: topic.topicArn,
    SnowflakeAlertRoleArn: snowflakeAlertRole.roleArn,
    Dashboard: `https://${stack.region}.console.aws.amazon.com/cloudwatch/home?region=${stack.region}#dashboards/dashboard/${dashboard.dashboardName}`,
  });
  return { alarms, dashboard };
}
