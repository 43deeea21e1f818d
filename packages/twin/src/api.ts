import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import { isLocalRequest } from './dashboard';

/** API Gateway HTTP APIs refuse payloads over 10 MB before any integration runs. */
export const API_GATEWAY_MAX_PAYLOAD_BYTES = 10 * 1_048_576;

type LambdaHandler = (event: APIGatewayProxyEventV2, context: Context) => Promise<APIGatewayProxyStructuredResultV2>;

export interface ApiRoutes {
  'POST /events': LambdaHandler;
  'GET /health': LambdaHandler;
  /** Twin-only paths, not part of the deployed API. */
  'GET /status'?: () => unknown;
  'POST /query'?: (sql: string) => Promise<unknown>;
  /** The dashboard's pages and data (`GET /`, `/ui/…`); answers true when it handled the request. */
  dashboard?: (req: http.IncomingMessage, res: http.ServerResponse) => Promise<boolean>;
}

export interface ApiServer {
  server: http.Server;
  /** Waits for requests in flight, after `server.close()`. */
  drain(): Promise<void>;
  onResponse(listener: (route: string, status: number, body: string | undefined) => void): void;
}

const TEXT = /^(application\/(json|x-ndjson|ndjson|jsonl|x-jsonlines|[a-z0-9.+-]+\+json)|text\/)/i;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns HTTP requests into API Gateway HTTP API (payload 2.0) events, as API
 * Gateway does: lower-cased header names, repeated headers joined with commas,
 * text bodies as strings and anything else base64-encoded.
 */
export function toApiGatewayEvent(req: http.IncomingMessage, body: Buffer, routeKey: string, timeoutMs: number): { event: APIGatewayProxyEventV2; context: Context } {
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
    requestContext: {
      accountId: '000000000000',
      apiId: 'local',
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'local',
      http: { method: req.method ?? 'GET', path: url.pathname, protocol: `HTTP/${req.httpVersion}`, sourceIp: req.socket.remoteAddress ?? '127.0.0.1', userAgent: headers['user-agent'] ?? '' },
      requestId,
      routeKey,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    body: body.length === 0 ? undefined : text ?? body.toString('base64'),
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

export function createApiServer(routes: ApiRoutes, { timeoutMs }: { timeoutMs: number }): ApiServer {
  const inFlight = new Set<Promise<void>>();
  const listeners: ((route: string, status: number, body: string | undefined) => void)[] = [];

  let stopping = false;
  const send = (res: http.ServerResponse, status: number, headers: Record<string, string>, body: string | undefined, requestId?: string) => {
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
      const routeKey = `${req.method} ${url.pathname}`;
      const chunks: Buffer[] = [];
      let size = 0;
      try {
        // A client that goes away mid-body rejects this loop: nothing was invoked, nothing to answer.
        for await (const chunk of req) {
          size += (chunk as Buffer).length;
          if (size > API_GATEWAY_MAX_PAYLOAD_BYTES) {
            send(res, 413, { 'content-type': 'application/json', connection: 'close' }, JSON.stringify({ message: 'Request Entity Too Large' }));
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
        if (routeKey === 'POST /events' || routeKey === 'GET /health') {
          const { event, context } = toApiGatewayEvent(req, body, routeKey, timeoutMs);
          const result = await routes[routeKey](event, context);
          const status = result.statusCode ?? 200;
          send(res, status, (result.headers ?? {}) as Record<string, string>, result.body, event.requestContext.requestId);
          for (const l of listeners) l(routeKey, status, result.body);
        } else if (routeKey === 'GET /status' && routes['GET /status'] && isLocalRequest(req)) {
          send(res, 200, { 'content-type': 'application/json' }, JSON.stringify(routes['GET /status'](), null, 2));
        } else if (routeKey === 'POST /query' && routes['POST /query'] && isLocalRequest(req) && req.headers['x-snowgate-query'] === '1') {
          // The custom header makes a cross-origin page preflight, which this server never answers, and a loopback
          // Host keeps a DNS-rebound page out: only `pnpm query` and the twin's own dashboard can query.
          send(res, 200, { 'content-type': 'application/json' }, JSON.stringify(await routes['POST /query'](body.toString('utf8'))));
        } else if (req.method === 'GET' && routes.dashboard && (await routes.dashboard(req, res))) {
          // answered by the dashboard
        } else {
          send(res, 404, { 'content-type': 'application/json' }, JSON.stringify({ message: 'Not Found' }));
        }
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // What API Gateway answers when the integration fails.
        send(res, routeKey === 'POST /query' ? 400 : 500, { 'content-type': 'application/json' }, JSON.stringify({ message: routeKey === 'POST /query' ? message : 'Internal Server Error' }));
        if (routeKey !== 'POST /query') console.error(`twin: ${routeKey} failed:`, error);
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
