import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { MiddlewareObj } from '@middy/core';
import type { Logger } from '@aws-lambda-powertools/logger';
import { DownstreamUnavailableError, type AuthKind, type IncomingRequest, type IngestResponse } from '@snowgate/core';
import type { IngestMetrics } from './metrics';

/**
 * The one place where outcomes and errors become HTTP: the answer to an
 * assessment, and the error middleware for what is thrown.
 */

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

export function jsonResponse(statusCode: number, body: unknown, headers: Record<string, string> = {}): APIGatewayProxyStructuredResultV2 {
  return { statusCode, headers: { ...JSON_HEADERS, ...headers }, body: JSON.stringify(body) };
}

/**
 * An API Gateway HTTP API (payload 2.0) event as the domain's request. Header
 * names are lower-cased again here, for callers other than API Gateway.
 */
export function toIncomingRequest(event: APIGatewayProxyEventV2, receivedAt: Date): IncomingRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value === undefined) continue;
    const key = name.toLowerCase();
    headers[key] = headers[key] === undefined ? value : `${headers[key]},${value}`;
  }
  return {
    requestId: event.requestContext?.requestId ?? 'unknown',
    receivedAt,
    headers,
    body: event.body,
    isBase64Encoded: event.isBase64Encoded === true,
    sourceIp: event.requestContext?.http?.sourceIp,
    ...callerOf(event),
  };
}

/** What API Gateway's authorizer left in the request context (payload 2.0: `requestContext.authorizer`). */
type AuthorizerContext = {
  lambda?: { producer?: unknown };
  iam?: { userArn?: unknown };
  jwt?: { claims?: { sub?: unknown } };
};

/**
 * Who called, as the route's authorizer established it: the API-key authorizer's producer, the
 * SigV4 caller's ARN (`authorizer.iam.userArn`), or the token's `sub` (`authorizer.jwt.claims`).
 */
function callerOf(event: APIGatewayProxyEventV2): { auth?: AuthKind; producer?: string } {
  const authorizer = (event.requestContext as { authorizer?: AuthorizerContext } | undefined)?.authorizer;
  if (typeof authorizer?.lambda?.producer === 'string') return { auth: 'apiKey', producer: authorizer.lambda.producer };
  if (typeof authorizer?.iam?.userArn === 'string') return { auth: 'iam', producer: authorizer.iam.userArn };
  if (typeof authorizer?.jwt?.claims?.sub === 'string') return { auth: 'jwt', producer: authorizer.jwt.claims.sub };
  return {};
}

function requestIdOf(event: APIGatewayProxyEventV2 | undefined): string {
  return event?.requestContext?.requestId ?? 'unknown';
}

/**
 * Maps thrown errors to answers: 503 with Retry-After when the downstream
 * could not take the input in time (worth retrying); 500 for everything else,
 * which a retry cannot fix until an operator does (a missing stream or bucket,
 * denied access, a disabled KMS key, a bug). A 500 says only "internal error"
 * and the request id: the cause is in the log under that id, and in the
 * `InternalErrors` metric and its alarm. Bad input never arrives here: it is
 * an assessment, not an exception.
 */
export function ingestErrorHandler(
  logger: Logger,
  metrics?: IngestMetrics,
): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: async (request) => {
      const error = request.error;
      const requestId = requestIdOf(request.event);
      if (error instanceof DownstreamUnavailableError) {
        logger.warn('downstream unavailable; answered 503', { requestId, error: { name: error.name, message: error.message } });
        request.response = nothingAcknowledged(
          metrics,
          503,
          requestId,
          'downstream_unavailable',
          `${error.message}; nothing in this request is acknowledged, retry it`,
          { 'retry-after': String(error.retryAfterSeconds) },
        );
        return;
      }
      logger.error('internal error; answered 500', { requestId, error: describe(error) });
      // Nothing about the cause: names of streams, buckets, keys and roles stay in the log.
      request.response = nothingAcknowledged(
        metrics,
        500,
        requestId,
        'internal_error',
        `internal error; nothing in this request is acknowledged (request id ${requestId})`,
      );
    },
  };
}

/**
 * The answer when nothing of a request was stored (503: retry; 500: a retry cannot succeed), counted in the
 * function's metrics as such.
 */
function nothingAcknowledged(
  metrics: IngestMetrics | undefined,
  status: 500 | 503,
  requestId: string,
  reason: 'downstream_unavailable' | 'internal_error',
  message: string,
  headers: Record<string, string> = {},
): APIGatewayProxyStructuredResultV2 {
  metrics?.record({
    accepted: 0,
    rejected: 0,
    reasons: {},
    schemaWarnings: 0,
    streamRecords: 0,
    putRecordsRetries: 0,
    downstreamUnavailable: status === 503,
    ...(status === 500 ? { internalError: true } : {}),
  });
  const body: IngestResponse = { requestId, accepted: 0, rejected: 0, errors: [{ index: null, reason, message }] };
  return jsonResponse(status, body, headers);
}

/** An error for the log: its name, message and stack, and its cause's name and message (the SDK's error under ours). */
function describe(error: unknown): unknown {
  if (!(error instanceof Error)) return String(error);
  const cause = error.cause instanceof Error ? { cause: { name: error.cause.name, message: error.cause.message } } : {};
  return { name: error.name, message: error.message, stack: error.stack, ...cause };
}
