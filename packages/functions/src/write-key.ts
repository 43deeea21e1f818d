import { Logger } from '@aws-lambda-powertools/logger';
import { apiKeyId, originAllowed, presentedWriteKey, verifyApiKey, type ApiKeyStore } from '@snowgate/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';

type Handler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

/**
 * Auth mode `apiKey` on the SDK routes (`/v1/…`, `/beacon/v1/batch`): the write key checked in the function,
 * where it can be seen. A browser SDK sends it in `Authorization: Basic`, in the `writeKey` query parameter
 * (beacons) or in the body (analytics.js before 1.84); an API Gateway authorizer sees only the first two, and
 * refuses a request without its identity header before it runs. The same key store, hash comparison and cache
 * as the authorizer, the same answers (401 with no key, 403 for a wrong, revoked or origin-bound one from
 * another origin), and the producer passed on as the authorizer passes it. Neither key nor header is logged.
 */
export function withWriteKey(
  handler: Handler,
  { store, logger = new Logger({ serviceName: 'snowgate-ingest' }) }: { store: Pick<ApiKeyStore, 'get'>; logger?: Logger },
): Handler {
  const refuse = (statusCode: 401 | 403): APIGatewayProxyStructuredResultV2 => ({
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: statusCode === 401 ? 'Unauthorized' : 'Forbidden' }),
  });
  return async (event, context) => {
    const headers = event.headers ?? {};
    const presented = presentedWriteKey({
      headers,
      query: event.queryStringParameters,
      body: event.body,
      isBase64Encoded: event.isBase64Encoded,
    });
    if (presented === undefined) return refuse(401);
    const verdict = await verifyApiKey(presented, store);
    const allowed = verdict.ok && originAllowed(verdict, headers.origin);
    if (!verdict.ok || !allowed) {
      logger.warn('write key refused', {
        reason: verdict.ok ? 'origin' : verdict.reason,
        keyId: apiKeyId(presented),
        requestId: event.requestContext?.requestId,
      });
      return refuse(403);
    }
    const requestContext = {
      ...event.requestContext,
      authorizer: { lambda: { producer: verdict.producer, keyId: verdict.keyId } },
    } as APIGatewayProxyEventV2['requestContext'];
    return handler({ ...event, requestContext }, context);
  };
}
