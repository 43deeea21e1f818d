import { LAMBDA_SYNC_PAYLOAD_MAX_BYTES } from '@snowgate/core';
import { createApiCounters, createApiGateway, invokePayloadBytes, type LambdaHandler } from '@snowgate/twin';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { webhookBatch } from '../support/events';

/**
 * The API Gateway emulation on its own, with a Lambda-like function that
 * records what it is given: it knows only the route table and the handler of
 * unrouted requests it is handed, nothing of the twin's own routes.
 */
describe('the API Gateway emulation', () => {
  const invoked: APIGatewayProxyEventV2[] = [];
  const answered: [string, number][] = [];
  const handler: LambdaHandler = async (event) => {
    invoked.push(event);
    return { statusCode: 202, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ seen: event.routeKey }) };
  };
  const gateway = createApiGateway({
    routes: {
      'POST /events': {
        handler,
        authorizer: {
          header: 'x-api-key',
          authorize: async (e) => ({ isAuthorized: e.headers?.['x-api-key'] === 'good', context: { producer: 'me' } }),
        },
      },
      'GET /health': { handler },
    },
    timeoutMs: 10_000,
    unrouted: async ({ req, send }) => {
      if (req.url !== '/mine') return false;
      send(200, { 'content-type': 'text/plain' }, 'mine');
      return true;
    },
  });
  gateway.onResponse((routeKey, status) => answered.push([routeKey, status]));
  let base: string;
  beforeAll(async () => {
    await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    const closed = new Promise<void>((resolve) => gateway.server.close(() => resolve()));
    await gateway.drain();
    await closed;
  });

  it('runs the authorizer before the route: 401 without the header (authorizer not asked), 403 when it says no, the context passed on when it says yes', async () => {
    const send = (headers: Record<string, string>) =>
      fetch(`${base}/events`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"id":1}' });
    expect((await send({})).status).toBe(401);
    expect((await send({ 'x-api-key': 'bad' })).status).toBe(403);
    expect(invoked).toHaveLength(0);
    const ok = await send({ 'x-api-key': 'good' });
    expect([ok.status, await ok.json()]).toEqual([202, { seen: 'POST /events' }]);
    expect(ok.headers.get('apigw-requestid')).toMatch(/^[A-Za-z0-9+/]{14}[A-Za-z0-9+/=]{2}$/);
    expect(invoked).toHaveLength(1);
    expect(invoked[0]).toMatchObject({
      version: '2.0',
      routeKey: 'POST /events',
      rawPath: '/events',
      body: '{"id":1}',
      isBase64Encoded: false,
      requestContext: { authorizer: { lambda: { producer: 'me' } } },
    });
    expect(answered).toEqual([
      ['POST /events', 401],
      ['POST /events', 403],
      ['POST /events', 202],
    ]);
  });

  it('hands what no route takes to the unrouted handler, and answers 404 when that declines too', async () => {
    const mine = await fetch(`${base}/mine`);
    expect([mine.status, await mine.text()]).toEqual([200, 'mine']);
    const other = await fetch(`${base}/status`);
    expect([other.status, await other.json()]).toEqual([404, { message: 'Not Found' }]);
    expect(answered.map(([routeKey]) => routeKey)).not.toContain('GET /status');
  });
});

describe("the API Gateway emulation: Lambda's 6 MB invoke payload", () => {
  const invoked: APIGatewayProxyEventV2[] = [];
  const handler: LambdaHandler = async (event) => {
    invoked.push(event);
    return { statusCode: 202, headers: { 'content-type': 'application/json' }, body: '{}' };
  };
  const gateway = createApiGateway({ routes: { 'POST /events': { handler } }, timeoutMs: 10_000 });
  let base: string;
  beforeAll(async () => {
    await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    const closed = new Promise<void>((resolve) => gateway.server.close(() => resolve()));
    await gateway.drain();
    await closed;
  });
  const post = (body: string) => fetch(`${base}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it('counts what Lambda counts: the whole event as JSON, the body escaped in it', async () => {
    const body = '[{"id":"q","s":"\\"\\u0001"}]';
    expect((await post(body)).status).toBe(202);
    const event = invoked.at(-1)!;
    expect(invokePayloadBytes(event)).toBe(Buffer.byteLength(JSON.stringify(event)));
  });

  it('never invokes the function with an event over 6 MB, and answers 500 Internal Server Error as an HTTP API does, even for a body under 4 MiB', async () => {
    const body = webhookBatch();
    expect(Buffer.byteLength(body)).toBe(4_075_281);
    const before = invoked.length;
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const response = await post(body);
      expect([response.status, await response.json()]).toEqual([500, { message: 'Internal Server Error' }]);
      expect(logged.mock.calls.flat().join(' ')).toMatch(/RequestEntityTooLargeException: an event of \d+ bytes, over 6291456/);
    } finally {
      logged.mockRestore();
    }
    expect(invoked).toHaveLength(before);
    // The same number of bytes with nothing to escape reaches the function.
    const plain = JSON.stringify([{ id: 'plain', pad: 'x'.repeat(Buffer.byteLength(body) - 25) }]);
    expect(Buffer.byteLength(plain)).toBe(Buffer.byteLength(body));
    expect((await post(plain)).status).toBe(202);
    expect(invokePayloadBytes(invoked.at(-1)!)).toBeLessThan(LAMBDA_SYNC_PAYLOAD_MAX_BYTES);
  });
});

describe("the API Gateway emulation's CORS, as API Gateway's HTTP API applies its corsPreflight", () => {
  const invoked: string[] = [];
  const gateway = createApiGateway({
    routes: {
      'POST /events': {
        handler: async (event) => {
          invoked.push(event.rawPath);
          const status = Number(event.headers?.['x-answer'] ?? 202);
          return {
            statusCode: status,
            // Ignored: with a CORS configuration, API Gateway's headers replace the backend's.
            headers: { 'content-type': 'application/json', 'access-control-allow-origin': 'https://evil.example', 'retry-after': '1' },
            body: '{}',
          };
        },
        authorizer: { header: 'authorization', authorize: async () => ({ isAuthorized: false }) },
      },
      'GET /v1/projects/{writeKey}/settings': {
        handler: async (event) => ({ statusCode: 200, body: JSON.stringify(event.pathParameters) }),
      },
    },
    cors: {
      allowOrigins: ['https://shop.example'],
      allowHeaders: ['authorization', 'content-type'],
      allowMethods: ['GET', 'POST'],
      exposeHeaders: ['retry-after'],
      maxAgeSeconds: 7200,
    },
    timeoutMs: 10_000,
    unrouted: async ({ req, send }) => {
      if (req.url !== '/mine') return false;
      send(200, { 'content-type': 'text/plain' }, 'mine');
      return true;
    },
  });
  let base: string;
  beforeAll(async () => {
    await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    const closed = new Promise<void>((resolve) => gateway.server.close(() => resolve()));
    await gateway.drain();
    await closed;
  });
  const preflight = (path: string, origin: string) =>
    fetch(`${base}${path}`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
  const cors = (r: Response) =>
    Object.fromEntries([...r.headers].filter(([name]) => name.startsWith('access-control-') || name === 'vary'));

  it('answers a preflight itself, on any path, without the authorizer or the function: 204 with the configured headers', async () => {
    for (const path of ['/events', '/anything']) {
      const r = await preflight(path, 'https://shop.example');
      expect(r.status).toBe(204);
      expect(cors(r)).toEqual({
        'access-control-allow-origin': 'https://shop.example',
        'access-control-allow-methods': 'GET,POST',
        'access-control-allow-headers': 'authorization,content-type',
        'access-control-max-age': '7200',
        vary: 'Origin',
      });
    }
    // Another origin: no CORS headers, so the browser refuses to send.
    const other = await preflight('/events', 'https://evil.example');
    expect([other.status, cors(other)]).toEqual([204, {}]);
    expect(invoked).toEqual([]);
  });

  it("adds the headers to every answer of the API, refusals, 4xx and 503 included, in place of the function's", async () => {
    const post = (headers: Record<string, string>, path = '/events') =>
      fetch(`${base}${path}`, { method: 'POST', headers: { origin: 'https://shop.example', ...headers }, body: '{}' });
    const expected = {
      'access-control-allow-origin': 'https://shop.example',
      'access-control-expose-headers': 'retry-after',
      vary: 'Origin',
    };
    const refused = await post({});
    expect([refused.status, cors(refused)]).toEqual([401, expected]);
    const forbidden = await post({ authorization: 'x' });
    expect([forbidden.status, cors(forbidden)]).toEqual([403, expected]);
    const missing = await post({}, '/nowhere');
    expect([missing.status, cors(missing)]).toEqual([404, expected]);
    const settings = await fetch(`${base}/v1/projects/wk%2Fx/settings`, { headers: { origin: 'https://shop.example' } });
    expect([settings.status, await settings.json(), cors(settings)]).toEqual([200, { writeKey: 'wk/x' }, expected]);
    // No Origin (a server, curl): no CORS headers at all. The twin's own routes are not the API's: none either.
    const mine = await fetch(`${base}/mine`, { headers: { origin: 'https://shop.example' } });
    expect([mine.status, cors(mine)]).toEqual([200, {}]);
  });
});

describe('the API Gateway emulation without a CORS configuration', () => {
  it("answers OPTIONS 404 and passes the function's headers through", async () => {
    const gateway = createApiGateway({
      routes: {
        'POST /events': {
          handler: async () => ({ statusCode: 503, headers: { 'retry-after': '1', 'access-control-allow-origin': '*' }, body: '{}' }),
        },
      },
      timeoutMs: 10_000,
    });
    await new Promise<void>((resolve) => gateway.server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(gateway.server.address() as AddressInfo).port}`;
    try {
      const pre = await fetch(`${base}/events`, {
        method: 'OPTIONS',
        headers: { origin: 'https://a.example', 'access-control-request-method': 'POST' },
      });
      expect(pre.status).toBe(404);
      const r = await fetch(`${base}/events`, { method: 'POST', headers: { origin: 'https://a.example' }, body: '{}' });
      expect([r.status, r.headers.get('access-control-allow-origin'), r.headers.get('retry-after')]).toEqual([503, '*', '1']);
    } finally {
      const closed = new Promise<void>((resolve) => gateway.server.close(() => resolve()));
      await gateway.drain();
      await closed;
    }
  });
});

describe("the twin's API counters", () => {
  it("count records from the handler's metrics and answers from the gateway, 503s and refusals included", () => {
    const counters = createApiCounters();
    counters.metrics.record({
      accepted: 3,
      rejected: 1,
      reasons: { missing_id: 1 },
      schemaWarnings: 2,
      streamRecords: 2,
      putRecordsRetries: 0,
      downstreamUnavailable: false,
    });
    counters.answered(207);
    counters.metrics.record({
      accepted: 0,
      rejected: 0,
      reasons: {},
      schemaWarnings: 0,
      streamRecords: 0,
      putRecordsRetries: 0,
      downstreamUnavailable: true,
    });
    counters.answered(503);
    counters.answered(401);
    counters.answered(207);
    expect(counters.counts).toEqual({
      accepted: 3,
      streamRecords: 2,
      quarantinedRecords: 1,
      schemaWarnings: 2,
      requests: { 207: 2, 401: 1, 503: 1 },
    });
  });
});
