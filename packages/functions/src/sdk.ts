import { segmentSettings } from '@snowgate/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { jsonResponse } from './http';

/**
 * What the browser SDKs ask of their vendor besides sending events, answered here so that a page needs only
 * this API: analytics.js's settings (`GET /v1/projects/{writeKey}/settings`, pointing it back at this host)
 * and its own metrics (`POST /v1/m`, taken and dropped: they are the SDK's, not the product's events).
 */
export async function settings(event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const writeKey = event.pathParameters?.writeKey ?? '';
  const host = event.headers?.host ?? event.requestContext.domainName;
  // API Gateway sets X-Forwarded-Proto (https); the twin, plain HTTP, sets none.
  const protocol = event.headers?.['x-forwarded-proto'] === 'https' ? 'https' : 'http';
  // The settings hold no secret (the write key is the page's own): browsers may cache them for a few minutes.
  return jsonResponse(200, segmentSettings(writeKey, host, protocol), { 'cache-control': 'public, max-age=300' });
}

export async function metrics(): Promise<APIGatewayProxyStructuredResultV2> {
  return jsonResponse(200, { success: true });
}
