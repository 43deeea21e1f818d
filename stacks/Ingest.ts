import { ingestEnvironment, stageCors } from '@snowgate/config';
import { SEGMENT_METRICS_ROUTE_KEY, SEGMENT_ROUTE_KEYS, SEGMENT_SETTINGS_ROUTE_KEY } from '@snowgate/core';
import { apiKeyParameterPrefix } from '@snowgate/functions/api-key-store';
import { INGEST_NODE_OPTIONS } from '@snowgate/functions/runtime';
import { ArnFormat, RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Api, Function as SstFunction, use, type ApiAuthorizer, type StackContext } from 'sst/constructs';
import { lambdaNodejs } from './bundling';
import { stageConfig } from './config';
import { prepareContracts } from './contracts';
import { BASIC_EXECUTION, objectsUnderPrefix, suppress } from './nag';
import { REPLAY_PREFIX, Storage } from './Storage';
import { Stream } from './Stream';

/** The newest Node.js Lambda runtime (the handler is also tested on Node 20 and 22). */
export const LAMBDA_RUNTIME = 'nodejs24.x';

export const RETENTION = { 7: 'one_week', 14: 'two_weeks', 30: 'one_month', 90: 'three_months', 365: 'one_year' } as const;

/**
 * The API's access log line (JSON), SST's default fields and what they lack: why
 * API Gateway answered by itself. A request that never reached the function
 * (an invocation refused for its size, a throttle, a missing permission) says
 * so only here, in `integrationErrorMessage`, `integrationError` and the error
 * fields; `integrationServiceStatus` is the invoke call's own status (413 for
 * a payload over Lambda's 6 MB). No header is logged.
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html
 */
export const ACCESS_LOG_FIELDS = {
  requestTime: '$context.requestTime',
  requestId: '$context.requestId',
  httpMethod: '$context.httpMethod',
  path: '$context.path',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  responseLatency: '$context.responseLatency',
  integrationRequestId: '$context.integration.requestId',
  integrationStatus: '$context.integration.status',
  integrationServiceStatus: '$context.integration.integrationStatus',
  integrationLatency: '$context.integration.latency',
  integrationError: '$context.integration.error',
  integrationErrorMessage: '$context.integrationErrorMessage',
  errorMessage: '$context.error.message',
  errorResponseType: '$context.error.responseType',
  authorizerError: '$context.authorizer.error',
  ip: '$context.identity.sourceIp',
  userAgent: '$context.identity.userAgent',
} as const;

/** Every value quoted: a variable API Gateway has no value for logs `-`, which unquoted would not be JSON. */
const accessLogFormat = () => JSON.stringify(ACCESS_LOG_FIELDS);

/** The HTTP API and its ingest Lambda, allowed to do exactly two things: PutRecords on the stream, PutObject under the quarantine prefix. */
export function Ingest({ stack, app }: StackContext) {
  const config = stageConfig(app);
  const { errors } = use(Storage);
  const { stream } = use(Stream);

  // Every schema is compiled here, so that a bad one stops synth and deploy with its file named, never a cold start;
  // with contracts on, they ship as standalone validators beside the schemas.
  const contracts = prepareContracts(config.contracts, app.stage);

  const common = {
    runtime: LAMBDA_RUNTIME,
    architecture: 'arm_64',
    logRetention: RETENTION[config.lambda.logRetentionDays],
    nodejs: lambdaNodejs(),
    // X-Ray needs `xray:Put*` on `*` (it has no resource-level permissions): off, so that no grant has a wildcard.
    tracing: 'disabled',
  } as const;

  // What the ingest function and the SDK routes' function (auth mode apiKey, below) share: the handler's
  // settings and its bundle.
  const ingestBase = {
    ...common,
    memorySize: config.lambda.memoryMb,
    timeout: config.lambda.timeoutSeconds,
    // The handler loads `schemas/validators.mjs` from its task root at cold start (SNOWGATE_SCHEMAS_DIR is relative to it).
    ...(contracts ? { copyFiles: contracts.copyFiles } : {}),
    environment: {
      ...ingestEnvironment(config, { streamName: stream.streamName, errorBucket: errors.bucketName }),
      NODE_OPTIONS: INGEST_NODE_OPTIONS,
      // The metrics' stage dimension (packages/functions/src/metrics.ts).
      SNOWGATE_STAGE: app.stage,
      POWERTOOLS_SERVICE_NAME: 'snowgate-ingest',
      POWERTOOLS_LOG_LEVEL: 'INFO',
    },
  };
  // New statements for each function: a statement belongs to the policy it is added to.
  const ingestPermissions = () => [
    new iam.PolicyStatement({ actions: ['kinesis:PutRecords'], resources: [stream.streamArn] }),
    new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [errors.arnForObjects(`${config.buckets.errorPrefix}*`)] }),
  ];
  const ingest = new SstFunction(stack, 'IngestFn', {
    ...ingestBase,
    handler: 'packages/functions/src/ingest.handler',
    description: 'POST /events: validate, quarantine, put on Kinesis',
    permissions: ingestPermissions(),
  });

  const health = new SstFunction(stack, 'HealthFn', {
    ...common,
    handler: 'packages/functions/src/health.handler',
    description: 'GET /health',
    memorySize: 128,
    timeout: 3,
  });

  const authorizers: Record<string, ApiAuthorizer> = {};
  if (config.auth.mode === 'jwt') authorizers.jwt = { type: 'jwt', jwt: { issuer: config.auth.issuer, audience: config.auth.audience } };
  let keysPrefix: string | undefined;
  if (config.auth.mode === 'apiKey') {
    keysPrefix = apiKeyParameterPrefix(app.stage);
    const keys = keysArn(stack, keysPrefix);
    const authorizer = new SstFunction(stack, 'AuthorizerFn', {
      ...common,
      handler: 'packages/functions/src/authorizer.handler',
      description: 'POST /events: API keys checked against hashed records in SSM',
      memorySize: 256,
      timeout: 3,
      environment: {
        SNOWGATE_API_KEYS_PREFIX: keysPrefix,
        SNOWGATE_API_KEY_HEADER: config.auth.header,
        POWERTOOLS_SERVICE_NAME: 'snowgate-authorizer',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      },
      // Reads one key's record at a time, by its id; never lists, never writes.
      permissions: [new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [keys] })],
    });
    suppress(authorizer, [BASIC_EXECUTION, KEY_RECORDS]);
    authorizers.apiKey = {
      type: 'lambda',
      function: authorizer,
      responseTypes: ['simple'],
      identitySource: [`$request.header.${config.auth.header}`],
      resultsCacheTtl: `${config.auth.cacheSeconds} seconds`,
    };
  }
  // The SDK routes (`/v1/…`, `/beacon/v1/batch`: docs/SEGMENT.md, docs/BROWSER.md) on the same handler. In auth
  // mode apiKey, a function of its own checks their write key where the SDK puts it (the Basic header, the
  // `writeKey` query parameter, the body), which an API Gateway authorizer cannot: it sees no body, and refuses a
  // beacon (no header) before it runs. In the other modes, the stage's mode, as on /events.
  let sdkIngest: SstFunction | undefined;
  if (config.auth.mode === 'apiKey' && keysPrefix) {
    sdkIngest = new SstFunction(stack, 'SdkIngestFn', {
      ...ingestBase,
      handler: 'packages/functions/src/sdk-ingest.handler',
      description: 'The SDK routes (/v1/..., /beacon/v1/batch): the write key checked, then as POST /events',
      environment: {
        ...ingestBase.environment,
        SNOWGATE_API_KEYS_PREFIX: keysPrefix,
        SNOWGATE_API_KEYS_CACHE_SECONDS: String(Math.min(60, config.auth.cacheSeconds)),
      },
      permissions: [
        ...ingestPermissions(),
        new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: [keysArn(stack, keysPrefix)] }),
      ],
    });
    suppress(sdkIngest, [
      BASIC_EXECUTION,
      objectsUnderPrefix(config.buckets.errorPrefix, 'Quarantine objects get a new unique key each time, under the error prefix only'),
      KEY_RECORDS,
    ]);
  }
  const segmentRoutes = Object.fromEntries(
    Object.keys(SEGMENT_ROUTE_KEYS).map((key) => [key, sdkIngest ? { function: sdkIngest, authorizer: 'none' as const } : ingest]),
  );
  // What analytics.js would otherwise ask Segment's CDN and API for: nothing secret, no data stored.
  const sdkSettings = new SstFunction(stack, 'SdkSettingsFn', {
    ...common,
    handler: 'packages/functions/src/sdk.settings',
    description: "GET /v1/projects/{writeKey}/settings: analytics.js's settings, pointing it at this API",
    memorySize: 128,
    timeout: 3,
  });
  const sdkMetrics = new SstFunction(stack, 'SdkMetricsFn', {
    ...common,
    handler: 'packages/functions/src/sdk.metrics',
    description: "POST /v1/m: analytics.js's own metrics, answered and dropped",
    memorySize: 128,
    timeout: 3,
  });
  // Web pages send events too: API Gateway answers their preflights and adds the CORS headers to every
  // answer (the function never sees an OPTIONS). Off when the stage lists no origins.
  const cors = stageCors(config);
  const api = new Api(stack, 'Api', {
    cors: cors
      ? {
          allowOrigins: cors.allowOrigins,
          allowHeaders: cors.allowHeaders,
          allowMethods: cors.allowMethods as ('GET' | 'POST')[],
          exposeHeaders: cors.exposeHeaders,
          maxAge: `${cors.maxAgeSeconds} seconds`,
        }
      : false,
    authorizers,
    defaults: {
      authorizer: config.auth.mode,
      throttle: { rate: config.api.throttleRate, burst: config.api.throttleBurst },
    },
    accessLog: { format: accessLogFormat(), retention: RETENTION[config.lambda.logRetentionDays] },
    routes: {
      'POST /events': ingest,
      ...segmentRoutes,
      // Reveals nothing and touches no data: left open so that load balancers and uptime checks can poll it.
      [SEGMENT_METRICS_ROUTE_KEY]: { function: sdkMetrics, authorizer: 'none' },
      [SEGMENT_SETTINGS_ROUTE_KEY]: { function: sdkSettings, authorizer: 'none' },
      'GET /health': { function: health, authorizer: 'none' },
    },
  });

  suppress(ingest, [
    BASIC_EXECUTION,
    objectsUnderPrefix(config.buckets.errorPrefix, 'Quarantine objects get a new unique key each time, under the error prefix only'),
  ]);
  suppress(health, [BASIC_EXECUTION]);
  suppress(sdkSettings, [BASIC_EXECUTION]);
  suppress(sdkMetrics, [BASIC_EXECUTION]);
  // Access logs expire by retention; they must not outlive the stage (CDK's default for log groups is to retain).
  api.cdk.accessLogGroup?.applyRemovalPolicy(RemovalPolicy.DESTROY);

  // SST names a route's construct `Route_<METHOD>_<path>`, and constructs write each `/` of an id as `--`.
  const route = (key: string) => api.node.findChild(`Route_${key.replace(' ', '_').replace(/\//g, '--')}`);
  suppress(route('GET /health'), [
    { id: 'AwsSolutions-APIG4', reason: 'GET /health is open on purpose: it reads no data and writes none' },
  ]);
  for (const key of [SEGMENT_METRICS_ROUTE_KEY, SEGMENT_SETTINGS_ROUTE_KEY]) {
    suppress(route(key), [
      {
        id: 'AwsSolutions-APIG4',
        reason: "analytics.js's settings and metrics routes are open on purpose: they store nothing and reveal nothing",
      },
    ]);
  }
  if (sdkIngest) {
    for (const key of Object.keys(SEGMENT_ROUTE_KEYS)) {
      suppress(route(key), [
        {
          id: 'AwsSolutions-APIG4',
          reason:
            'The SDK routes check their write key in the function (the Basic header, the writeKey query, the body), as no authorizer can',
        },
      ]);
    }
  }
  if (config.auth.mode === 'none') {
    for (const key of ['POST /events', ...Object.keys(SEGMENT_ROUTE_KEYS)]) {
      suppress(route(key), [
        { id: 'AwsSolutions-APIG4', reason: 'This stage\'s config sets auth mode "none" (refused for production stages)' },
      ]);
    }
  }

  // What `pnpm replay --stage X --send` needs, and nothing more: attach it to the operator's role.
  const replayPolicy = new iam.ManagedPolicy(stack, 'ReplayPolicy', {
    description: 'pnpm replay: read the quarantine, keep the replay ledger and lock, put records on the stream and read it back',
    statements: [
      // Unconditioned: S3 answers a missing key (a ledger entry not written yet) with 404 only to a caller
      // that may list the bucket, and a GetObject carries no s3:prefix for a condition to match (403 otherwise).
      new iam.PolicyStatement({ actions: ['s3:ListBucket'], resources: [errors.bucketArn] }),
      new iam.PolicyStatement({
        actions: ['s3:GetObject'],
        resources: [errors.arnForObjects(`${config.buckets.errorPrefix}*`), errors.arnForObjects(`${REPLAY_PREFIX}*`)],
      }),
      new iam.PolicyStatement({ actions: ['s3:PutObject'], resources: [errors.arnForObjects(`${REPLAY_PREFIX}*`)] }),
      // Only the lock is ever deleted: the quarantine and the ledger are never.
      new iam.PolicyStatement({ actions: ['s3:DeleteObject'], resources: [errors.arnForObjects(`${REPLAY_PREFIX}lock.json`)] }),
      new iam.PolicyStatement({
        actions: [
          'kinesis:PutRecords',
          'kinesis:ListShards',
          'kinesis:GetShardIterator',
          'kinesis:GetRecords',
          'kinesis:DescribeStreamSummary',
        ],
        resources: [stream.streamArn],
      }),
    ],
  });
  suppress(replayPolicy, [
    objectsUnderPrefix(config.buckets.errorPrefix, 'Replay reads every quarantine object under the error prefix, and nothing else'),
    objectsUnderPrefix(REPLAY_PREFIX, 'Replay keeps one ledger object per replayed quarantine object under its own prefix'),
  ]);

  stack.addOutputs({
    ApiUrl: api.url,
    IngestFunction: ingest.functionName,
    AuthMode: config.auth.mode,
    ReplayPolicyArn: replayPolicy.managedPolicyArn,
    ...(keysPrefix ? { ApiKeysParameterPath: keysPrefix } : {}),
  });
  return { api, ingest, health, replayPolicy };
}

/** The SSM parameters of a stage's key records: read one at a time, by key id. */
function keysArn(stack: StackContext['stack'], keysPrefix: string): string {
  return stack.formatArn({
    service: 'ssm',
    resource: 'parameter',
    resourceName: `${keysPrefix.slice(1)}*`,
    arnFormat: ArnFormat.SLASH_RESOURCE_NAME,
  });
}

const KEY_RECORDS = {
  id: 'AwsSolutions-IAM5',
  reason: "One SSM parameter per API key, named by the key id the request presents: the function reads only under this stage's key path",
  appliesTo: [{ regex: '/^Resource::arn:<AWS::Partition>:ssm:.*:parameter\\/snowgate\\/.*\\/api-keys\\/\\*$/g' }],
};
