import { contractSettingsSchema, contractsFromValidators } from '@snowgate/core';
import { ingestFunctionEnv, parseStageConfig, writeKeySettingsFromEnv, type StageConfigInput } from '@snowgate/config';
import { CLOUDWATCH_ALARM_METRIC_MONTH, CLOUDWATCH_DASHBOARD_MONTH, STAGE_ALARMS, estimateMonthlyCost } from '@snowgate/cost';
import { readSchemaDir, compileContracts } from '@snowgate/contracts';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { pageViewV2 } from '../support/contracts';
import { lambdaNodejs, sstBuildOptions, sstEsbuild } from '../../stacks/bundling';
import { synthesize, type Synthesized } from '../../stacks/synth';

const SQS = 'arn:aws:sqs:us-east-1:999999999999:sf-snowpipe-AIDAEXAMPLE-abc';
const SNOWFLAKE_USER = 'arn:aws:iam::999999999999:user/abc1-s-p2ss0000';
const ALARM_TOPIC = 'arn:aws:sns:us-east-1:123456789012:oncall-pager';

const dev = (extra: Partial<StageConfigInput> = {}) => parseStageConfig({ snowflake: { externalId: 'snowgate-dev' }, ...extra });
const prodInput = {
  production: true,
  contracts: { mode: 'enforce', unknown: 'reject' },
  ingest: { packing: { mode: 'single' } },
  auth: { mode: 'jwt', issuer: 'https://auth.example.com/', audience: ['snowgate'] },
  stream: { mode: 'provisioned', shards: 4 },
  streamRetentionHours: 72,
  api: { throttleRate: 500, throttleBurst: 800 },
  firehose: { bufferSizeMiB: 4, bufferIntervalSeconds: 60, compression: 'UNCOMPRESSED' },
  snowflake: { externalId: 'prod-external-id-123', iamUserArn: SNOWFLAKE_USER, notificationChannelArn: SQS },
  alarms: { email: 'oncall@example.com', topicArn: ALARM_TOPIC },
} satisfies StageConfigInput;
const prod = parseStageConfig(prodInput);

let d: Synthesized;
let p: Synthesized;
let open: Synthesized;
let keyed: Synthesized;
beforeAll(async () => {
  d = await synthesize('dev', dev());
  p = await synthesize('prod', prod);
  open = await synthesize('sandbox', dev({ auth: { mode: 'none' } }));
  keyed = await synthesize('partners', dev({ auth: { mode: 'apiKey', cacheSeconds: 120 }, alarms: { topicArn: ALARM_TOPIC } }));
}, 120_000);

/** A resource of a synthesized template, with the properties of its type that these tests read. */
interface CfnResource<P = Record<string, unknown>> {
  Type: string;
  Properties: P;
  DeletionPolicy?: string;
  Metadata?: { cdk_nag?: { rules_to_suppress?: { id: string; reason: string }[] } };
}

interface PolicyStatement {
  Effect: string;
  Action: string | string[];
  Resource: unknown;
  Principal?: unknown;
  Condition?: unknown;
}

interface PolicyDocument {
  Statement: PolicyStatement[];
}

/** One entry of an alarm's `Metrics`: a metric it reads, or the expression over them. */
interface MetricDataQuery {
  Id: string;
  Expression?: string;
  MetricStat?: { Metric: unknown; Period: number };
}

/** What these tests read of each resource type (CloudFormation's property names; the rest is left out). */
interface ResourceProperties {
  'AWS::S3::Bucket': {
    BucketEncryption: { ServerSideEncryptionConfiguration: { ServerSideEncryptionByDefault: { SSEAlgorithm: string } }[] };
    PublicAccessBlockConfiguration: unknown;
  };
  'AWS::S3::BucketPolicy': { PolicyDocument: PolicyDocument };
  'AWS::IAM::Policy': { Roles: { Ref: string }[]; PolicyDocument: PolicyDocument };
  'AWS::IAM::ManagedPolicy': { Roles?: unknown; PolicyDocument: PolicyDocument };
  'AWS::IAM::Role': { Description?: string; AssumeRolePolicyDocument: PolicyDocument };
  'AWS::KinesisFirehose::DeliveryStream': {
    DeliveryStreamType: string;
    ExtendedS3DestinationConfiguration: {
      BufferingHints: unknown;
      Prefix: string;
      ErrorOutputPrefix: string;
      CompressionFormat: string;
      ProcessingConfiguration: unknown;
    };
  };
  'AWS::Lambda::Function': {
    Handler: string;
    Runtime: string;
    Architectures: string[];
    MemorySize: number;
    Timeout: number;
    Code: { S3Key: string };
    Environment: { Variables: Record<string, unknown> };
    Role: { 'Fn::GetAtt': [string, string] };
    TracingConfig?: unknown;
  };
  'AWS::ApiGatewayV2::Api': { CorsConfiguration?: unknown };
  'AWS::ApiGatewayV2::Stage': { AccessLogSettings?: { Format: string; DestinationArn: unknown } };
  'AWS::ApiGatewayV2::Route': { RouteKey: string; AuthorizationType: string; AuthorizerId?: unknown; Target?: unknown };
  'AWS::ApiGatewayV2::Authorizer': { AuthorizerUri: unknown; IdentitySource: string[] };
  'AWS::CloudWatch::Alarm': {
    MetricName?: string;
    AlarmName?: string;
    AlarmDescription?: string;
    Period?: number;
    AlarmActions?: unknown[];
    Metrics?: MetricDataQuery[];
    TreatMissingData?: string;
    Threshold?: number;
    EvaluationPeriods?: number;
    ComparisonOperator?: string;
  };
  'AWS::CloudWatch::Dashboard': { DashboardName: string; DashboardBody: unknown };
  'AWS::SNS::Subscription': { Protocol: string; Endpoint: string; TopicArn: unknown };
}

const resources = <T extends keyof ResourceProperties>(t: Template, type: T) =>
  Object.values(t.findResources(type)) as CfnResource<ResourceProperties[T]>[];
/** Every resource of a template, of any type. */
const allResources = (t: Template) => Object.values(t.toJSON().Resources) as CfnResource[];
const statements = (t: Template) => resources(t, 'AWS::IAM::Policy').flatMap((p) => p.Properties.PolicyDocument.Statement);

describe('cdk-nag AwsSolutions', () => {
  it('leaves no unsuppressed error in any stack, in any configuration', () => {
    for (const s of [d, p, open, keyed]) {
      for (const [stack, errors] of Object.entries(s.nagErrors)) expect(errors, stack).toEqual([]);
    }
  });

  it('records a reason with every suppression', () => {
    for (const t of Object.values(d.templates)) {
      for (const r of allResources(t)) {
        for (const rule of r.Metadata?.cdk_nag?.rules_to_suppress ?? []) expect(rule.reason.length, rule.id).toBeGreaterThan(20);
      }
    }
  });
});

describe('Storage', () => {
  it('encrypts, blocks public access and refuses plain HTTP on both buckets', () => {
    const buckets = resources(d.templates.Storage, 'AWS::S3::Bucket');
    expect(buckets).toHaveLength(2);
    for (const b of buckets) {
      expect(b.Properties.BucketEncryption.ServerSideEncryptionConfiguration[0]!.ServerSideEncryptionByDefault.SSEAlgorithm).toBe('AES256');
      expect(b.Properties.PublicAccessBlockConfiguration).toEqual({
        BlockPublicAcls: true,
        BlockPublicPolicy: true,
        IgnorePublicAcls: true,
        RestrictPublicBuckets: true,
      });
    }
    const policies = resources(d.templates.Storage, 'AWS::S3::BucketPolicy');
    expect(policies).toHaveLength(2);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({ Effect: 'Deny', Action: 's3:*', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
      );
    }
  });

  it('applies the lifecycle rules from config', () => {
    d.templates.Storage.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: Match.arrayWith([Match.objectLike({ Prefix: 'events/', ExpirationInDays: 30, Status: 'Enabled' })]),
      },
    });
    d.templates.Storage.hasResourceProperties('AWS::S3::Bucket', {
      LifecycleConfiguration: {
        Rules: [
          Match.objectLike({
            Prefix: 'errors/',
            ExpirationInDays: 365,
            Transitions: [{ StorageClass: 'STANDARD_IA', TransitionInDays: 30 }],
          }),
          Match.objectLike({ Id: 'expire-replay-ledger', Prefix: 'replays/', ExpirationInDays: 365 }),
        ],
      },
    });
  });

  it('retains only the buckets and the stream in production, everything else is removed with the stage', () => {
    for (const t of Object.values(p.templates)) {
      const retained = allResources(t)
        .filter((r) => r.DeletionPolicy === 'Retain')
        .map((r) => r.Type);
      for (const type of retained) expect(['AWS::S3::Bucket', 'AWS::Kinesis::Stream']).toContain(type);
    }
    for (const t of Object.values(d.templates)) {
      expect(allResources(t).filter((r) => r.DeletionPolicy === 'Retain')).toEqual([]);
    }
  });

  it('deletes buckets and their objects on remove outside production, and retains them in production', () => {
    for (const b of Object.values(d.templates.Storage.findResources('AWS::S3::Bucket'))) expect(b.DeletionPolicy).toBe('Delete');
    d.templates.Storage.resourceCountIs('Custom::S3AutoDeleteObjects', 2);
    for (const b of Object.values(p.templates.Storage.findResources('AWS::S3::Bucket'))) expect(b.DeletionPolicy).toBe('Retain');
    p.templates.Storage.resourceCountIs('Custom::S3AutoDeleteObjects', 0);
  });
});

describe('Stream and Firehose', () => {
  it('creates an encrypted stream with the configured capacity and retention', () => {
    d.templates.Stream.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'ON_DEMAND' },
      RetentionPeriodHours: 72,
      StreamEncryption: { EncryptionType: 'KMS', KeyId: 'alias/aws/kinesis' },
    });
    p.templates.Stream.hasResourceProperties('AWS::Kinesis::Stream', {
      StreamModeDetails: { StreamMode: 'PROVISIONED' },
      ShardCount: 4,
      RetentionPeriodHours: 72,
    });
  });

  it('buffers 1 MiB / 5 s by default into dated, gzip NDJSON files, with an error prefix', () => {
    const [fh] = resources(d.templates.Stream, 'AWS::KinesisFirehose::DeliveryStream');
    expect(fh!.Properties.DeliveryStreamType).toBe('KinesisStreamAsSource');
    const s3 = fh!.Properties.ExtendedS3DestinationConfiguration;
    expect(s3.BufferingHints).toEqual({ SizeInMBs: 1, IntervalInSeconds: 5 });
    expect(s3.Prefix).toBe('events/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/!{timestamp:HH}/');
    expect(s3.ErrorOutputPrefix).toBe('firehose-errors/!{firehose:error-output-type}/!{timestamp:yyyy}/!{timestamp:MM}/!{timestamp:dd}/');
    expect(s3.CompressionFormat).toBe('GZIP');
    expect(s3.ProcessingConfiguration).toEqual({
      Enabled: true,
      Processors: [{ Type: 'AppendDelimiterToRecord', Parameters: [{ ParameterName: 'Delimiter', ParameterValue: '\\n' }] }],
    });
    p.templates.Stream.hasResourceProperties('AWS::KinesisFirehose::DeliveryStream', {
      ExtendedS3DestinationConfiguration: Match.objectLike({
        BufferingHints: { SizeInMBs: 4, IntervalInSeconds: 60 },
        CompressionFormat: 'UNCOMPRESSED',
      }),
    });
  });

  it('gives Firehose a role that reads this stream and writes only its prefixes', () => {
    const s = statements(d.templates.Stream);
    expect(s.flatMap((x) => x.Action).sort()).toEqual(
      [
        'kinesis:DescribeStream',
        'kinesis:DescribeStreamSummary',
        'kinesis:GetRecords',
        'kinesis:GetShardIterator',
        'kinesis:ListShards',
        'logs:PutLogEvents',
        's3:AbortMultipartUpload',
        's3:GetBucketLocation',
        's3:ListBucket',
        's3:ListBucketMultipartUploads',
        's3:PutObject',
      ].sort(),
    );
    const put = s.find((x) => [x.Action].flat().includes('s3:PutObject'));
    expect(JSON.stringify(put!.Resource)).toMatch(/\/events\/\*.*\/firehose-errors\/\*/);
    for (const x of s) expect([x.Resource].flat()).not.toContain('*');
    // Exactly its own log stream: a token-built ARN once made this grant match nothing.
    const logs = s.find((x) => x.Action === 'logs:PutLogEvents');
    expect(JSON.stringify(logs!.Resource)).toMatch(/:log-group:".*":log-stream:".*FirehoseS3Delivery/);
    d.templates.Stream.hasResourceProperties('AWS::IAM::Role', {
      AssumeRolePolicyDocument: { Statement: [Match.objectLike({ Principal: { Service: 'firehose.amazonaws.com' } })] },
    });
  });
});

describe('Ingest', () => {
  const fn = (s: Synthesized) =>
    resources(s.templates.Ingest, 'AWS::Lambda::Function').find((f) => f.Properties.Handler === 'packages/functions/src/ingest.handler')!;

  it('runs the bundled handler on Node 22 or newer, arm64, sized and timed below the API limit', () => {
    const f = fn(d);
    expect(Number(f.Properties.Runtime.match(/^nodejs(\d+)\.x$/)![1])).toBeGreaterThanOrEqual(22);
    expect(f.Properties.Architectures).toEqual(['arm64']);
    expect(f.Properties.MemorySize).toBe(1024);
    expect(f.Properties.Timeout).toBeLessThan(30);
    expect(f.Properties.Code.S3Key).toMatch(/\.zip$/);
    expect(f.Properties.Environment.Variables).toMatchObject({
      SNOWGATE_ERROR_PREFIX: 'errors/',
      SNOWGATE_MAX_RECORDS_PER_REQUEST: '500',
      SNOWGATE_WRITE_BUDGET_MS: '3000',
      NODE_OPTIONS: '--max-semi-space-size=32',
    });
    expect(f.Properties.Environment.Variables.SNOWGATE_STREAM_NAME).toBeDefined();
    expect(f.Properties.Environment.Variables.SNOWGATE_ERROR_BUCKET).toBeDefined();
    d.templates.Ingest.hasResourceProperties('Custom::LogRetention', { RetentionInDays: 30 });
  });

  it("passes the stage's packing to the function: packed records of 25,600 bytes by default, single when the stage says so", () => {
    expect(fn(d).Properties.Environment.Variables).toMatchObject({ SNOWGATE_PACKING: 'packed', SNOWGATE_PACKED_RECORD_MAX_BYTES: '25600' });
    expect(fn(p).Properties.Environment.Variables).toMatchObject({ SNOWGATE_PACKING: 'single' });
    // What the function reads back at cold start: the same settings.
    for (const [s, mode] of [
      [d, 'packed'],
      [p, 'single'],
    ] as const) {
      const env = { ...fn(s).Properties.Environment.Variables, SNOWGATE_STREAM_NAME: 'stream', SNOWGATE_ERROR_BUCKET: 'bucket' };
      const strings = Object.fromEntries(Object.entries(env).filter(([, v]) => typeof v === 'string')) as Record<string, string>;
      expect(ingestFunctionEnv(strings).settings.packing).toEqual({ mode, maxRecordBytes: 25_600 });
    }
  });

  it("bundles the schema contracts beside the handler, and passes the stage's contract settings", () => {
    expect(fn(d).Properties.Environment.Variables).toMatchObject({ SNOWGATE_CONTRACTS_MODE: 'off' });
    expect(fn(p).Properties.Environment.Variables).toMatchObject({
      SNOWGATE_CONTRACTS_MODE: 'enforce',
      SNOWGATE_CONTRACTS_UNKNOWN: 'reject',
      SNOWGATE_CONTRACTS_TYPE_FIELD: 'type',
      SNOWGATE_CONTRACTS_VERSION_FIELD: 'schema_version',
      SNOWGATE_CONTRACTS_MISSING_VERSION: 'latest',
    });
    // The handler reads `schemas/` relative to its task root, the bundle's root.
    expect(fn(p).Properties.Environment.Variables.SNOWGATE_SCHEMAS_DIR).toBeUndefined();
    const asset = (s: Synthesized) => join(s.assemblyDir, `asset.${String(fn(s).Properties.Code.S3Key).replace(/\.zip$/, '')}`);
    for (const s of [d, p]) {
      expect(readFileSync(join(asset(s), 'schemas/page_view/2.json'), 'utf8')).toBe(readFileSync('schemas/page_view/2.json', 'utf8'));
      expect(existsSync(join(asset(s), 'schemas/order_placed/1.json'))).toBe(true);
    }
    // With contracts on, the schemas also ship compiled (standalone validators); the handler's bundle has no Ajv.
    expect(existsSync(join(asset(d), 'schemas/validators.mjs'))).toBe(false);
    expect(existsSync(join(asset(p), 'schemas/validators.mjs'))).toBe(true);
    expect(readFileSync(join(asset(p), 'packages/functions/src/ingest.mjs'), 'utf8')).not.toContain('strictSchema');
  });

  it('ships the functions as stacks/bundling.ts builds them, file for file (what the bundle test and bench:handler measure)', async () => {
    const functions = [
      [d, 'ingest'],
      [keyed, 'authorizer'],
    ] as const;
    for (const [s, name] of functions) {
      const f = resources(s.templates.Ingest, 'AWS::Lambda::Function').find(
        (x) => x.Properties.Handler === `packages/functions/src/${name}.handler`,
      )!;
      const shipped = join(s.assemblyDir, `asset.${String(f.Properties.Code.S3Key).replace(/\.zip$/, '')}`, 'packages/functions/src');
      const outdir = mkdtempSync(join(tmpdir(), 'snowgate-bundle-'));
      try {
        await sstEsbuild().build({ ...sstBuildOptions(resolve(`packages/functions/src/${name}.ts`), outdir, lambdaNodejs()), write: true });
        // Chunk names carry a hash that depends on where the sourcemaps point (the output directory): compared without it.
        const code = (dir: string) =>
          readdirSync(dir)
            .filter((file) => file.endsWith('.mjs'))
            .map((file) => readFileSync(join(dir, file), 'utf8').replace(/-[A-Z0-9]{8}\.mjs/g, '-HASH.mjs'))
            .sort();
        const built = code(outdir);
        expect(built.length).toBeGreaterThan(1);
        expect(code(shipped).length).toBe(built.length);
        expect(code(shipped).every((text, i) => text === built[i])).toBe(true);
      } finally {
        rmSync(outdir, { recursive: true, force: true });
      }
    }
  }, 60_000);

  it('ships validators that judge records as Ajv does, and load without Ajv', async () => {
    const asset = join(p.assemblyDir, `asset.${String(fn(p).Properties.Code.S3Key).replace(/\.zip$/, '')}`);
    const { validators, detailed } = await import(pathToFileURL(join(asset, 'schemas/validators.mjs')).href);
    expect(Object.keys(validators).sort()).toEqual(['order_placed/1', 'page_view/1', 'page_view/2']);
    const settings = contractSettingsSchema.parse({ mode: 'enforce', unknown: 'reject' });
    const shipped = contractsFromValidators({ validators, detailed }, settings);
    const compiled = compileContracts(readSchemaDir('schemas'), settings);
    const samples = [
      pageViewV2('ok'),
      pageViewV2('bad', {
        url: 'not a uri',
        locale: 'english',
        tags: ['a', 'a'],
        device: { kind: 'fridge', extra: 1 },
        occurred_at: 'yesterday',
      }),
      {
        id: 'o',
        type: 'order_placed',
        schema_version: 1,
        order_id: 'x',
        currency: 'eur',
        total_minor: -1,
        items: [{ sku: '', quantity: 0 }],
        occurred_at: '2026-12-03T08:00:00Z',
      },
      { id: 'u', type: 'nothing' },
    ];
    for (const record of samples)
      for (const detail of [false, true]) expect(shipped.check(record, detail)).toEqual(compiled.check(record, detail));
  });

  it('may only PutRecords on the stream and PutObject under the quarantine prefix', () => {
    const role = fn(d).Properties.Role['Fn::GetAtt'][0];
    const policy = resources(d.templates.Ingest, 'AWS::IAM::Policy').find((x) => x.Properties.Roles.some((r) => r.Ref === role))!;
    const s = policy.Properties.PolicyDocument.Statement;
    const byAction = Object.fromEntries(s.map((x) => [[x.Action].flat().join(','), x.Resource]));
    expect(Object.keys(byAction).sort()).toEqual(['kinesis:PutRecords', 's3:PutObject']);
    expect(JSON.stringify(s)).not.toContain('"*"');
    expect(fn(d).Properties.TracingConfig).toBeUndefined();
    expect(byAction['kinesis:PutRecords']).toEqual({ 'Fn::ImportValue': expect.stringMatching(/Stream:ExportsOutputFnGetAttEvents.*Arn/) });
    expect(JSON.stringify(byAction['s3:PutObject'])).toMatch(/Errors.*Arn.*"\/errors\/\*"/);
  });

  it('gives replay operators a policy of exactly what pnpm replay does: the quarantine read-only, its own ledger, the stream', () => {
    const policies = resources(d.templates.Ingest, 'AWS::IAM::ManagedPolicy');
    expect(policies).toHaveLength(1);
    const s = policies[0]!.Properties.PolicyDocument.Statement;
    const by = Object.fromEntries(s.map((x) => [[x.Action].flat().sort().join(','), x]));
    expect(Object.keys(by).sort()).toEqual([
      'kinesis:DescribeStreamSummary,kinesis:GetRecords,kinesis:GetShardIterator,kinesis:ListShards,kinesis:PutRecords',
      's3:DeleteObject',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
    ]);
    expect(JSON.stringify(s)).not.toContain('"*"');
    // Listing the error bucket (key names only) is what makes S3 answer 404, not 403, for a ledger entry not written yet.
    expect(by['s3:ListBucket']!.Condition).toBeUndefined();
    expect(JSON.stringify(by['s3:PutObject']!.Resource)).toMatch(/"\/replays\/\*"/);
    expect(JSON.stringify(by['s3:PutObject']!.Resource)).not.toContain('errors/');
    expect(JSON.stringify(by['s3:DeleteObject']!.Resource)).toMatch(/"\/replays\/lock\.json"/);
    // Not attached to anything in the app: the ingest function cannot touch the ledger.
    expect(policies[0]!.Properties.Roles).toBeUndefined();
  });

  it('routes POST /events with IAM auth by default, GET /health open, with throttling and access logs', () => {
    const routes = Object.fromEntries(
      resources(d.templates.Ingest, 'AWS::ApiGatewayV2::Route').map((r) => [r.Properties.RouteKey, r.Properties.AuthorizationType]),
    );
    expect(routes).toEqual({
      'POST /events': 'AWS_IAM',
      'POST /v1/batch': 'AWS_IAM',
      'POST /v1/track': 'AWS_IAM',
      'POST /v1/identify': 'AWS_IAM',
      'POST /v1/page': 'AWS_IAM',
      'POST /v1/screen': 'AWS_IAM',
      'POST /v1/group': 'AWS_IAM',
      'POST /v1/alias': 'AWS_IAM',
      'POST /v1/t': 'AWS_IAM',
      'POST /v1/i': 'AWS_IAM',
      'POST /v1/p': 'AWS_IAM',
      'POST /v1/s': 'AWS_IAM',
      'POST /v1/g': 'AWS_IAM',
      'POST /v1/a': 'AWS_IAM',
      'POST /v1/b': 'AWS_IAM',
      'POST /beacon/v1/batch': 'AWS_IAM',
      'POST /v1/m': 'NONE',
      'GET /v1/projects/{writeKey}/settings': 'NONE',
      'GET /health': 'NONE',
    });
    d.templates.Ingest.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 1000, ThrottlingBurstLimit: 2000 },
      AccessLogSettings: Match.objectLike({ DestinationArn: Match.anyValue() }),
    });
  });

  it("logs why API Gateway answered by itself: the integration's status, error and error message, as JSON", () => {
    const stage = resources(d.templates.Ingest, 'AWS::ApiGatewayV2::Stage')[0]!;
    const format = JSON.parse(stage.Properties.AccessLogSettings!.Format) as Record<string, string>;
    expect(format).toMatchObject({
      requestId: '$context.requestId',
      status: '$context.status',
      integrationStatus: '$context.integration.status',
      integrationServiceStatus: '$context.integration.integrationStatus',
      integrationLatency: '$context.integration.latency',
      integrationError: '$context.integration.error',
      integrationErrorMessage: '$context.integrationErrorMessage',
      errorMessage: '$context.error.message',
      errorResponseType: '$context.error.responseType',
    });
    // No header: an API key or Authorization value must never reach a log.
    expect(Object.values(format).join(' ')).not.toMatch(/header|authorizer\.(?!error)/i);
  });

  it("configures CORS on the API (API Gateway answers preflights): any origin by default, the stage's origins, the headers by name", async () => {
    const [api] = resources(d.templates.Ingest, 'AWS::ApiGatewayV2::Api');
    expect(api!.Properties.CorsConfiguration).toEqual({
      AllowCredentials: false,
      AllowOrigins: ['*'],
      AllowMethods: ['GET', 'POST'],
      // Listed by name: `*` would not cover Authorization.
      AllowHeaders: [
        'authorization',
        'content-type',
        'x-retry-count',
        'anonymousid',
        'sentat',
        'rsa-recovered',
        'rsa-retry-attempt',
        'rsa-since-last-attempt',
        'rsa-since-first-attempt',
        'rsa-retry-reason',
      ],
      ExposeHeaders: ['retry-after'],
      MaxAge: 7200,
    });
    // Auth mode apiKey: the key's header may be sent from a page too.
    const [keyedApi] = resources(keyed.templates.Ingest, 'AWS::ApiGatewayV2::Api');
    expect((keyedApi!.Properties.CorsConfiguration as { AllowHeaders: string[] }).AllowHeaders).toContain('x-api-key');
    const shop = await synthesize('shop', dev({ api: { cors: { allowOrigins: ['https://shop.example'], maxAgeSeconds: 600 } } }));
    const [shopApi] = resources(shop.templates.Ingest, 'AWS::ApiGatewayV2::Api');
    expect(shopApi!.Properties.CorsConfiguration).toMatchObject({ AllowOrigins: ['https://shop.example'], MaxAge: 600 });
    for (const [stack, errors] of Object.entries(shop.nagErrors)) expect(errors, stack).toEqual([]);
    // An empty list: no CORS at all.
    const closed = await synthesize('closed', dev({ api: { cors: { allowOrigins: [] } } }));
    for (const a of resources(closed.templates.Ingest, 'AWS::ApiGatewayV2::Api')) expect(a.Properties.CorsConfiguration).toBeUndefined();
    expect(() => dev({ api: { cors: { allowOrigins: ['https://shop.example/path'] } } })).toThrow(/origin/);
  }, 120_000);

  it('uses a JWT authorizer where configured, and no authorization only where the config says so', () => {
    p.templates.Ingest.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'JWT',
      JwtConfiguration: { Issuer: 'https://auth.example.com/', Audience: ['snowgate'] },
    });
    p.templates.Ingest.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /events', AuthorizationType: 'JWT' });
    p.templates.Ingest.hasResourceProperties('AWS::ApiGatewayV2::Stage', {
      DefaultRouteSettings: { ThrottlingRateLimit: 500, ThrottlingBurstLimit: 800 },
    });
    open.templates.Ingest.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /events', AuthorizationType: 'NONE' });
    expect(() => parseStageConfig({ production: true, auth: { mode: 'none' }, snowflake: { externalId: 'x1' } })).toThrow(
      /auth mode "none"/,
    );
    expect(() => parseStageConfig({ lambda: { timeoutSeconds: 3 }, snowflake: { externalId: 'x1' } })).toThrow(/write budget/);
    expect(() => parseStageConfig({ buckets: { errorsExpirationDays: 20 }, snowflake: { externalId: 'x1' } })).toThrow(/Infrequent Access/);
    expect(() => parseStageConfig({ snowflake: { externalId: 'x1', notificationChannelArn: SQS } })).toThrow(/iamUserArn/);
    expect(parseStageConfig({ snowflake: { externalId: 'ABC_123-xyz' } }).snowflake.externalId).toBe('ABC_123-xyz');
  });

  it("checks API keys with a cached Lambda authorizer (simple responses) that may only read this stage's key records", () => {
    const t = keyed.templates.Ingest;
    t.hasResourceProperties('AWS::ApiGatewayV2::Authorizer', {
      AuthorizerType: 'REQUEST',
      AuthorizerPayloadFormatVersion: '2.0',
      EnableSimpleResponses: true,
      IdentitySource: ['$request.header.x-api-key'],
      AuthorizerResultTtlInSeconds: 120,
    });
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /events', AuthorizationType: 'CUSTOM' });
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'GET /health', AuthorizationType: 'NONE' });
    const authorizer = resources(t, 'AWS::Lambda::Function').find(
      (f) => f.Properties.Handler === 'packages/functions/src/authorizer.handler',
    )!;
    expect(authorizer.Properties.Environment.Variables).toMatchObject({
      SNOWGATE_API_KEYS_PREFIX: '/snowgate/partners/api-keys/',
      SNOWGATE_API_KEY_HEADER: 'x-api-key',
    });
    const role = authorizer.Properties.Role['Fn::GetAtt'][0];
    const policy = resources(t, 'AWS::IAM::Policy').find((x) => x.Properties.Roles.some((r) => r.Ref === role))!;
    const [statement, ...others] = policy.Properties.PolicyDocument.Statement;
    expect(others).toEqual([]);
    expect(statement!.Action).toBe('ssm:GetParameter');
    expect(JSON.stringify(statement!.Resource)).toMatch(/:parameter\/snowgate\/partners\/api-keys\/\*"/);
    // Other stages have no authorizer function and no SSM access at all.
    for (const s of [d, p, open]) expect(JSON.stringify(s.templates.Ingest.toJSON())).not.toContain('ssm:');
    expect(Object.keys(t.toJSON().Outputs)).toContain('ApiKeysParameterPath');
  });

  it('serves the SDK routes on the ingest handler; in auth mode apiKey on a function of its own that checks the write key itself', () => {
    const sdkRoutes = [
      ...['batch', 'track', 'identify', 'page', 'screen', 'group', 'alias', 't', 'i', 'p', 's', 'g', 'a', 'b'].map((r) => `POST /v1/${r}`),
      'POST /beacon/v1/batch',
    ];
    const t = keyed.templates.Ingest;
    // One authorizer, for POST /events: an authorizer cannot see a beacon's query key or a body's.
    expect(resources(t, 'AWS::ApiGatewayV2::Authorizer').map((a) => a.Properties.IdentitySource)).toEqual([['$request.header.x-api-key']]);
    const functions = resources(t, 'AWS::Lambda::Function');
    const sdk = functions.find((f) => f.Properties.Handler === 'packages/functions/src/sdk-ingest.handler')!;
    const ingest = functions.find((f) => f.Properties.Handler === 'packages/functions/src/ingest.handler')!;
    expect(sdk.Properties.Environment.Variables).toMatchObject({
      ...ingest.Properties.Environment.Variables,
      SNOWGATE_API_KEYS_PREFIX: '/snowgate/partners/api-keys/',
      SNOWGATE_API_KEYS_CACHE_SECONDS: '60',
    });
    // It loads as the ingest Lambda loads its settings, the key settings besides.
    const env = Object.fromEntries(
      Object.entries(sdk.Properties.Environment.Variables).map(([k, v]) => [k, typeof v === 'string' ? v : 'from-a-token']),
    );
    expect(ingestFunctionEnv(env).settings.streamName).toBe('from-a-token');
    expect(writeKeySettingsFromEnv(env).SNOWGATE_API_KEYS_CACHE_SECONDS).toBe(60);
    // What the ingest function may do, and reading key records: nothing else.
    const role = sdk.Properties.Role['Fn::GetAtt'][0];
    const policy = resources(t, 'AWS::IAM::Policy').find((x) => x.Properties.Roles.some((r) => r.Ref === role))!;
    expect(policy.Properties.PolicyDocument.Statement.map((x) => x.Action).sort()).toEqual([
      'kinesis:PutRecords',
      's3:PutObject',
      'ssm:GetParameter',
    ]);
    const routes = resources(t, 'AWS::ApiGatewayV2::Route');
    const integrations = t.findResources('AWS::ApiGatewayV2::Integration');
    const functionOf = (key: string) => {
      const route = routes.find((r) => r.Properties.RouteKey === key)!;
      const [, integration] = Object.entries(integrations).find(([id]) => JSON.stringify(route.Properties.Target).includes(id))!;
      return JSON.stringify(integration.Properties.IntegrationUri);
    };
    const sdkId = Object.entries(t.findResources('AWS::Lambda::Function')).find(
      ([, f]) => f.Properties.Handler === 'packages/functions/src/sdk-ingest.handler',
    )![0];
    for (const key of sdkRoutes) {
      t.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: 'NONE' });
      expect(functionOf(key)).toContain(sdkId);
    }
    t.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: 'POST /events', AuthorizationType: 'CUSTOM' });
    // JWT, IAM and none: the stage's mode on the ingest function, as on /events (a Segment SDK's Basic header is no JWT: see docs/SEGMENT.md).
    for (const key of sdkRoutes) {
      p.templates.Ingest.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: 'JWT' });
      open.templates.Ingest.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: 'NONE' });
    }
    for (const s of [d, p, open]) {
      const handlers = resources(s.templates.Ingest, 'AWS::Lambda::Function').map((f) => f.Properties.Handler);
      expect(handlers).not.toContain('packages/functions/src/sdk-ingest.handler');
    }
    // analytics.js's settings and metrics: open, on small functions of their own that store nothing.
    for (const s of [d, p, open, keyed]) {
      for (const key of ['POST /v1/m', 'GET /v1/projects/{writeKey}/settings']) {
        s.templates.Ingest.hasResourceProperties('AWS::ApiGatewayV2::Route', { RouteKey: key, AuthorizationType: 'NONE' });
      }
      const small = resources(s.templates.Ingest, 'AWS::Lambda::Function').filter((f) =>
        /sdk\.(settings|metrics)$/.test(f.Properties.Handler),
      );
      expect(small.map((f) => f.Properties.MemorySize)).toEqual([128, 128]);
    }
  });
});

describe('Snowflake', () => {
  const trust = (s: Synthesized) =>
    resources(s.templates.Snowflake, 'AWS::IAM::Role').find((r) => /Snowflake storage integration/.test(r.Properties.Description ?? ''))!
      .Properties.AssumeRolePolicyDocument.Statement[0]!;

  it("lets only Snowflake's IAM user assume the role, with the fixed external ID", () => {
    expect(trust(p)).toMatchObject({
      Action: 'sts:AssumeRole',
      Principal: { AWS: SNOWFLAKE_USER },
      Condition: { StringEquals: { 'sts:ExternalId': 'prod-external-id-123' } },
    });
    // Before snowflake:apply has named the user: this account only, still with the external ID.
    expect(JSON.stringify(trust(d).Principal)).toMatch(/:root/);
    expect(trust(d).Condition).toEqual({ StringEquals: { 'sts:ExternalId': 'snowgate-dev' } });
  });

  it('grants read-only access to the landing prefix', () => {
    const s = statements(d.templates.Snowflake);
    expect(s.map((x) => [x.Action].flat().join(',')).sort()).toEqual([
      's3:GetBucketLocation',
      's3:GetObject,s3:GetObjectVersion',
      's3:ListBucket',
    ]);
    expect(JSON.stringify(s.find((x) => x.Action.includes?.('s3:GetObject'))!.Resource)).toMatch(/"\/events\/\*"/);
    expect(s.find((x) => x.Action === 's3:ListBucket')!.Condition).toEqual({ StringLike: { 's3:prefix': ['events/*'] } });
  });

  it('leaves Snowflake to pnpm snowflake:apply on a stage without snowflake.account: no custom resource, no Provider, no secret read', () => {
    for (const s of [d, p]) {
      const types = Object.values(s.templates).flatMap((t) => allResources(t).map((r) => r.Type));
      expect(types.filter((type) => /^Custom::Snowflake|StepFunctions/.test(type))).toEqual([]);
      expect(JSON.stringify(s.templates.Snowflake.toJSON())).not.toMatch(/secretsmanager|snowflake-resource/);
    }
  });

  it("adds the ObjectCreated notification to the pipe's queue only once it is known", () => {
    expect(Object.keys(d.templates.Storage.findResources('Custom::S3BucketNotifications'))).toHaveLength(0);
    p.templates.Storage.hasResourceProperties('Custom::S3BucketNotifications', {
      NotificationConfiguration: {
        QueueConfigurations: [
          { Events: ['s3:ObjectCreated:*'], QueueArn: SQS, Filter: { Key: { FilterRules: [{ Name: 'prefix', Value: 'events/' }] } } },
        ],
      },
    });
  });
});

describe('Alarms and outputs', () => {
  it('alarms on handler errors and throttles, API 5xx, stream throttling and lag, and Firehose freshness', () => {
    const metrics = resources(d.templates.Alarms, 'AWS::CloudWatch::Alarm')
      .map((a) => a.Properties.MetricName ?? a.Properties.AlarmName ?? 'math')
      .sort();
    expect(metrics).toEqual([
      '5xx',
      'DeliveryToS3.DataFreshness',
      'Errors',
      'GetRecords.IteratorAgeMilliseconds',
      'InternalErrors',
      'NumberOfMessagesPublished',
      'PutRecords.ThrottledRecords',
      'Throttles',
      'math',
      'math',
    ]);
    // Two topics on every stage: the alarm topic (Snowflake's freshness alert publishes to it too) and LoadErrors
    // (Snowpipe's load errors); an e-mail subscription to each where the config names one.
    d.templates.Alarms.resourceCountIs('AWS::SNS::Topic', 2);
    d.templates.Alarms.resourceCountIs('AWS::SNS::Subscription', 0);
  });

  it("notifies every alarm on the stage's topic, and on an existing alarms.topicArn too", () => {
    const subscribed = resources(p.templates.Alarms, 'AWS::SNS::Subscription').map((x) => x.Properties);
    expect(subscribed).toHaveLength(2);
    expect(subscribed).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Protocol: 'email',
          Endpoint: 'oncall@example.com',
          TopicArn: { Ref: expect.stringMatching(/^AlarmTopic/) },
        }),
        expect.objectContaining({
          Protocol: 'email',
          Endpoint: 'oncall@example.com',
          TopicArn: { Ref: expect.stringMatching(/^LoadErrors/) },
        }),
      ]),
    );
    for (const s of [d, p, keyed]) {
      const topic = Object.keys(s.templates.Alarms.findResources('AWS::SNS::Topic')).find((id) => id.startsWith('AlarmTopic'));
      const expected = s === d ? [{ Ref: topic }] : [{ Ref: topic }, ALARM_TOPIC];
      const alarms = resources(s.templates.Alarms, 'AWS::CloudWatch::Alarm');
      expect(alarms.length).toBeGreaterThanOrEqual(8);
      for (const a of alarms) expect(a.Properties.AlarmActions).toEqual(expected);
    }
  });

  it('treats missing data as breaching where silence means Firehose stopped reading, and as nothing happened elsewhere', () => {
    const byDescription = (text: RegExp) =>
      resources(d.templates.Alarms, 'AWS::CloudWatch::Alarm').filter((a) => text.test(a.Properties.AlarmDescription ?? ''));
    const all = resources(d.templates.Alarms, 'AWS::CloudWatch::Alarm');
    const breaching = all.filter((a) => a.Properties.TreatMissingData === 'breaching');
    expect(breaching.map((a) => a.Properties.MetricName)).toEqual(['GetRecords.IteratorAgeMilliseconds']);
    for (const a of all) expect(['breaching', 'notBreaching']).toContain(a.Properties.TreatMissingData);
    // Stream input that Firehose does not read: Kinesis IncomingRecords of this stream against Firehose's reads of it.
    const [unread] = byDescription(/Firehose does not read/);
    expect(unread!.Properties).toMatchObject({
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      EvaluationPeriods: 2,
      TreatMissingData: 'notBreaching',
    });
    const queries = Object.fromEntries(unread!.Properties.Metrics!.map((m) => [m.Id, m]));
    expect(Object.values(queries).find((m) => m.Expression)!.Expression).toBe('IF(incoming > 0 AND FILL(read, 0) == 0, 1, 0)');
    expect(queries.incoming!.MetricStat!.Metric).toMatchObject({ Namespace: 'AWS/Kinesis', MetricName: 'IncomingRecords' });
    expect(queries.read!.MetricStat!.Metric).toMatchObject({
      Namespace: 'AWS/Firehose',
      MetricName: 'DataReadFromKinesisStream.Records',
    });
    // The very stream and delivery stream of this stage (cross-stack references to the Stream stack).
    expect(JSON.stringify(queries.incoming!.MetricStat!.Metric)).toMatch(/Events/);
    expect(JSON.stringify(queries.read!.MetricStat!.Metric)).toMatch(/ToLanding/);
  });

  it("alarms on the ingest function's own 500s, and says what Lambda's Errors metric counts", () => {
    const alarms = resources(d.templates.Alarms, 'AWS::CloudWatch::Alarm');
    const internal = alarms.find((a) => a.Properties.MetricName === 'InternalErrors')!;
    expect(internal.Properties).toMatchObject({
      Namespace: 'Snowgate',
      Dimensions: expect.arrayContaining([{ Name: 'stage', Value: 'dev' }]),
      Statistic: 'Sum',
      Threshold: 1,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
    });
    expect(internal.Properties.AlarmDescription).toMatch(/answered 500/);
    // The handler answers its own errors, so Lambda's Errors counts only what it could not answer.
    const errors = alarms.find((a) => a.Properties.MetricName === 'Errors')!;
    expect(errors.Properties.AlarmDescription).toMatch(/without answering/);
    expect(errors.Properties.AlarmDescription).not.toMatch(/threw/);
  });

  it("lets Snowflake's freshness alert and load errors publish to their topics, and nothing else, once the integrations' external IDs are known", async () => {
    const alertRole = (s: Synthesized) =>
      resources(s.templates.Alarms, 'AWS::IAM::Role').find((r) =>
        /Snowflake notification integration/.test(r.Properties.Description ?? ''),
      )!;
    const trust = (s: Synthesized) => alertRole(s).Properties.AssumeRolePolicyDocument.Statement;
    // Before snowflake:apply has read the integration: this account only (Snowflake's documented first step).
    expect(trust(d)).toHaveLength(1);
    expect(JSON.stringify(trust(d)[0]!.Principal)).toMatch(/:root/);
    expect(trust(d)[0]!.Condition).toBeUndefined();
    const known = await synthesize(
      'prod',
      parseStageConfig({
        ...prodInput,
        snowflake: { ...prodInput.snowflake, alertExternalId: 'MYACCOUNT_SFCRole=2_abc=', errorExternalId: 'MYACCOUNT_SFCRole=2_def=' },
      }),
    );
    // Each notification integration has its own external ID: the freshness alert's and the load errors'.
    expect(trust(known)).toEqual([
      expect.objectContaining({
        Action: 'sts:AssumeRole',
        Principal: { AWS: SNOWFLAKE_USER },
        Condition: { StringEquals: { 'sts:ExternalId': ['MYACCOUNT_SFCRole=2_abc=', 'MYACCOUNT_SFCRole=2_def='] } },
      }),
    ]);
    const granted = resources(known.templates.Alarms, 'AWS::IAM::Policy').flatMap((x) => x.Properties.PolicyDocument.Statement);
    // The freshness alert's topic and the pipe's load-error topic (the second integration assumes the same role).
    expect(granted.map((x) => [x.Action, JSON.stringify(x.Resource)])).toEqual([
      ['sns:Publish', expect.stringContaining('AlarmTopic')],
      ['sns:Publish', expect.stringContaining('LoadErrors')],
    ]);
    expect(Object.keys(known.templates.Alarms.toJSON().Outputs)).toEqual(expect.arrayContaining(['AlarmTopic', 'SnowflakeAlertRoleArn']));
  }, 60_000);

  it('creates exactly the alarms, alarm metrics and dashboards the cost model prices, in every stack and configuration', () => {
    const priced = estimateMonthlyCost({ eventsPerSecond: 1, eventBytes: 500, batch: 1 }).lines;
    const pricedQuantity = (price: unknown) => priced.filter((l) => l.price === price).reduce((sum, l) => sum + l.quantity, 0);
    for (const s of [d, p, open, keyed]) {
      const templates = Object.values(s.templates);
      const alarms = templates.flatMap((t) => resources(t, 'AWS::CloudWatch::Alarm'));
      // An alarm on one metric is one alarm metric; an alarm on a metric math expression is billed per metric it reads.
      const alarmMetrics = alarms.reduce(
        (n, a) => n + (a.Properties.Metrics ? a.Properties.Metrics.filter((m) => m.MetricStat).length : 1),
        0,
      );
      const dashboards = templates.flatMap((t) => resources(t, 'AWS::CloudWatch::Dashboard')).length;
      expect({ alarms: alarms.length, alarmMetrics, dashboards }).toEqual(STAGE_ALARMS);
      expect(pricedQuantity(CLOUDWATCH_ALARM_METRIC_MONTH)).toBe(alarmMetrics);
      expect(pricedQuantity(CLOUDWATCH_DASHBOARD_MONTH)).toBe(dashboards);
      // Priced as standard resolution, and nothing the model has no price for.
      for (const a of alarms) {
        const periods = a.Properties.Metrics ? a.Properties.Metrics.flatMap((m) => m.MetricStat?.Period ?? []) : [a.Properties.Period];
        for (const period of periods) expect(period).toBeGreaterThanOrEqual(60);
      }
      for (const t of templates) t.resourceCountIs('AWS::CloudWatch::CompositeAlarm', 0);
      for (const t of templates) t.resourceCountIs('AWS::CloudWatch::AnomalyDetector', 0);
    }
  });

  it("alarms on the share of rejected records, from the ingest function's own metrics, above a minimum volume", () => {
    const alarm = resources(d.templates.Alarms, 'AWS::CloudWatch::Alarm').find((a) =>
      a.Properties.Metrics?.some((m) => m.Expression?.includes('accepted')),
    )!;
    expect(alarm.Properties).toMatchObject({
      Threshold: 0.05,
      ComparisonOperator: 'GreaterThanThreshold',
      TreatMissingData: 'notBreaching',
    });
    const byId = Object.fromEntries(alarm.Properties.Metrics!.map((m) => [m.Id, m]));
    const expression = Object.values(byId).find((m) => m.Expression)?.Expression;
    expect(expression).toBe('IF(accepted + rejected >= 100, rejected / (accepted + rejected), 0)');
    for (const name of ['accepted', 'rejected']) {
      expect(byId[name]!.MetricStat!.Metric).toEqual({
        Namespace: 'Snowgate',
        MetricName: name === 'accepted' ? 'AcceptedRecords' : 'RejectedRecords',
        Dimensions: expect.arrayContaining([
          { Name: 'service', Value: 'snowgate-ingest' },
          { Name: 'stage', Value: 'dev' },
        ]),
      });
    }
    // The function really emits them under that namespace and stage.
    const f = resources(d.templates.Ingest, 'AWS::Lambda::Function').find(
      (x) => x.Properties.Handler === 'packages/functions/src/ingest.handler',
    )!;
    expect(f.Properties.Environment.Variables.SNOWGATE_STAGE).toBe('dev');
  });

  it('draws one dashboard of the pipeline: API, Lambda, records and reasons, durability, Kinesis, Firehose, alarms', () => {
    const [dashboard] = resources(d.templates.Alarms, 'AWS::CloudWatch::Dashboard');
    expect(dashboard!.Properties.DashboardName).toBe('snowgate-dev');
    const body = JSON.stringify(dashboard!.Properties.DashboardBody);
    for (const text of [
      'AWS/ApiGateway',
      'AWS/Lambda',
      'AWS/Kinesis',
      'AWS/Firehose',
      'Snowgate',
      'AcceptedRecords',
      'RejectedRecords',
      'RejectedRecordsByReason',
      'DownstreamUnavailable',
      'PutRecordsRetries',
      'BatchSize',
      'DeliveryToS3.DataFreshness',
      'Rejected records by reason',
      'Snowpipe load errors',
      'NumberOfMessagesPublished',
      'Alarms',
    ]) {
      expect(body, text).toContain(text);
    }
    expect(Object.keys(d.templates.Alarms.toJSON().Outputs)).toContain('Dashboard');
  });

  it('outputs what operators and the Snowflake side need', () => {
    const outputs = Object.values(d.templates).flatMap((t) => Object.keys(t.toJSON().Outputs ?? {}));
    expect(outputs).toEqual(
      expect.arrayContaining([
        'ApiUrl',
        'StreamName',
        'FirehoseName',
        'LandingBucket',
        'ErrorBucket',
        'SnowflakeRoleArn',
        'SnowflakeExternalId',
        'SnowflakeStageUrl',
        'SnowflakeErrorTopicArn',
        'ReplayPolicyArn',
      ]),
    );
  });
});
