import { parseStageConfig, type StageConfigInput } from '@snowgate/config';
import { CLOUDWATCH_ALARM_METRIC_MONTH, estimateMonthlyCost, stageAlarms } from '@snowgate/cost';
import type { Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { synthesize, type Synthesized } from '../../stacks/synth';

// Delivery mode `streaming` on AWS: the stream consumer, its event source mapping, what it may do, and its alarms.
// `files` (every other stacks test) builds none of it.

const account = { identifier: 'myorg-myaccount', secretName: 'snowgate/dev/snowflake' };
const config = (extra: Partial<StageConfigInput> = {}) =>
  parseStageConfig({ snowflake: { externalId: 'snowgate-dev', account }, delivery: { mode: 'streaming' }, ...extra });

let streaming: Synthesized;
let files: Synthesized;
beforeAll(async () => {
  streaming = await synthesize('dev', config({ stream: { mode: 'provisioned', shards: 2 } }));
  files = await synthesize('dev', parseStageConfig({ snowflake: { externalId: 'snowgate-dev', account } }));
}, 120_000);

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation properties, read as the template has them
type Resource = { Type: string; Properties: any; DependsOn?: string[] };
const resources = (t: Template, type: string) => Object.entries(t.findResources(type)) as [string, Resource][];
const consumerOf = (s: Synthesized) =>
  resources(s.templates.Delivery, 'AWS::Lambda::Function').find(([, r]) => /stream-consumer/.test(r.Properties.Handler ?? ''));

describe('delivery mode streaming', () => {
  it('builds no consumer, mapping or consumer alarm in files mode', () => {
    expect(consumerOf(files)).toBeUndefined();
    for (const t of Object.values(files.templates)) expect(resources(t, 'AWS::Lambda::EventSourceMapping')).toEqual([]);
    const alarms = Object.values(files.templates).flatMap((t) => resources(t, 'AWS::CloudWatch::Alarm'));
    expect(alarms.some(([id]) => id.startsWith('StreamConsumer'))).toBe(false);
  });

  it('runs the bundled consumer with what it needs to sign in and append: the account, its secret, the pipe, the channels', () => {
    const [, fn] = consumerOf(streaming)!;
    expect(fn.Properties).toMatchObject({
      Handler: 'packages/functions/src/stream-consumer.handler',
      Runtime: 'nodejs24.x',
      Architectures: ['arm64'],
    });
    expect(fn.Properties).toMatchObject({ MemorySize: 512, Timeout: 120 });
    expect(fn.Properties.Environment.Variables).toMatchObject({
      SNOWGATE_STAGE: 'dev',
      SNOWGATE_SNOWFLAKE_ACCOUNT: 'myorg-myaccount',
      SNOWGATE_SNOWFLAKE_URL: 'https://myorg-myaccount.snowflakecomputing.com',
      SNOWGATE_SNOWFLAKE_SECRET: 'snowgate/dev/snowflake',
      SNOWGATE_SNOWFLAKE_DATABASE: 'SNOWGATE',
      SNOWGATE_SNOWFLAKE_SCHEMA: 'DEV',
      SNOWGATE_SNOWFLAKE_PIPE: 'RAW_EVENTS_STREAMING_PIPE',
      SNOWGATE_CHANNEL_PREFIX: 'snowgate-dev',
    });
    // No key material in the template: the consumer reads it from the secret.
    expect(JSON.stringify(streaming.templates.Delivery.toJSON())).not.toMatch(/PRIVATE KEY|private_key/);
  });

  it('reads the stream in order, one batch per shard at a time, retrying from the first unappended record until the stream drops it', () => {
    const mappings = resources(streaming.templates.Delivery, 'AWS::Lambda::EventSourceMapping');
    expect(mappings).toHaveLength(1);
    const [, mapping] = mappings[0]!;
    expect(mapping.Properties).toMatchObject({
      StartingPosition: 'TRIM_HORIZON',
      BatchSize: 100,
      MaximumBatchingWindowInSeconds: 0, // the default: Lambda reads each shard once a second anyway
      ParallelizationFactor: 1,
      BisectBatchOnFunctionError: false,
      FunctionResponseTypes: ['ReportBatchItemFailures'],
      MaximumRetryAttempts: -1,
      MaximumRecordAgeInSeconds: -1,
    });
    // The stream of the Stream stack, by an import of its ARN.
    expect(JSON.stringify(mapping.Properties.EventSourceArn)).toMatch(/Fn::ImportValue/);
    expect(mapping.Properties.DestinationConfig).toBeUndefined(); // nothing is ever discarded
    // The stage's settings reach it.
    return synthesize('tuned', config({ delivery: { mode: 'streaming', streaming: { batchWindowSeconds: 5, batchSize: 500 } } })).then(
      (s) => {
        const [, tuned] = resources(s.templates.Delivery, 'AWS::Lambda::EventSourceMapping')[0]!;
        expect(tuned.Properties).toMatchObject({ BatchSize: 500, MaximumBatchingWindowInSeconds: 5 });
      },
    );
  }, 120_000);

  it('may only read this stream and get the value of the stage secret', () => {
    const [, fn] = consumerOf(streaming)!;
    const roleId = fn.Properties.Role['Fn::GetAtt'][0] as string;
    const policies = resources(streaming.templates.Delivery, 'AWS::IAM::Policy').filter(([, p]) =>
      p.Properties.Roles.some((r: { Ref: string }) => r.Ref === roleId),
    );
    const statements = policies.flatMap(([, p]) => p.Properties.PolicyDocument.Statement);
    expect(statements.map((s) => [s.Effect, s.Action].flat())).toEqual([
      [
        'Allow',
        'kinesis:DescribeStream',
        'kinesis:DescribeStreamSummary',
        'kinesis:GetShardIterator',
        'kinesis:GetRecords',
        'kinesis:ListShards',
      ],
      ['Allow', 'secretsmanager:GetSecretValue'],
    ]);
    expect(JSON.stringify(statements[0].Resource)).toMatch(/Fn::ImportValue/);
    expect(JSON.stringify(statements[1].Resource)).toMatch(/:secretsmanager:.*:secret:snowgate\/dev\/snowflake-\?\?\?\?\?\?"/);
    // Only the basic execution role besides (its own logs).
    const role = streaming.templates.Delivery.toJSON().Resources[roleId];
    expect(JSON.stringify(role.Properties.ManagedPolicyArns)).toMatch(/AWSLambdaBasicExecutionRole/);
    expect(role.Properties.ManagedPolicyArns).toHaveLength(1);
  });

  it("alarms on the consumer's errors and its iterator age, on the stage's topic, and the cost model prices them", () => {
    const alarms = resources(streaming.templates.Alarms, 'AWS::CloudWatch::Alarm');
    const errors = alarms.find(([id]) => id.startsWith('StreamConsumerErrors'))![1];
    const age = alarms.find(([id]) => id.startsWith('StreamConsumerIteratorAge'))![1];
    expect(errors.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'Errors',
      Threshold: 1,
      TreatMissingData: 'notBreaching',
    });
    expect(age.Properties).toMatchObject({
      Namespace: 'AWS/Lambda',
      MetricName: 'IteratorAge',
      Statistic: 'Maximum',
      Threshold: 60_000,
      EvaluationPeriods: 2,
      TreatMissingData: 'notBreaching',
    });
    for (const a of [errors, age]) {
      expect(JSON.stringify(a.Properties.Dimensions)).toMatch(/FunctionName/);
      expect(a.Properties.AlarmActions).toHaveLength(1);
    }
    // Exactly what the cost model prices in this mode, as the files-mode test checks for files.
    const all = Object.values(streaming.templates).flatMap((t) => resources(t, 'AWS::CloudWatch::Alarm'));
    const alarmMetrics = all.reduce(
      (n, [, a]) => n + (a.Properties.Metrics ? a.Properties.Metrics.filter((m: { MetricStat?: unknown }) => m.MetricStat).length : 1),
      0,
    );
    const dashboards = Object.values(streaming.templates).flatMap((t) => resources(t, 'AWS::CloudWatch::Dashboard')).length;
    expect({ alarms: all.length, alarmMetrics, dashboards }).toEqual(stageAlarms('streaming'));
    const priced = estimateMonthlyCost({ eventsPerSecond: 1, eventBytes: 500, batch: 1, delivery: 'streaming' }).lines;
    expect(priced.filter((l) => l.price === CLOUDWATCH_ALARM_METRIC_MONTH).reduce((n, l) => n + l.quantity, 0)).toBe(alarmMetrics);
    // And a graph of it on the stage's dashboard.
    const [, dashboard] = resources(streaming.templates.Alarms, 'AWS::CloudWatch::Dashboard')[0]!;
    expect(JSON.stringify(dashboard.Properties.DashboardBody)).toContain('Stream consumer');
  });

  it('leaves no unsuppressed cdk-nag error in any stack', () => {
    for (const [stack, errors] of Object.entries(streaming.nagErrors)) expect(errors, stack).toEqual([]);
  });

  it('refuses to build without snowflake.account, saying what is missing', async () => {
    await expect(
      synthesize('noaccount', parseStageConfig({ snowflake: { externalId: 'x1' }, delivery: { mode: 'streaming' } })),
    ).rejects.toThrow(/delivery mode "streaming" needs snowflake\.account \(identifier and secretName\)/);
  });
});
