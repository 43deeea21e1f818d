import { Logger } from '@aws-lambda-powertools/logger';
import { apiKeyId, segmentRouteOf, verifyApiKey, writeKeyOfBasicAuth, type ApiKeyStore } from '@snowgate/core';
import type { APIGatewayRequestAuthorizerEventV2, APIGatewaySimpleAuthorizerWithContextResult } from 'aws-lambda';

/** What the ingest handler receives in `requestContext.authorizer.lambda`. */
export type ApiKeyContext = { producer: string; keyId: string };

/**
 * The HTTP API's Lambda authorizer for auth mode `apiKey` (simple responses):
 * allowed when the key in `header` matches an enabled record (on the Segment routes,
 * `POST /v1/…`, the key is the write key of `Authorization: Basic`, as their SDKs send it); the producer and
 * key id go on to the ingest handler in the request context. Neither the key
 * nor any header is logged; a denial logs the key id only, when it has one.
 */
export function createApiKeyAuthorizer({
  store,
  header,
  logger = new Logger({ serviceName: 'snowgate-authorizer' }),
}: {
  store: Pick<ApiKeyStore, 'get'>;
  header: string;
  logger?: Logger;
}) {
  return async function authorize(
    event: Pick<APIGatewayRequestAuthorizerEventV2, 'headers' | 'requestContext'> & { routeKey?: string },
  ): Promise<APIGatewaySimpleAuthorizerWithContextResult<ApiKeyContext | Record<string, never>>> {
    // Payload 2.0 has the route key at the top and in the request context; either names the route.
    const presented = segmentRouteOf(event.routeKey ?? event.requestContext?.routeKey)
      ? writeKeyOfBasicAuth(event.headers?.authorization)
      : event.headers?.[header];
    const checked = await verifyApiKey(presented, store);
    // API Gateway caches this answer by the key header alone, so it cannot hold for one Origin and not another:
    // a key bound to origins is for the SDK routes, whose function checks each request's Origin (write-key.ts).
    const verdict = checked.ok && checked.allowedOrigins ? ({ ok: false, reason: 'origin' } as const) : checked;
    if (verdict.ok) return { isAuthorized: true, context: { producer: verdict.producer, keyId: verdict.keyId } };
    logger.warn('API key refused', {
      reason: verdict.reason,
      keyId: presented ? apiKeyId(presented) : undefined,
      requestId: event.requestContext?.requestId,
    });
    return { isAuthorized: false, context: {} };
  };
}
