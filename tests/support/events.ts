import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';

const here = new URL('../events/', import.meta.url);

/** A fixture from tests/events, as text. */
export function fixture(name: string): string {
  return readFileSync(new URL(name, here), 'utf8');
}

const template = JSON.parse(fixture('apigw-http-v2-post-events.json')) as APIGatewayProxyEventV2;

export interface EventOptions {
  body?: string | Uint8Array | undefined;
  /** null: no Content-Type header at all. */
  contentType?: string | null;
  headers?: Record<string, string>;
  base64?: boolean;
}

/**
 * A real API Gateway HTTP API 2.0 event (tests/events) with another body and
 * headers. Bytes are sent base64-encoded, as API Gateway does for binary bodies.
 */
export function apiEvent({
  body,
  contentType = 'application/json',
  headers = {},
  base64 = false,
}: EventOptions = {}): APIGatewayProxyEventV2 {
  const h: Record<string, string> = { ...template.headers } as Record<string, string>;
  delete h['content-type'];
  delete h['content-length'];
  if (contentType !== null) h['content-type'] = contentType;
  Object.assign(h, headers);
  let encodedBody: string | undefined;
  let isBase64Encoded = false;
  if (body instanceof Uint8Array || (base64 && typeof body === 'string')) {
    encodedBody = Buffer.from(body as Uint8Array | string).toString('base64');
    isBase64Encoded = true;
  } else {
    encodedBody = body;
  }
  return {
    ...template,
    headers: h,
    body: encodedBody,
    isBase64Encoded,
    requestContext: { ...template.requestContext, requestId: randomUUID() },
  } as APIGatewayProxyEventV2;
}

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

/**
 * Webhook-style records: each carries the JSON its webhook received as a string, as producers that forward
 * webhooks do, so every quote in it is escaped in the body and escaped again when API Gateway puts the body
 * in its event. 500 of them are 4,075,281 bytes of body (under the former 4 MiB limit) and their body alone
 * is 6,379,283 bytes as a JSON string: over Lambda's 6,291,456 before the rest of the event.
 */
export function webhookBatch(count = 500, lines = 143): string {
  const record = (i: number) => ({
    id: `wh-${i}`,
    source: 'webhook',
    payload: JSON.stringify({
      type: 'order.updated',
      order: `ord-${i}`,
      lines: Array.from({ length: lines }, (_, j) => ({ sku: `S${j}`, q: '1', t: ['a', 'b', 'c'] })),
    }),
  });
  return JSON.stringify(Array.from({ length: count }, (_, i) => record(i)));
}
