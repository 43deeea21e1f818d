import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { use, type StackContext } from 'sst/constructs';
import { stageConfig } from './config';
import { Ingest } from './Ingest';
import { Stream } from './Stream';

/** Alarms on what fails silently: the handler, the API's 5xx, stream throttling and lag, and Firehose falling behind. */
export function Alarms({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const { api, ingest } = use(Ingest);
  const { stream, delivery } = use(Stream);
  const period = Duration.minutes(5);

  const alarms = [
    ingest.metricErrors({ period }).createAlarm(stack, 'IngestErrors', {
      alarmDescription: 'The ingest Lambda threw (a bug: bad input never does)',
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

  for (const alarm of alarms) (alarm.node.defaultChild as cloudwatch.CfnAlarm).treatMissingData = 'notBreaching';

  if (config.alarms.email) {
    const topic = new sns.Topic(stack, 'AlarmTopic', { enforceSSL: true });
    topic.addSubscription(new subscriptions.EmailSubscription(config.alarms.email));
    for (const alarm of alarms) alarm.addAlarmAction(new actions.SnsAction(topic));
    stack.addOutputs({ AlarmTopic: topic.topicArn });
  }
  return { alarms };
}
