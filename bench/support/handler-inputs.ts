/**
 * The handler benchmark's inputs, kept here and not shared with the tests: a
 * benchmark's figures compare across runs only while its inputs stay the same.
 */
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { randomUUID } from 'node:crypto';

/** A page_view that meets schemas/page_view/2.json: the 20-field schema of the benchmark. */
export const pageViewV2 = (id: string, extra: Record<string, unknown> = {}) => ({
  id,
  type: 'page_view',
  schema_version: 2,
  occurred_at: '2026-12-03T08:00:00.000Z',
  sent_at: '2026-12-03T08:00:00.120Z',
  anonymous_id: '7d0c5f5e-0b7a-4f7e-9a43-1b2f0d3c4e5f',
  user_id: 'u-42',
  session_id: 's-9',
  url: 'https://example.com/pricing?plan=pro',
  path: '/pricing',
  referrer: null,
  title: 'Pricing',
  locale: 'en-GB',
  device: { kind: 'desktop', os: 'linux', screen_width: 1920, screen_height: 1080 },
  utm: { source: 'newsletter', medium: 'email', campaign: 'winter' },
  load_time_ms: 412.5,
  consent: true,
  tags: ['a', 'b'],
  ...extra,
});

/** A real API Gateway HTTP API 2.0 event for `POST /events` (as tests/events/apigw-http-v2-post-events.json), without its body. */
const template = {
  version: '2.0',
  routeKey: 'POST /events',
  rawPath: '/events',
  rawQueryString: '',
  headers: {
    accept: '*/*',
    host: 'abc123.execute-api.eu-west-1.amazonaws.com',
    'user-agent': 'curl/8.5.0',
    'x-amzn-trace-id': 'Root=1-673f1a2b-3c4d5e6f708192a3b4c5d6e7',
    'x-forwarded-for': '203.0.113.7',
    'x-forwarded-port': '443',
    'x-forwarded-proto': 'https',
  },
  requestContext: {
    accountId: '123456789012',
    apiId: 'abc123',
    domainName: 'abc123.execute-api.eu-west-1.amazonaws.com',
    domainPrefix: 'abc123',
    http: { method: 'POST', path: '/events', protocol: 'HTTP/1.1', sourceIp: '203.0.113.7', userAgent: 'curl/8.5.0' },
    requestId: 'BkLwqjY0DoEEPqQ=',
    routeKey: 'POST /events',
    stage: '$default',
    time: '22/Nov/2026:04:05:06 +0000',
    timeEpoch: 1795320306000,
  },
  isBase64Encoded: false,
} satisfies Omit<APIGatewayProxyEventV2, 'body'>;

/** That event with a JSON body and a request id of its own. */
export function apiEvent({ body }: { body: string }): APIGatewayProxyEventV2 {
  return {
    ...template,
    headers: { ...template.headers, 'content-type': 'application/json' },
    body,
    requestContext: { ...template.requestContext, requestId: randomUUID() },
  };
}

/** A Lambda context whose deadline is `remainingMs` away. */
export function lambdaContext(remainingMs = 10_000): Context {
  const deadline = Date.now() + remainingMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'snowgate-ingest',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:eu-west-1:123456789012:function:snowgate-ingest',
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: '/aws/lambda/snowgate-ingest',
    logStreamName: 'test',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
