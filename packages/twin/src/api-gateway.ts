import { API_GATEWAY_BODY_MAX_GROWTH, API_GATEWAY_EVENT_OVERHEAD_BYTES, LAMBDA_SYNC_PAYLOAD_MAX_BYTES } from '@snowgate/core';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, APIGatewayRequestAuthorizerEventV2, Context } from 'aws-lambda';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';

/**
 * The API Gateway emulation: an HTTP API (payload 2.0) in front of Lambda-like
 * functions, with the Lambda authorizer, the payload limit API Gateway
 * applies, and the one Lambda applies to the event it is invoked with. It knows only the route table it is given; other paths go to the
 * `unrouted` handler (the twin's own routes), or are answered 404.
 */

/** API Gateway HTTP APIs refuse payloads over 10 MB before any integration runs. */
export const API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1_048_576;

/**
 * The bytes Lambda counts for an invocation: the event as JSON.
 *
 * @example
 * invokePayloadBytes({ ...event, body: '"'.repeat(3_000_000) }) // → 6,000,000 + the rest of the event
 */
export function invokePayloadBytes(event: APIGatewayProxyEventV2): number {
  return Buffer.byteLength(JSON.stringify({ ...event, body: '' })) + jsonStringBytes(event.body ?? '') - 2;
}

/** UTF-8 bytes of `text` as a JSON string, quotes included. */
const jsonStringBytes = (text: string) => Buffer.byteLength(JSON.stringify(text));

/**
 * What Lambda and API Gateway do with an event over Lambda's 6 MB: Lambda
 * refuses the invocation (413 `RequestEntityTooLargeException`), the function
 * never runs, and an HTTP API answers the failed integration itself with
 * `500 {"message":"Internal Server Error"}`, the cause only in the access log's
 * `$context.integrationErrorMessage`
 * (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-troubleshooting-lambda.html).
 * (A REST API answers such a request `413 {"message": "Request Too Long"}`.)
 */
export function withInvokePayloadLimit(handler: LambdaHandler, routeKey: string): LambdaHandler {
  return async (event, context) => {
    // Below this bound (Node takes 16 KB of headers, well within the overhead) the body need not be serialized to be measured.
    const bound = API_GATEWAY_BODY_MAX_GROWTH * (event.body?.length ?? 0) + API_GATEWAY_EVENT_OVERHEAD_BYTES;
    const bytes = bound < LAMBDA_SYNC_PAYLOAD_MAX_BYTES ? 0 : invokePayloadBytes(event);
    if (bytes > LAMBDA_SYNC_PAYLOAD_MAX_BYTES) {
      console.error(
        `twin: ${routeKey} ${event.requestContext.requestId}: Lambda refused the invocation (RequestEntityTooLargeException: an event of ${bytes} bytes, over ${LAMBDA_SYNC_PAYLOAD_MAX_BYTES}); answered 500 as API Gateway does`,
      );
      return {
        statusCode: 500,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ message: 'Internal Server Error' }),
      };
    }
    return handler(event, context);
  };
}

export type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;
export type Authorize = (
  event: Pick<APIGatewayRequestAuthorizerEventV2, 'headers' | 'requestContext'>,
) => Promise<{ isAuthorized: boolean; context?: object }>;

/** A route's Lambda integration, and the Lambda authorizer in front of it, if any. */
export interface LambdaRoute {
  handler: LambdaHandler;
  /** `header` is the identity source: a request without it is refused 401 before the authorizer runs. */
  authorizer?: { header: string; authorize: Authorize };
}

/** A request that matched no route, its body read; `send` answers as the gateway answers its own routes. */
export interface UnroutedRequest {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  body: Buffer;
  send(status: number, headers: Record<string, string>, body: string): void;
}

/**
 * The API's CORS configuration, as API Gateway's HTTP API takes it (`corsPreflight`); see `@snowgate/core`'s
 * `CORS_*` constants for what the stack sets.
 */
export interface CorsPolicy {
  /** `*`, or origins as browsers send them (`https://shop.example`). */
  allowOrigins: readonly string[];
  allowHeaders: readonly string[];
  allowMethods: readonly string[];
  exposeHeaders: readonly string[];
  maxAgeSeconds: number;
}

export interface ApiGatewayOptions {
  /** By route key, as API Gateway names them: `POST /events`, `GET /v1/projects/{writeKey}/settings`. */
  routes: Record<string, LambdaRoute>;
  /** CORS as API Gateway applies it: preflights answered here, the headers added to each answer of the API. None when absent. */
  cors?: CorsPolicy | undefined;
  /** The functions' timeout: what `context.getRemainingTimeInMillis()` counts down from. */
  timeoutMs: number;
  /** Asked for each request no route takes; answers true when it answered. Otherwise the gateway answers 404. */
  unrouted?: (request: UnroutedRequest) => Promise<boolean>;
}

export interface ApiGateway {
  server: http.Server;
  /** Waits for requests in flight, after `server.close()`. */
  drain(): Promise<void>;
  /** Each answer of a route's integration (or its authorizer), by route key and status code. */
  onResponse(listener: (routeKey: string, status: number) => void): void;
}

const TEXT = /^(application\/(json|x-ndjson|ndjson|jsonl|x-jsonlines|[a-z0-9.+-]+\+json)|text\/)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns HTTP requests into API Gateway HTTP API (payload 2.0) events, as API
 * Gateway does: lower-cased header names, repeated headers joined with commas,
 * text bodies as strings and anything else base64-encoded.
 */
export function toApiGatewayEvent(
  req: http.IncomingMessage,
  body: Buffer,
  routeKey: string,
  timeoutMs: number,
  pathParameters?: Record<string, string>,
): { event: APIGatewayProxyEventV2; context: Context } {
  const headers: Record<string, string> = {};
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const name = req.rawHeaders[i]!.toLowerCase();
    const value = req.rawHeaders[i + 1]!;
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const url = new URL(req.url ?? '/', 'http://localhost');
  let text: string | undefined;
  // A compressed body is bytes whatever its media type: always base64, never a string that happened to decode.
  const encoded = (headers['content-encoding'] ?? '').split(',').some((c) => c.trim() !== '' && c.trim().toLowerCase() !== 'identity');
  if (body.length > 0 && !encoded && TEXT.test(headers['content-type'] ?? '')) {
    try {
      text = utf8.decode(body);
    } catch {
      text = undefined;
    }
  }
  // Like API Gateway's HTTP API ids (`LIxCyGd7SK4FjEg=`): 11 random bytes in base64, 16 characters.
  const requestId = randomBytes(11).toString('base64');
  const now = Date.now();
  const event: APIGatewayProxyEventV2 = {
    version: '2.0',
    routeKey,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(url.search.length > 1 ? { queryStringParameters: queryParameters(url) } : {}),
    ...(pathParameters ? { pathParameters } : {}),
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId,
      routeKey,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: body.length === 0 ? undefined : (text ?? body.toString('base64')),
    isBase64Encoded: body.length > 0 && text === undefined,
  };
  const deadline = now + timeoutMs;
  const context = {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'snowgate-local-ingest',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:local:000000000000:function:snowgate-local-ingest',
    memoryLimitInMB: '1024',
    awsRequestId: randomUUID(),
    logGroupName: '/local/snowgate-ingest',
    logStreamName: 'local',
    getRemainingTimeInMillis: () => deadline - Date.now(),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  } satisfies Context;
  return { event, context };
}

/** Query parameters as payload 2.0 gives them: a repeated name's values joined with commas. */
function queryParameters(url: URL): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of url.searchParams) out[name] = out[name] === undefined ? value : `${out[name]},${value}`;
  return out;
}

/**
 * The route a request takes: its exact route key, or else a route whose path has `{name}` segments (each
 * matching one non-empty segment), with the values of those segments.
 */
export function matchRoute(
  routeKeys: Iterable<string>,
  method: string,
  path: string,
): { routeKey: string; pathParameters?: Record<string, string> } | undefined {
  const exact = `${method} ${path}`;
  const keys = [...routeKeys];
  if (keys.includes(exact)) return { routeKey: exact };
  const segments = path.split('/');
  for (const routeKey of keys) {
    const [routeMethod, routePath = ''] = routeKey.split(' ');
    if (routeMethod !== method || !routePath.includes('{')) continue;
    const pattern = routePath.split('/');
    if (pattern.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matched = pattern.every((p, i) => {
      const segment = segments[i]!;
      if (p.startsWith('{') && p.endsWith('}')) {
        if (segment === '') return false;
        pathParameters[p.slice(1, -1)] = decodeURIComponent(segment);
        return true;
      }
      return p === segment;
    });
    if (matched) return { routeKey, pathParameters };
  }
  return undefined;
}

/**
 * The CORS headers API Gateway adds to an answer of the API for a request from `origin`: none when the
 * request has no Origin or its origin is not allowed (the browser then refuses the answer to the page).
 */
export function corsResponseHeaders(cors: CorsPolicy | undefined, origin: string | undefined): Record<string, string> {
  const allowed = allowedOrigin(cors, origin);
  if (!cors || allowed === undefined) return {};
  return {
    'access-control-allow-origin': allowed,
    ...(cors.exposeHeaders.length > 0 ? { 'access-control-expose-headers': cors.exposeHeaders.join(',') } : {}),
    ...(allowed === '*' ? {} : { vary: 'Origin' }),
  };
}

/** API Gateway's own answer to a preflight (`OPTIONS` with `Origin` and `Access-Control-Request-Method`): 204, whatever the path. */
export function preflightHeaders(cors: CorsPolicy, origin: string | undefined): Record<string, string> {
  const allowed = allowedOrigin(cors, origin);
  if (allowed === undefined) return {};
  return {
    'access-control-allow-origin': allowed,
    'access-control-allow-methods': cors.allowMethods.join(','),
    'access-control-allow-headers': cors.allowHeaders.join(','),
    'access-control-max-age': String(cors.maxAgeSeconds),
    ...(allowed === '*' ? {} : { vary: 'Origin' }),
  };
}

function allowedOrigin(cors: CorsPolicy | undefined, origin: string | undefined): string | undefined {
  if (!cors || !origin) return undefined;
  if (cors.allowOrigins.includes('*')) return '*';
  const normalized = origin.trim().toLowerCase();
  return cors.allowOrigins.some((o) => o.toLowerCase() === normalized) ? origin.trim() : undefined;
}

/** Backend CORS headers are ignored when the API has a CORS configuration: the gateway's own are what the browser sees. */
function withoutCorsHeaders(headers: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(headers).filter(([name]) => !name.toLowerCase().startsWith('access-control-')));
}

/**
 * What API Gateway does in front of a route with a Lambda authorizer (simple
 * responses): `401 Unauthorized` when the identity source (the key header) is
 * absent, without calling the authorizer; `403 Forbidden` when it says no;
 * otherwise the route's handler, with the authorizer's context in
 * `requestContext.authorizer.lambda`. (API Gateway also caches each answer by the
 * header's value; the twin asks every time, so revocation is immediate here.)
 */
export function withLambdaAuthorizer(handler: LambdaHandler, header: string, authorize: Authorize): LambdaHandler {
  const refuse = (statusCode: number, message: string): APIGatewayProxyStructuredResultV2 => ({
    statusCode,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message }),
  });
  return async (event, context) => {
    const presented = event.headers?.[header];
    if (presented === undefined || presented === '') return refuse(401, 'Unauthorized');
    const answer = await authorize({
      headers: event.headers,
      requestContext: event.requestContext as unknown as APIGatewayRequestAuthorizerEventV2['requestContext'],
    });
    if (!answer.isAuthorized) return refuse(403, 'Forbidden');
    const requestContext = {
      ...event.requestContext,
      authorizer: { lambda: answer.context ?? {} },
    } as APIGatewayProxyEventV2['requestContext'];
    return handler({ ...event, requestContext }, context);
  };
}

export function createApiGateway({ routes, cors, timeoutMs, unrouted }: ApiGatewayOptions): ApiGateway {
  const integrations = new Map(
    Object.entries(routes).map(([routeKey, route]) => {
      // The authorizer's event carries no body: only the integration's invocation can be too large.
      const handler = withInvokePayloadLimit(route.handler, routeKey);
      return [routeKey, route.authorizer ? withLambdaAuthorizer(handler, route.authorizer.header, route.authorizer.authorize) : handler];
    }),
  );
  const inFlight = new Set<Promise<void>>();
  const listeners: ((routeKey: string, status: number) => void)[] = [];

  let stopping = false;
  const send = (
    res: http.ServerResponse,
    status: number,
    headers: Record<string, string>,
    body: string | undefined,
    requestId?: string,
  ) => {
    if (res.headersSent || res.destroyed) return;
    const payload = body ?? '';
    res.writeHead(status, {
      ...headers,
      'content-length': Buffer.byteLength(payload),
      ...(requestId ? { 'apigw-requestid': requestId } : {}),
      // While stopping, keep-alive clients must reconnect (and find the port closed).
      ...(stopping ? { connection: 'close' } : {}),
    });
    res.end(payload);
  };

  const server = http.createServer((req, res) => {
    const work = (async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const route = matchRoute(integrations.keys(), req.method ?? 'GET', url.pathname);
      const routeKey = route?.routeKey ?? `${req.method} ${url.pathname}`;
      // Added to every answer of the API, errors included, as API Gateway adds them (not to the twin's own routes).
      const corsHeaders = corsResponseHeaders(cors, req.headers.origin);
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        // A client that goes away mid-body rejects this loop: nothing was invoked, nothing to answer.
        for await (const chunk of req) {
          size += (chunk as Buffer).length;
          if (size > API_GATEWAY_MAX_PAYLOAD_BYTES) {
            send(
              res,
              413,
              { 'content-type': 'application/json', connection: 'close', ...corsHeaders },
              JSON.stringify({ message: 'Request Entity Too Large' }),
            );
            res.once('finish', () => req.destroy());
            return;
          }
          chunks.push(chunk as Buffer);
        }
      } catch {
        return;
      }
      const body = Buffer.concat(chunks);
      try {
        // A preflight is the gateway's to answer, on any path: no route, no authorizer, no function runs.
        if (cors && req.method === 'OPTIONS' && req.headers.origin && req.headers['access-control-request-method']) {
          send(res, 204, preflightHeaders(cors, req.headers.origin), '');
          return;
        }
        const integration = route ? integrations.get(route.routeKey) : undefined;
        if (integration) {
          const { event, context } = toApiGatewayEvent(req, body, routeKey, timeoutMs, route?.pathParameters);
          const result = await integration(event, context);
          const status = result.statusCode ?? 200;
          const headers = (result.headers ?? {}) as Record<string, string>;
          send(
            res,
            status,
            cors ? { ...withoutCorsHeaders(headers), ...corsHeaders } : headers,
            result.body,
            event.requestContext.requestId,
          );
          for (const l of listeners) l(routeKey, status);
        } else if (
          unrouted &&
          (await unrouted({ req, res, body, send: (status, headers, payload) => send(res, status, headers, payload) }))
        ) {
          // answered by the unrouted handler
        } else {
          send(res, 404, { 'content-type': 'application/json', ...corsHeaders }, JSON.stringify({ message: 'Not Found' }));
        }
      } catch (error) {
        // What API Gateway answers when the integration fails.
        send(res, 500, { 'content-type': 'application/json', ...corsHeaders }, JSON.stringify({ message: 'Internal Server Error' }));
        console.error(`twin: ${routeKey} failed:`, error);
      }
    })();
    inFlight.add(work);
    work.catch((error) => console.error('twin: request failed:', error)).finally(() => inFlight.delete(work));
  });
  server.keepAliveTimeout = 65_000;

  return {
    server,
    async drain() {
      stopping = true;
      server.closeIdleConnections();
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      server.closeAllConnections();
    },
    onResponse(listener) {
      listeners.push(listener);
    },
  };
}
