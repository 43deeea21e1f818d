/**
 * @snowgate/client against a fake Snowgate on a loopback port: exactly what it
 * sends, when, and what it makes of each answer.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import {
  backoffDelay,
  BufferFullError,
  CLIENT_VERSION,
  ClientClosedError,
  createClient,
  ENVELOPE_OVERHEAD_BYTES,
  eventsUrl,
  LAMBDA_BODY_BUDGET_BYTES,
  parseRetryAfter,
  utf8Length,
  type ClientOptions,
  type EventOutcome,
  type SnowgateRequestError,
} from '@snowgate/client';
import { createHash, createHmac } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { webhookBatch } from '../support/events';
import { answer, eventsOf, fakeServer, type FakeServer, type Received, type Reply } from './fake-server';

const servers: FakeServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(handler: (req: Received, n: number) => Reply | Promise<Reply>): Promise<FakeServer> {
  const server = await fakeServer(handler);
  servers.push(server);
  return server;
}

/** A client for the server, with fast retries unless told otherwise. */
function clientFor(server: FakeServer, options: Partial<ClientOptions> = {}) {
  return createClient({ endpoint: server.url, retryBaseDelayMs: 1, retryMaxDelayMs: 5, ...options });
}

const events = (n: number, prefix = 'e', extra: Record<string, unknown> = {}) =>
  Array.from({ length: n }, (_, i) => ({ id: `${prefix}-${i}`, ...extra }));

/** Timers may fire up to a millisecond early against performance.now(); allow a few. */
const TIMER_SLACK_MS = 5;

describe('batching', () => {
  it('sends at most maxBatchRecords events per request, as a JSON array in the order sent', async () => {
    const server = await serve((req) => answer(req));
    const client = clientFor(server, { maxBatchRecords: 10 });
    const sent = events(25);
    const outcomes = sent.map((e) => client.send(e));
    expect(await client.flush()).toEqual({ delivered: 25, rejected: 0, failed: 0 });
    expect(server.requests.map((r) => eventsOf(r).length)).toEqual([10, 10, 5]);
    expect(server.requests.flatMap(eventsOf)).toEqual(sent);
    for (const r of server.requests) {
      expect(r.method).toBe('POST');
      expect(r.path).toBe('/events');
      expect(r.headers['content-type']).toBe('application/json');
      expect(r.headers['content-encoding']).toBeUndefined();
      expect(r.raw.toString()).toBe(JSON.stringify(eventsOf(r)));
    }
    const settled = await Promise.all(outcomes);
    expect(settled.map((o) => o.status)).toEqual(Array(25).fill('delivered'));
    expect(settled.map((o) => o.event)).toEqual(sent);
    expect(client.stats()).toMatchObject({ sent: 25, delivered: 25, requests: 3, retries: 0, buffered: 0, bufferedBytes: 0 });
    await client.close();
  });

  it('keeps every body within maxBatchBytes, filling each request before starting the next', async () => {
    const server = await serve((req) => answer(req));
    const client = clientFor(server, { maxBatchBytes: 1_000 });
    // Each event is 100 bytes of JSON; "é" is two bytes, counted as such.
    const make = (i: number) => {
      const e = { id: `b-${String(i).padStart(3, '0')}`, pad: '' };
      const room = 100 - utf8Length(JSON.stringify(e));
      e.pad = 'a'.repeat(room % 2) + 'é'.repeat(Math.floor(room / 2));
      return e;
    };
    const sent = Array.from({ length: 30 }, (_, i) => make(i));
    expect(new Set(sent.map((e) => Buffer.byteLength(JSON.stringify(e))))).toEqual(new Set([100]));
    sent.forEach((e) => void client.send(e));
    await client.flush();
    // 9 events are 2 + 900 + 8 = 910 bytes; a tenth would make 1,011.
    expect(server.requests.map((r) => eventsOf(r).length)).toEqual([9, 9, 9, 3]);
    for (const r of server.requests) expect(r.raw.length).toBeLessThanOrEqual(1_000);
    expect(server.requests.flatMap(eventsOf)).toEqual(sent);
    await client.close();
  });

  it("keeps every request within Lambda's 6 MB once API Gateway has escaped it, whatever maxBatchBytes allows", async () => {
    const server = await serve((req) => answer(req));
    // A client set for a larger body than the stage's: 500 webhook records are 4,075,281 bytes, 6.38 MB escaped.
    const client = clientFor(server, { maxBatchBytes: 4 * 1_048_576 });
    const records = JSON.parse(webhookBatch()) as { id: string }[];
    const outcomes = records.map((e) => client.send(e));
    await client.flush();
    expect(server.requests.length).toBe(2);
    for (const r of server.requests)
      expect(Buffer.byteLength(JSON.stringify(r.raw.toString()))).toBeLessThanOrEqual(LAMBDA_BODY_BUDGET_BYTES);
    // Two requests in flight at once: they may arrive in either order.
    const ids = (list: unknown[]) => list.map((e) => (e as { id: string }).id).sort();
    expect(ids(server.requests.flatMap(eventsOf))).toEqual(ids(records));
    expect((await Promise.all(outcomes)).every((o) => o.status === 'delivered')).toBe(true);
    await client.close();
  });

  it('refuses an event over maxRecordBytes locally and never sends it; one at the limit is sent', async () => {
    const server = await serve((req) => answer(req));
    const rejected: EventOutcome[] = [];
    const client = clientFor(server, { maxRecordBytes: 1_000, onRejected: (o) => rejected.push(o) });
    // JSON + the envelope allowance + the id as partition key.
    const sized = (id: string, total: number) => {
      const e = { id, pad: '' };
      e.pad = 'x'.repeat(total - ENVELOPE_OVERHEAD_BYTES - id.length - JSON.stringify(e).length);
      return e;
    };
    const atLimit = sized('fits', 1_000);
    const over = sized('over', 1_001);
    const big = client.send(over);
    const ok = client.send(atLimit);
    const circular: Record<string, unknown> = { id: 'loop' };
    circular.self = circular;
    const unserializable = [client.send(circular), client.send({ id: 'big', n: 10n } as never)];
    expect(await big).toMatchObject({ status: 'rejected', reason: 'record_too_large', local: true, event: over });
    expect(((await big) as { message: string }).message).toMatch(
      /1001 on the stream .* the limit is 1000 \(maxRecordBytes\): it was not sent/,
    );
    for (const o of await Promise.all(unserializable))
      expect(o).toMatchObject({ status: 'rejected', reason: 'not_serializable', local: true });
    await client.flush();
    expect(await ok).toMatchObject({ status: 'delivered' });
    expect(server.requests.flatMap(eventsOf).map((e) => e.id)).toEqual(['fits']);
    expect(rejected.map((o) => o.event)).toEqual([over, circular, expect.objectContaining({ id: 'big' })]);
    expect(client.stats()).toMatchObject({ sent: 4, delivered: 1, rejected: 3, rejectedLocally: 3, buffered: 0 });
    await client.close();
  });

  it('sends a batch that is not full flushIntervalMs after its first event, without flush()', async () => {
    const server = await serve((req) => answer(req));
    const client = clientFor(server, { flushIntervalMs: 150 });
    const sentAt = performance.now();
    const outcomes = events(3).map((e) => client.send(e));
    const settled = await Promise.all(outcomes);
    expect(settled.map((o) => o.status)).toEqual(['delivered', 'delivered', 'delivered']);
    expect(server.requests).toHaveLength(1);
    expect(eventsOf(server.requests[0]!)).toHaveLength(3);
    expect(server.requests[0]!.at - sentAt).toBeGreaterThanOrEqual(150 - TIMER_SLACK_MS);
    // Nothing buffered: nothing more is sent.
    await new Promise((r) => setTimeout(r, 200));
    expect(server.requests).toHaveLength(1);
    await client.close();
  });

  it('bounds what it holds: BufferFullError past maxBufferedEvents, and ready() resolves once there is room', async () => {
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const server = await serve(async (req) => {
      await held;
      return answer(req);
    });
    const client = clientFor(server, { maxBufferedEvents: 5, maxBatchRecords: 5 });
    const outcomes = events(5).map((e) => client.send(e));
    expect(() => client.send({ id: 'sixth' })).toThrow(BufferFullError);
    expect(() => client.send({ id: 'sixth' })).toThrow(/holds 5 events .* await client.ready\(\)/);
    let ready = false;
    const waiting = client.ready().then(() => (ready = true));
    await new Promise((r) => setTimeout(r, 50));
    expect(ready).toBe(false);
    expect(client.stats()).toMatchObject({ buffered: 5 });
    release();
    await waiting;
    await Promise.all(outcomes);
    expect(client.stats().buffered).toBe(0);
    const [sixth] = await Promise.all([client.send({ id: 'sixth' }), client.flush()]);
    expect(sixth.status).toBe('delivered');
    await client.close();
  });

  it('counts bytes too: maxBufferedBytes', async () => {
    const server = await serve((req) => answer(req));
    const client = clientFor(server, { maxBufferedBytes: 1_000, flushIntervalMs: 10_000 });
    void client.send({ id: 'a', pad: 'x'.repeat(900) });
    expect(() => client.send({ id: 'b', pad: 'x'.repeat(200) })).toThrow(BufferFullError);
    await client.close();
  });
});

describe('retries', () => {
  it('honours Retry-After in seconds as a floor under the backoff', async () => {
    const server = await serve((req, n) =>
      n === 0
        ? {
            status: 503,
            headers: { 'retry-after': '1' },
            body: {
              requestId: 'x',
              accepted: 0,
              rejected: 1,
              errors: [{ index: null, reason: 'downstream_unavailable', message: 'later' }],
            },
          }
        : answer(req),
    );
    const errors: { error: SnowgateRequestError; retryInMs: number | undefined }[] = [];
    const client = clientFor(server, { onError: (error, c) => errors.push({ error, retryInMs: c.retryInMs }) });
    const outcome = client.send({ id: 'r-1' });
    await client.flush();
    expect(await outcome).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(1_000 - TIMER_SLACK_MS);
    expect(server.requests[1]!.raw).toEqual(server.requests[0]!.raw);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.retryInMs).toBeGreaterThanOrEqual(1_000);
    expect(errors[0]!.error).toMatchObject({ kind: 'http', status: 503, details: { retryAfterMs: 1_000 } });
    expect(errors[0]!.error.message).toMatch(/answered 503 \(downstream_unavailable: later\)/);
    expect(client.stats()).toMatchObject({ requests: 2, retries: 1, delivered: 1 });
    await client.close();
  });

  it('honours Retry-After as an HTTP date', async () => {
    let floorMs = 0;
    const server = await serve((req, n) => {
      if (n > 0) return answer(req);
      // HTTP dates have one-second precision: 2 s ahead is 1 to 2 s from now.
      const date = new Date(Date.now() + 2_000).toUTCString();
      floorMs = Date.parse(date) - Date.now();
      return { status: 429, headers: { 'retry-after': date }, body: { message: 'Too Many Requests' } };
    });
    const client = clientFor(server);
    const outcome = client.send({ id: 'r-2' });
    await client.flush();
    expect(await outcome).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(floorMs).toBeGreaterThan(900);
    // The client reads the header a moment after the server wrote it.
    expect(server.requests[1]!.at - server.requests[0]!.at).toBeGreaterThanOrEqual(floorMs - 25);
    await client.close();
  });

  it('retries 503, 429 and a reset connection, sending the same body each time', async () => {
    const replies: Reply[] = [
      { status: 503, body: { errors: [] } },
      { status: 429, body: { message: 'Too Many Requests' } },
      'reset',
      { status: 502, body: { message: 'Bad Gateway' } },
    ];
    const server = await serve((req, n) => replies[n] ?? answer(req));
    const kinds: string[] = [];
    const messages: string[] = [];
    const client = clientFor(server, {
      onError: (e) => {
        kinds.push(e.kind === 'http' ? String(e.status) : e.kind);
        messages.push(e.message);
      },
    });
    const outcome = client.send({ id: 'r-3' });
    await client.flush();
    expect(await outcome).toMatchObject({ status: 'delivered', attempts: 5 });
    expect(kinds).toEqual(['503', '429', 'network', '502']);
    expect(messages[2]).toMatch(/^network error ECONNRESET/);
    expect(new Set(server.requests.map((r) => r.raw.toString()))).toEqual(new Set([JSON.stringify([{ id: 'r-3' }])]));
    expect(client.stats()).toMatchObject({ requests: 5, retries: 4 });
    await client.close();
  });

  it('retries a request that times out', async () => {
    const server = await serve((req, n) => (n === 0 ? 'hang' : answer(req)));
    const client = clientFor(server, { requestTimeoutMs: 200 });
    const outcome = client.send({ id: 'r-4' });
    await client.flush();
    expect(await outcome).toMatchObject({ status: 'delivered', attempts: 2 });
    await client.close();
  });

  it('gives up after maxRetries, reporting the events failed', async () => {
    const server = await serve(() => ({
      status: 503,
      headers: { 'retry-after': '0' },
      body: { errors: [{ index: null, reason: 'downstream_unavailable', message: 'no' }] },
    }));
    const failed: EventOutcome[] = [];
    const client = clientFor(server, { maxRetries: 2, onFailed: (o) => failed.push(o) });
    const outcomes = events(3).map((e) => client.send(e));
    expect(await client.flush()).toEqual({ delivered: 0, rejected: 0, failed: 3 });
    expect(server.requests).toHaveLength(3);
    for (const o of await Promise.all(outcomes))
      expect(o).toMatchObject({ status: 'failed', reason: 'retries_exhausted', attempts: 3, httpStatus: 503 });
    expect(failed).toHaveLength(3);
    await client.close();
  });

  it('stops when Retry-After asks for more than retryBudgetMs', async () => {
    const server = await serve(() => ({ status: 503, headers: { 'retry-after': '30' }, body: {} }));
    const client = clientFor(server, { retryBudgetMs: 5_000 });
    const outcome = client.send({ id: 'r-5' });
    await client.flush();
    expect(await outcome).toMatchObject({ status: 'failed', reason: 'retry_budget_exhausted', attempts: 1 });
    expect(server.requests).toHaveLength(1);
    await client.close();
  });

  it.each([
    [400, 'malformed_json', null],
    [413, 'record_too_large', 0],
    [415, 'unsupported_encoding', null],
    [422, 'missing_id', 0],
  ] as const)('never retries a %i: every event in the request is rejected', async (status, reason, index) => {
    const server = await serve((req) => ({
      status,
      body: {
        requestId: 'bad',
        accepted: 0,
        rejected: eventsOf(req).length,
        errors:
          index === null ? [{ index, reason, message: 'no' }] : eventsOf(req).map((_, i) => ({ index: i, reason, message: `record ${i}` })),
      },
    }));
    const errors: (number | undefined)[] = [];
    const client = clientFor(server, { onError: (_e, c) => errors.push(c.retryInMs) });
    const outcomes = events(2).map((e) => client.send(e));
    expect(await client.flush()).toEqual({ delivered: 0, rejected: 2, failed: 0 });
    expect(server.requests).toHaveLength(1);
    expect(errors).toEqual([undefined]);
    for (const o of await Promise.all(outcomes))
      expect(o).toMatchObject({ status: 'rejected', reason, httpStatus: status, requestId: 'bad', local: false });
    await client.close();
  });

  it.each([
    ['API Gateway', { message: 'Request Entity Too Large' }],
    [
      'Snowgate (body_too_large)',
      { requestId: 'big', accepted: 0, rejected: 0, errors: [{ index: null, reason: 'body_too_large', message: 'too large' }] },
    ],
  ])('does not drop a batch refused for its size by %s: sends it again in halves, down to what fits', async (_who, refusal) => {
    // The server takes at most 2 events per request, and refuses larger requests whole with a 413.
    const server = await serve((req) => (eventsOf(req).length > 2 ? { status: 413, body: refusal } : answer(req)));
    const errors: number[] = [];
    const client = clientFor(server, { onError: (e) => errors.push(e.details.status ?? 0) });
    const sent = events(7, 'split');
    const outcomes = sent.map((e) => client.send(e));
    expect(await client.flush()).toEqual({ delivered: 7, rejected: 0, failed: 0 });
    // 7 → 4 + 3 → 2 + 2 + 2 + 1: each event delivered once, in order.
    expect(server.requests.map((r) => eventsOf(r).length)).toEqual([7, 4, 2, 2, 3, 2, 1]);
    expect(server.requests.filter((r) => eventsOf(r).length <= 2).flatMap(eventsOf)).toEqual(sent);
    expect(errors).toEqual([413, 413, 413]);
    for (const o of await Promise.all(outcomes)) expect(o).toMatchObject({ status: 'delivered', httpStatus: 202 });
    await client.close();
  });

  it('rejects a lone event that is still refused for its size', async () => {
    const server = await serve(() => ({ status: 413, body: { message: 'Request Entity Too Large' } }));
    const client = clientFor(server);
    const outcomes = events(2, 'huge').map((e) => client.send(e));
    expect(await client.flush()).toEqual({ delivered: 0, rejected: 2, failed: 0 });
    expect(server.requests.map((r) => eventsOf(r).length)).toEqual([2, 1, 1]);
    for (const o of await Promise.all(outcomes)) expect(o).toMatchObject({ status: 'rejected', reason: 'http_413', httpStatus: 413 });
    await client.close();
  });

  it('does not retry a 401 either: the events fail (they are not bad input)', async () => {
    const server = await serve(() => ({ status: 401, body: { message: 'Unauthorized' } }));
    const client = clientFor(server);
    const outcome = client.send({ id: 'r-6' });
    await client.flush();
    expect(await outcome).toMatchObject({ status: 'failed', reason: 'unexpected_status', httpStatus: 401, attempts: 1 });
    expect(server.requests).toHaveLength(1);
    await client.close();
  });

  it('backoffDelay: full jitter under a doubling ceiling, Retry-After as a floor', () => {
    const at = (retry: number, random: number, retryAfterMs?: number) =>
      backoffDelay({ retry, baseMs: 100, maxMs: 1_000, retryAfterMs, random: () => random });
    expect([1, 2, 3, 4, 5, 6].map((r) => at(r, 0.999999))).toEqual([99, 199, 399, 799, 999, 999]);
    expect(at(3, 0)).toBe(0);
    expect(at(3, 0.5, 1_500)).toBe(1_500);
    expect(at(3, 0.5, 10)).toBe(200);
    expect(at(1_000, 0.5)).toBe(500);
  });

  it('parseRetryAfter: seconds or an HTTP date, never negative', () => {
    const now = Date.parse('2026-12-03T10:00:00Z');
    expect(parseRetryAfter('3', now)).toBe(3_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1_500);
    expect(parseRetryAfter('Thu, 03 Dec 2026 10:00:07 GMT', now)).toBe(7_000);
    expect(parseRetryAfter('Thu, 03 Dec 2026 09:59:00 GMT', now)).toBe(0);
    for (const bad of [null, undefined, '', '-1', 'soon', '12abc']) expect(parseRetryAfter(bad, now)).toBeUndefined();
  });
});

describe('answers', () => {
  it('maps a 207 errors[].index back to the events of that request, the others delivered, across concurrent batches', async () => {
    // Rejects the events marked bad, by their position in each request; warns on those marked odd.
    const server = await serve((req) => {
      const batch = eventsOf(req);
      const errors = batch.flatMap((e, index) => (e.bad ? [{ index, reason: 'missing_id' }] : []));
      const warnings = batch.flatMap((e, index) => (e.odd ? [{ index, reason: 'unknown_schema', message: 'no schema' }] : []));
      return answer(req, errors, warnings.length ? { warnings } : {});
    });
    const client = clientFor(server, { maxBatchRecords: 4, maxConcurrency: 3 });
    const sent = Array.from({ length: 14 }, (_, i) =>
      i % 3 === 1 ? { nope: i } : { id: `m-${i}`, ...(i % 5 === 0 ? { odd: true } : {}) },
    );
    const marked = sent.map((e) => ('nope' in e ? { ...e, bad: true } : e));
    const outcomes = marked.map((e) => client.send(e));
    expect(await client.flush()).toEqual({ delivered: 9, rejected: 5, failed: 0 });
    expect(server.requests.map((r) => eventsOf(r).length)).toEqual([4, 4, 4, 2]);
    const settled = await Promise.all(outcomes);
    settled.forEach((o, i) => {
      expect(o.event).toBe(marked[i]);
      if (i % 3 === 1) expect(o).toMatchObject({ status: 'rejected', reason: 'missing_id', httpStatus: 207, local: false });
      else expect(o).toMatchObject({ status: 'delivered', httpStatus: 207 });
    });
    expect(settled.filter((o) => o.status === 'delivered' && o.warnings).map((o) => o.event)).toEqual(marked.filter((e) => 'odd' in e));
    await client.close();
  });

  it('claims nothing delivered from a 207 it cannot read', async () => {
    const server = await serve(() => ({ status: 207, body: 'not json' }));
    const client = clientFor(server);
    const outcome = client.send({ id: 'u-1' });
    await client.flush();
    expect(await outcome).toMatchObject({ status: 'failed', reason: 'unreadable_response' });
    await client.close();
  });

  it("claims nothing delivered from a 202 whose accepted count is not the request's", async () => {
    const server = await serve((req) => ({
      status: 202,
      body: { requestId: 'short', accepted: eventsOf(req).length - 1, rejected: 0, errors: [] },
    }));
    const client = clientFor(server);
    const outcomes = events(3).map((e) => client.send(e));
    expect(await client.flush()).toEqual({ delivered: 0, rejected: 0, failed: 3 });
    for (const o of await Promise.all(outcomes))
      expect(o).toMatchObject({ status: 'failed', reason: 'unreadable_response', httpStatus: 202 });
    expect(((await outcomes[0]!) as { message: string }).message).toMatch(/answered 202 accepted: 2 for 3 events, 0 of them rejected/);
    await client.close();
  });

  it('reports the request id from the body, or from apigw-requestid', async () => {
    const server = await serve((req, n) =>
      n === 0
        ? answer(req)
        : { status: 202, headers: { 'apigw-requestid': 'from-header' }, body: JSON.stringify({ accepted: 1, rejected: 0, errors: [] }) },
    );
    const client = clientFor(server, { maxBatchRecords: 1 });
    const [a, b] = [client.send({ id: 1 }), client.send({ id: 2 })];
    await client.flush();
    expect(await a).toMatchObject({ status: 'delivered', requestId: 'rid-1' });
    expect(await b).toMatchObject({ status: 'delivered', requestId: 'from-header' });
    await client.close();
  });

  it.each([
    ['an empty 202', { status: 202, body: '' }],
    ['a 200 page from a proxy', { status: 200, body: '<html>ok</html>' }],
    ['a 200 without counts', { status: 200, body: '{"ok":true}' }],
    ['a 204', { status: 204, body: '' }],
  ])('never calls delivered what a 2xx without Snowgate counts answered: %s', async (_, reply) => {
    const server = await serve(() => reply);
    const client = clientFor(server, { maxBatchRecords: 2 });
    const outcomes = [client.send({ id: 1 }), client.send({ id: 2 })];
    expect(await client.flush()).toEqual({ delivered: 0, rejected: 0, failed: 2 });
    for (const o of await Promise.all(outcomes)) expect(o).toMatchObject({ status: 'failed', reason: 'unreadable_response' });
    await client.close();
  });
});

describe('gzip', () => {
  it('compresses the body with Content-Encoding: gzip; it decodes to exactly the JSON array', async () => {
    const server = await serve((req) => answer(req));
    const client = clientFor(server, { gzip: true, maxBatchRecords: 200 });
    const sent = events(200, 'g', { payload: { text: 'déjà vu ✓', n: 1.5, nested: [1, 2, { deep: null }] } });
    sent.forEach((e) => void client.send(e));
    await client.flush();
    expect(server.requests).toHaveLength(1);
    const [req] = server.requests;
    expect(req!.headers['content-encoding']).toBe('gzip');
    expect(req!.headers['content-type']).toBe('application/json');
    expect(gunzipSync(req!.raw).toString('utf8')).toBe(JSON.stringify(sent));
    const stats = client.stats();
    expect(stats.bytesSent).toBe(req!.raw.length);
    expect(stats.bytesUncompressed).toBe(Buffer.byteLength(JSON.stringify(sent)));
    expect(stats.bytesSent).toBeLessThan(stats.bytesUncompressed / 5);
    await client.close();
  });

  it('sends small bodies, and bodies too compressible for the server (a bomb, to it), as they are', async () => {
    const server = await serve((req) => answer(req));
    const client = clientFor(server, { gzip: { minBytes: 100, maxRatio: 50 }, maxBatchRecords: 1 });
    await Promise.all([client.send({ id: 'small' }), client.send({ id: 'zeros', pad: '0'.repeat(100_000) }), client.flush()]);
    expect(server.requests.map((r) => r.headers['content-encoding'])).toEqual([undefined, undefined]);
    expect(server.requests.flatMap(eventsOf).map((e) => e.id)).toEqual(['small', 'zeros']);
    await client.close();
  });
});

describe('auth', () => {
  const headersFor = async (options: Partial<ClientOptions>, replies: Reply[] = []) => {
    const server = await serve((req, n) => replies[n] ?? answer(req));
    const client = clientFor(server, options);
    await Promise.all([client.send({ id: 'a' }), client.flush()]);
    await client.close();
    return server.requests.map((r) => r.headers);
  };

  it('none: no credentials; a User-Agent naming this version', async () => {
    const [h] = await headersFor({});
    expect(h!.authorization).toBeUndefined();
    expect(h!['x-api-key']).toBeUndefined();
    expect(h!['user-agent']).toMatch(new RegExp(`^snowgate-client/${CLIENT_VERSION.replace(/\./g, '\\.')} node/v\\d+`));
    expect(CLIENT_VERSION).toBe(JSON.parse(readFileSync(new URL('../../packages/client/package.json', import.meta.url), 'utf8')).version);
  });

  it('apiKey: in x-api-key, or the header given; extra headers are sent too', async () => {
    expect((await headersFor({ auth: { type: 'apiKey', key: 'k-1' } }))[0]!['x-api-key']).toBe('k-1');
    const [h] = await headersFor({ auth: { type: 'apiKey', key: 'k-2', header: 'X-Snowgate-Key' }, headers: { 'X-Tenant': 't1' } });
    expect(h).toMatchObject({ 'x-snowgate-key': 'k-2', 'x-tenant': 't1' });
    expect(h!['x-api-key']).toBeUndefined();
  });

  it('jwt: a Bearer token; getToken() is asked before every attempt', async () => {
    expect((await headersFor({ auth: { type: 'jwt', token: 't0' } }))[0]!.authorization).toBe('Bearer t0');
    let n = 0;
    const headers = await headersFor({ auth: { type: 'jwt', getToken: async () => `t${++n}` } }, [{ status: 503, body: {} }]);
    expect(headers.map((h) => h.authorization)).toEqual(['Bearer t1', 'Bearer t2']);
  });

  /** SHA-256 on node:crypto: a second implementation, so the server does not share the client's. */
  type SourceData = string | ArrayBuffer | ArrayBufferView;
  const bytes = (d: SourceData) =>
    typeof d === 'string' ? d : d instanceof ArrayBuffer ? new Uint8Array(d) : new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
  class NodeSha256 {
    private readonly hash;
    constructor(secret?: SourceData) {
      this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
    }
    update(data: SourceData) {
      this.hash.update(bytes(data));
    }
    async digest() {
      return new Uint8Array(this.hash.digest());
    }
  }

  /** Verifies a request as API Gateway would: re-sign what arrived (the signed headers, the body as received) and compare. */
  async function resign(
    req: Received,
    credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string },
    body: Uint8Array = req.raw,
  ) {
    const authorization = String(req.headers.authorization);
    const signed = /SignedHeaders=([^,]+)/.exec(authorization)![1]!.split(';');
    const headers: Record<string, string> = {};
    // x-amz-content-sha256 is left out: the signer hashes the body received itself.
    for (const name of signed) if (name !== 'x-amz-content-sha256') headers[name] = String(req.headers[name]);
    const amzDate = String(req.headers['x-amz-date']);
    const signingDate = new Date(amzDate.replace(/^(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z$/, '$1-$2-$3T$4:$5:$6Z'));
    const [host, port] = String(req.headers.host).split(':');
    const signer = new SignatureV4({ service: 'execute-api', region: 'eu-west-1', credentials, sha256: NodeSha256 });
    const again = await signer.sign(
      { method: req.method, protocol: 'http:', hostname: host!, port: Number(port), path: req.path, query: {}, headers, body },
      { signingDate },
    );
    return { authorization, expected: again.headers.authorization, signed };
  }

  it('iam: SigV4 for execute-api, verified by re-signing on the server; a session token is sent and signed', async () => {
    const credentials = {
      accessKeyId: 'AKIDEXAMPLE',
      secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
      sessionToken: 'session-1',
    };
    const server = await serve((req) => answer(req));
    const client = clientFor(server, { auth: { type: 'iam', region: 'eu-west-1', credentials } });
    await Promise.all([client.send({ id: 'iam-1', text: 'héllo' }), client.flush()]);
    const [req] = server.requests;
    const { authorization, expected, signed } = await resign(req!, credentials);
    expect(authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/execute-api\/aws4_request, SignedHeaders=/);
    expect(signed).toEqual(expect.arrayContaining(['host', 'content-type', 'x-amz-date', 'x-amz-security-token', 'x-amz-content-sha256']));
    expect(req!.headers['x-amz-security-token']).toBe('session-1');
    expect(expected).toBe(authorization);
    // A different body would not verify.
    expect((await resign(req!, credentials, Buffer.from('[{"id":"other"}]'))).expected).not.toBe(authorization);
    await client.close();
  });

  it('iam with gzip signs the compressed body as sent, and takes a credential provider (asked per attempt)', async () => {
    const credentials = { accessKeyId: 'AKIDPROVIDER', secretAccessKey: 'secret' };
    let asked = 0;
    const server = await serve((req, n) => (n === 0 ? { status: 503, body: {} } : answer(req)));
    const client = clientFor(server, {
      gzip: { minBytes: 1 },
      auth: {
        type: 'iam',
        region: 'eu-west-1',
        credentials: async () => {
          asked++;
          return credentials;
        },
      },
    });
    await Promise.all([client.send({ id: 'iam-2', n: 1 }), client.flush()]);
    expect(asked).toBe(2);
    for (const req of server.requests) {
      expect(req.headers['content-encoding']).toBe('gzip');
      expect(req.headers['x-amz-security-token']).toBeUndefined();
      const { authorization, expected, signed } = await resign(req, credentials);
      expect(signed).toContain('content-encoding');
      expect(expected).toBe(authorization);
      // Signed over the compressed bytes, not the JSON they inflate to.
      expect((await resign(req, credentials, gunzipSync(req.raw))).expected).not.toBe(authorization);
    }
    await client.close();
  });

  it('a credential provider that fails is retried like a network error, then the events fail', async () => {
    const server = await serve((req) => answer(req));
    const client = clientFor(server, {
      maxRetries: 1,
      auth: { type: 'iam', region: 'eu-west-1', credentials: async () => Promise.reject(new Error('no IMDS')) },
    });
    const outcome = client.send({ id: 'iam-3' });
    await client.flush();
    expect(await outcome).toMatchObject({ status: 'failed', reason: 'retries_exhausted', attempts: 2 });
    expect(((await outcome) as { message: string }).message).toMatch(/could not authorize the request: no IMDS/);
    expect(server.requests).toHaveLength(0);
    await client.close();
  });
});

describe('flush() and close() results', () => {
  /** 503 then 202 for the batch holding `retry`; 401 for the one holding `refused`; 202 otherwise. */
  async function mixedServer() {
    let retried = false;
    return serve((req) => {
      const ids = eventsOf(req).map((e) => e.id);
      if (ids.includes('refused')) return { status: 401, body: { message: 'Unauthorized' } };
      if (ids.includes('retry') && !retried) {
        retried = true;
        return {
          status: 503,
          headers: { 'retry-after': '0' },
          body: { requestId: 'x', accepted: 0, rejected: 1, errors: [{ index: null, reason: 'downstream_unavailable', message: 'later' }] },
        };
      }
      return answer(req);
    });
  }
  const tooBig = { id: 'too-big', pad: 'x'.repeat(2_000) };
  const sum = (results: { delivered: number; rejected: number; failed: number }[]) =>
    results.reduce((a, r) => ({ delivered: a.delivered + r.delivered, rejected: a.rejected + r.rejected, failed: a.failed + r.failed }), {
      delivered: 0,
      rejected: 0,
      failed: 0,
    });

  it("close() counts every event of the client's life: settled by the timer before it, refused locally, retried", async () => {
    const server = await mixedServer();
    const client = clientFor(server, { flushIntervalMs: 20, maxRecordBytes: 1_000 });
    // A slow producer: each event settles on the interval timer before the next is sent.
    expect(await client.send({ id: 'first' })).toMatchObject({ status: 'delivered' });
    expect(await client.send(tooBig)).toMatchObject({ status: 'rejected', local: true });
    expect(await client.send({ id: 'retry' })).toMatchObject({ status: 'delivered', attempts: 2 });
    expect(await client.send({ id: 'refused' })).toMatchObject({ status: 'failed', reason: 'unexpected_status' });
    const last = client.send({ id: 'last' });
    const result = await client.close();
    expect(await last).toMatchObject({ status: 'delivered' });
    expect(result).toEqual({ delivered: 3, rejected: 1, failed: 1 });
    const stats = client.stats();
    expect(stats).toMatchObject({ sent: 5, retries: 1, ...result });
    expect(result.delivered + result.rejected + result.failed).toBe(stats.sent);
  });

  it('flush() counts what settled since the previous result, local rejections included: the results add up, never twice', async () => {
    const server = await mixedServer();
    const client = clientFor(server, { flushIntervalMs: 20, maxRecordBytes: 1_000 });
    const flushes = [];
    events(3).forEach((e) => void client.send(e));
    flushes.push(await client.flush());
    expect(flushes[0]).toEqual({ delivered: 3, rejected: 0, failed: 0 });
    // Settled by the timer, and refused locally, before the next flush().
    expect(await client.send({ id: 'retry' })).toMatchObject({ status: 'delivered', attempts: 2 });
    void client.send(tooBig);
    flushes.push(await client.flush());
    expect(flushes[1]).toEqual({ delivered: 1, rejected: 1, failed: 0 });
    // Two flush() calls waiting for the same batch: it is in one result, not both.
    void client.send({ id: 'refused' });
    flushes.push(...(await Promise.all([client.flush(), client.flush()])));
    expect(sum(flushes.slice(2))).toEqual({ delivered: 0, rejected: 0, failed: 1 });
    expect(await client.flush()).toEqual({ delivered: 0, rejected: 0, failed: 0 });
    const stats = client.stats();
    expect(sum(flushes)).toEqual({ delivered: stats.delivered, rejected: stats.rejected, failed: stats.failed });
    expect(stats.sent).toBe(6);
    // close() is the whole life's totals, whatever flush() reported before.
    expect(await client.close()).toEqual({ delivered: 4, rejected: 1, failed: 1 });
  });
});

describe('lifecycle', () => {
  it('close() sends what is buffered and waits; send() afterwards throws', async () => {
    const server = await serve((req) => answer(req));
    const client = clientFor(server, { flushIntervalMs: 60_000 });
    const outcomes = events(7).map((e) => client.send(e));
    expect(await client.close()).toEqual({ delivered: 7, rejected: 0, failed: 0 });
    expect((await Promise.all(outcomes)).every((o) => o.status === 'delivered')).toBe(true);
    expect(server.requests).toHaveLength(1);
    expect(client.closed).toBe(true);
    expect(() => client.send({ id: 'late' })).toThrow(ClientClosedError);
  });

  it('close({ timeoutMs }) stops waiting: what is in flight or between retries fails as closed', async () => {
    const server = await serve((_req, n) => (n === 0 ? 'hang' : { status: 503, headers: { 'retry-after': '60' }, body: {} }));
    const client = clientFor(server, { maxBatchRecords: 1, maxConcurrency: 2 });
    const outcomes = [client.send({ id: 'hangs' }), client.send({ id: 'waits' })];
    await new Promise((r) => setTimeout(r, 100));
    const started = performance.now();
    expect(await client.close({ timeoutMs: 200 })).toEqual({ delivered: 0, rejected: 0, failed: 2 });
    expect(performance.now() - started).toBeLessThan(5_000);
    for (const o of await Promise.all(outcomes)) expect(o).toMatchObject({ status: 'failed', reason: 'closed' });
  });

  it('a callback that throws does not break delivery', async () => {
    const server = await serve((req) => answer(req, [{ index: 0, reason: 'missing_id' }]));
    const client = clientFor(server, {
      onRejected: () => {
        throw new Error('oops');
      },
    });
    const outcomes = [client.send({ nope: 1 }), client.send({ id: 'ok' })];
    await client.flush();
    expect((await Promise.all(outcomes)).map((o) => o.status)).toEqual(['rejected', 'delivered']);
    await client.close();
  });

  it('endpoint: a base URL gets /events; a URL ending in /events is used as it is', () => {
    expect(eventsUrl('https://abc.execute-api.eu-west-1.amazonaws.com').href).toBe(
      'https://abc.execute-api.eu-west-1.amazonaws.com/events',
    );
    expect(eventsUrl('https://api.example.com/prod/').href).toBe('https://api.example.com/prod/events');
    expect(eventsUrl('http://127.0.0.1:3000/events').href).toBe('http://127.0.0.1:3000/events');
    expect(() => eventsUrl('not a url')).toThrow(/not a URL/);
    expect(() => eventsUrl('ftp://example.com')).toThrow(/http: or https:/);
    expect(() => createClient({ endpoint: 'http://x', maxBatchRecords: 0 })).toThrow(/maxBatchRecords must be a positive number/);
  });
});
