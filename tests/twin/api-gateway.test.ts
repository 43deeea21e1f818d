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
