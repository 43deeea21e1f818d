import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';

/** `GET /health`: the API and its handler are up. It does not touch the downstream, so it stays cheap to poll. */
export async function handler(): Promise<APIGatewayProxyStructuredResultV2> {
  return { statusCode: 200, headers: { 'content-type': 'application/json; charset=utf-8' }, body: JSON.stringify({ status: 'ok' }) };
}
