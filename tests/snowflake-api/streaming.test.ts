/**
 * The Snowpipe Streaming client against the twin's emulated endpoint
 * (packages/twin/src/snowpipe-streaming.ts) and its in-memory sink: token
 * exchange, open / append / status / drop, a stale continuation token, a row
 * over the limit, a closed channel, 429, a lost answer, a restart and 5 %
 * failures. Real HTTP on localhost; injected are the clock, the sleep (backoff
 * is measured, not waited), the endpoint's dice and RSA keys generated here.
 */
import { createPrivateKey, randomBytes, sign } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import {
  type AppendBatch,
  JwtSource,
  publicKeyFingerprint,
  SnowpipeStreamingClient,
  type StreamingClientOptions,
  StreamingApiError,
  StreamingRowTooLargeError,
} from '@snowgate/snowflake-api';
import {
  type ChannelRef,
  InMemoryStreamingSink,
  type SnowpipeStreamingEndpoint,
  type SnowpipeStreamingEndpointOptions,
  startSnowpipeStreamingEndpoint,
} from '@snowgate/twin/snowpipe-streaming';
import { afterEach, describe, expect, it } from 'vitest';
import { rsaPemKeyPair } from '../support/keys';

const keys = rsaPemKeyPair;
const loader = keys();
const stranger = keys();
const credentials = { account: 'myorg-myaccount', user: 'loader', privateKey: loader.privateKey };
const PIPE = { database: 'SNOWGATE', schema: 'RAW', pipe: 'RAW_EVENTS_STREAMING_PIPE' };
const channelRef = (channel: string): ChannelRef => ({ ...PIPE, channel });
const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** mulberry32: the endpoint's dice, seeded so that a failing run can be run again. */
const seeded = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0;
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
};

let endpoints: SnowpipeStreamingEndpoint[] = [];
afterEach(async () => {
  await Promise.all(endpoints.map((endpoint) => endpoint.close()));
  endpoints = [];
});

async function setup(options: Partial<SnowpipeStreamingEndpointOptions> = {}, clientOptions: Partial<StreamingClientOptions> = {}) {
  const clock = { now: Date.now(), sleeps: [] as number[] };
  const sink = (options.sink as InMemoryStreamingSink | undefined) ?? new InMemoryStreamingSink();
  const endpoint = await startSnowpipeStreamingEndpoint({
    account: 'MYORG-MYACCOUNT',
    user: 'LOADER',
    publicKey: loader.publicKey,
    pipes: [PIPE],
    now: () => clock.now,
    ...options,
    sink,
  });
  endpoints.push(endpoint);
  const client = (overrides: Partial<StreamingClientOptions> = {}) =>
    new SnowpipeStreamingClient({
      baseUrl: endpoint.url,
      auth: new JwtSource(credentials, { now: () => clock.now }),
      ...PIPE,
      now: () => clock.now,
      sleep: async (ms) => {
        clock.sleeps.push(ms);
        clock.now += ms;
      },
      ...clientOptions,
      ...overrides,
    });
  return { clock, sink, endpoint, client };
}

const event = (n: number) => ({ request_id: `r-${n}`, record: { event: 'page', n } });
const batchOf = (from: number, count: number, offsetToken: string): AppendBatch => ({
  rows: Array.from({ length: count }, (_, i) => event(from + i)),
  offsetToken,
});

describe('SnowpipeStreamingClient against the emulated endpoint', () => {
  it('finds the ingest host, trades the JWT for a scoped token, opens, appends gzip NDJSON and reads the committed offset', async () => {
    const { endpoint, sink, client } = await setup();
    const streaming = client();
    const opened = await streaming.openChannel('snowgate-shard-0');
    expect(opened).toMatchObject({ channel: 'snowgate-shard-0', statusCode: 'ACTIVE', committedOffsetToken: undefined });

    const outcome = await streaming.append('snowgate-shard-0', [batchOf(1, 3, '100'), batchOf(4, 2, '101')]);
    expect(outcome).toEqual({ status: 'appended', requests: 1, offsetToken: '101' });
    expect(sink.rows(channelRef('snowgate-shard-0'))).toEqual([1, 2, 3, 4, 5].map(event));
    const status = await streaming.waitForCommit('snowgate-shard-0', (token) => token === '101');
    expect(status).toMatchObject({ committedOffsetToken: '101', rowsInserted: 5 });

    const [hostname, exchange, open, rows] = endpoint.requests;
    expect(hostname).toMatchObject({ method: 'GET', path: '/v2/streaming/hostname', status: 200 });
    expect(hostname!.headers['x-snowflake-authorization-token-type']).toBe('KEYPAIR_JWT');
    expect(exchange).toMatchObject({ method: 'POST', path: '/oauth/token', status: 200 });
    expect(open).toMatchObject({
      method: 'PUT',
      path: '/v2/streaming/databases/SNOWGATE/schemas/RAW/pipes/RAW_EVENTS_STREAMING_PIPE/channels/snowgate-shard-0',
    });
    expect(rows).toMatchObject({
      method: 'POST',
      path: '/v2/streaming/data/databases/SNOWGATE/schemas/RAW/pipes/RAW_EVENTS_STREAMING_PIPE/channels/snowgate-shard-0/rows',
      query: { offsetToken: '101' },
      status: 200,
    });
    expect(rows!.headers['content-encoding']).toBe('gzip');
    expect(rows!.headers['content-type']).toBe('application/x-ndjson');
    // The scoped token, not the JWT, on the ingest host; one exchange for the whole run.
    expect(rows!.headers.authorization).toBe(open!.headers.authorization);
    expect(endpoint.requests.filter((request) => request.path === '/oauth/token')).toHaveLength(1);
  });

  it('an offset token given at open becomes the committed offset, kept by the sink', async () => {
    const { sink, client } = await setup();
    expect(await client().openChannel('c', { offsetToken: '5' })).toMatchObject({ committedOffsetToken: '5' });
    expect(await sink.committedOffset(channelRef('c'))).toBe('5');
    expect(await client().openChannel('c')).toMatchObject({ committedOffsetToken: '5' });
  });

  it('the endpoint refuses a JWT on the ingest host, a key it does not trust and a token scoped to another host', async () => {
    const { endpoint, clock } = await setup();
    const jwt = new JwtSource(credentials, { now: () => clock.now }).token();
    const channelUrl = `${endpoint.url}/v2/streaming/databases/SNOWGATE/schemas/RAW/pipes/RAW_EVENTS_STREAMING_PIPE/channels/c`;
    const put = await fetch(channelUrl, { method: 'PUT', headers: { Authorization: `Bearer ${jwt}` } });
    expect(put.status).toBe(401);
    expect(await put.json()).toMatchObject({ code: '390303' });

    // With a scoped token, a JSON body must say it is one.
    const scoped = await (
      await fetch(`${endpoint.url}/oauth/token`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', scope: endpoint.hostname }).toString(),
      })
    ).text();
    const untyped = await fetch(channelUrl, {
      method: 'PUT',
      headers: { Authorization: `Bearer ${scoped}` },
      body: '{"offset_token":"1"}',
    });
    expect(untyped.status).toBe(415);
    expect(await untyped.json()).toMatchObject({ code: 'ERR_UNSUPPORTED_CONTENT_TYPE' });

    const strangerJwt = new JwtSource({ ...credentials, privateKey: stranger.privateKey }, { now: () => clock.now }).token();
    const hostname = await fetch(`${endpoint.url}/v2/streaming/hostname`, { headers: { Authorization: `Bearer ${strangerJwt}` } });
    expect(hostname.status).toBe(401);
    expect(await hostname.json()).toMatchObject({ code: '390144' });

    const exchange = await fetch(`${endpoint.url}/oauth/token`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${jwt}`, 'Content-Type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', scope: 'elsewhere.example.com' }).toString(),
    });
    expect(exchange.status).toBe(400);

    // Claims that name the loader's key, signed with another: the signature is what gives it away.
    const iat = Math.floor(clock.now / 1000);
    const part = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');
    const claims = `${part({ alg: 'RS256', typ: 'JWT' })}.${part({
      iss: `MYORG-MYACCOUNT.LOADER.${publicKeyFingerprint(loader.publicKey)}`,
      sub: 'MYORG-MYACCOUNT.LOADER',
      iat,
      exp: iat + 600,
    })}`;
    const forged = `${claims}.${sign('sha256', Buffer.from(claims), createPrivateKey(stranger.privateKey)).toString('base64url')}`;
    const forgedAnswer = await fetch(`${endpoint.url}/v2/streaming/hostname`, { headers: { Authorization: `Bearer ${forged}` } });
    expect(forgedAnswer.status).toBe(401);
    expect(await forgedAnswer.text()).toMatch(/bad signature/);
  });

  it('a lapsed scoped token is answered 401 and the client exchanges the JWT again, once', async () => {
    const { clock, endpoint, sink, client } = await setup({ scopedTokenTtlMs: 60_000 });
    const streaming = client();
    await streaming.openChannel('c');
    clock.now += 61_000;
    expect(await streaming.append('c', [batchOf(1, 1, '1')])).toMatchObject({ status: 'appended' });
    expect(endpoint.requests.filter((request) => request.status === 401).map((request) => request.code)).toEqual(['390318']);
    expect(endpoint.requests.filter((request) => request.path === '/oauth/token')).toHaveLength(2);
    expect(sink.rows()).toEqual([event(1)]);
  });

  it('a stale continuation token: a second opener bumps the sequencer; the first client reopens and is told the committed offset', async () => {
    const { endpoint, sink, client } = await setup();
    const first = client();
    const second = client();
    await first.openChannel('c');
    await first.append('c', [batchOf(1, 2, '10')]);
    await second.openChannel('c');
    await second.append('c', [batchOf(3, 1, '11')]);

    const outcome = await first.append('c', [batchOf(3, 1, '11'), batchOf(4, 1, '12')]);
    expect(outcome).toEqual({ status: 'reopened', code: 'STALE_CONTINUATION_TOKEN_SEQUENCER', committedOffsetToken: '11', requests: 0 });
    expect(endpoint.requests.find((request) => request.status === 400)?.code).toBe('STALE_CONTINUATION_TOKEN_SEQUENCER');
    // The caller resends what follows the committed offset, on the reopened channel.
    expect(await first.append('c', [batchOf(4, 1, '12')])).toMatchObject({ status: 'appended', offsetToken: '12' });
    expect(sink.rows()).toEqual([1, 2, 3, 4].map(event));
    // And the second client is now the stale one.
    expect(await second.append('c', [batchOf(5, 1, '13')])).toMatchObject({ status: 'reopened', committedOffsetToken: '12' });
  });

  it('sends a row given as JSON text byte for byte (big integers, key order, spacing, escapes), objects beside it as JSON', async () => {
    const { endpoint, sink, client } = await setup();
    const streaming = client();
    await streaming.openChannel('c');
    const text = '{"request_id":"r-big","record":{"n":12345678901234567890,"z":1,"a":"\\u00e9\\/"}, "pad" : 1.0}';
    expect(await streaming.append('c', [{ rows: [event(1), text, event(2)], offsetToken: '1' }])).toMatchObject({ status: 'appended' });
    expect(sink.lines()).toEqual([JSON.stringify(event(1)), text, JSON.stringify(event(2))]);
    const append = endpoint.requests.find((request) => request.path.endsWith('/rows'));
    expect(append?.headers['content-type']).toBe('application/x-ndjson');
  });

  it('measures a text row as sent, and refuses one with a line break (it would be two NDJSON lines)', async () => {
    const { endpoint, client } = await setup({ limits: { maxRowBytes: 1_000 } });
    const streaming = client({ limits: { maxRowBytes: 1_000 } });
    await streaming.openChannel('c');
    // As an object it would be {"n":1}, 8 bytes; as sent it is over 1,000.
    const spaced = `{"n":${' '.repeat(1_000)}1}`;
    await expect(streaming.append('c', [{ rows: [spaced], offsetToken: '1' }])).rejects.toThrow(
      /row 0 of batch 0 .* is 1008 bytes as NDJSON/,
    );
    await expect(streaming.append('c', [{ rows: ['{"n":\n1}'], offsetToken: '1' }])).rejects.toThrow(/line break/);
    expect(endpoint.requests.some((request) => request.path.endsWith('/rows'))).toBe(false);
  });

  it('refuses a row over the limit before sending anything, naming it; the endpoint refuses one sent anyway', async () => {
    const { endpoint, sink, client, clock } = await setup({ limits: { maxRowBytes: 1_000 } });
    const streaming = client({ limits: { maxRowBytes: 1_000 } });
    await streaming.openChannel('c');
    const big = { request_id: 'big', record: { blob: 'x'.repeat(1_000) } };
    const attempt = streaming.append('c', [batchOf(1, 1, '1'), { rows: [event(2), big], offsetToken: '2' }]);
    await expect(attempt).rejects.toBeInstanceOf(StreamingRowTooLargeError);
    await expect(attempt).rejects.toThrow(
      /row 1 of batch 1 \(offset token 2\) is 10\d\d bytes as NDJSON; Snowpipe Streaming takes at most 1000 bytes/,
    );
    expect(endpoint.requests.some((request) => request.path.endsWith('/rows'))).toBe(false);
    expect(sink.rows()).toEqual([]);

    // The same row, sent by hand with the channel's own continuation token.
    const exchange = await fetch(`${endpoint.url}/oauth/token`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${new JwtSource(credentials, { now: () => clock.now }).token()}`,
        'Content-Type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', scope: endpoint.hostname }).toString(),
    });
    const scoped = await exchange.text();
    const channelPath = 'databases/SNOWGATE/schemas/RAW/pipes/RAW_EVENTS_STREAMING_PIPE/channels/c';
    const opened = (await (
      await fetch(`${endpoint.url}/v2/streaming/${channelPath}`, { method: 'PUT', headers: { Authorization: `Bearer ${scoped}` } })
    ).json()) as { next_continuation_token: string };
    const refused = await fetch(
      `${endpoint.url}/v2/streaming/data/${channelPath}/rows?continuationToken=${opened.next_continuation_token}&offsetToken=2`,
      {
        method: 'POST',
        headers: { Authorization: `Bearer ${scoped}`, 'Content-Type': 'application/x-ndjson', 'Content-Encoding': 'gzip' },
        body: gzipSync(`${JSON.stringify(big)}\n`),
      },
    );
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ code: 'ERR_ROW_TOO_LARGE' });
    expect(sink.rows()).toEqual([]);
  });

  it('splits a batch list under the request limit at batch boundaries, each request carrying the last offset token it completes', async () => {
    const { endpoint, sink, client } = await setup();
    const streaming = client({ limits: { maxRequestUncompressedBytes: 400 } });
    await streaming.openChannel('c');
    // Each row is about 50 bytes: 3-row batches fit two to a request, the 10-row batch must be cut by rows.
    const batches = [batchOf(1, 3, '1'), batchOf(4, 3, '2'), batchOf(7, 3, '3'), batchOf(10, 10, '4'), batchOf(20, 1, '5')];
    const outcome = await streaming.append('c', batches);
    expect(outcome).toMatchObject({ status: 'appended', offsetToken: '5' });
    const appends = endpoint.requests.filter((request) => request.path.endsWith('/rows'));
    expect(appends.length).toBe(outcome.requests);
    // A request that ends inside the 10-row batch carries no token of it: only tokens of batches it completes.
    // Two 3-row batches fit in 400 bytes, a third does not; the 10-row batch is cut after 7 rows, and the request
    // that ends it (with batch 5) carries only 5, which covers 4.
    expect(appends.map((request) => request.query.offsetToken ?? '-')).toEqual(['2', '3', '-', '5']);
    expect(sink.rows()).toEqual(Array.from({ length: 20 }, (_, i) => event(i + 1)));
  });

  it('cuts a request whose gzip is still over the wire limit, at a batch boundary, until each fits', async () => {
    const { endpoint, sink, client } = await setup({ limits: { maxRequestWireBytes: 3_000 } });
    const streaming = client({ limits: { maxRequestWireBytes: 3_000 } });
    await streaming.openChannel('c');
    // Random base64 barely compresses: 8 batches of 2 rows of ~500 bytes are ~8 kB of gzip in one request.
    const batches = Array.from({ length: 8 }, (_, b) => ({
      rows: [0, 1].map((r) => ({ n: 2 * b + r, noise: randomBytes(370).toString('base64') })),
      offsetToken: String(b + 1),
    }));
    expect(await streaming.append('c', batches)).toMatchObject({ status: 'appended', offsetToken: '8' });
    const appends = endpoint.requests.filter((request) => request.path.endsWith('/rows'));
    expect(appends.length).toBeGreaterThanOrEqual(4);
    for (const request of appends) expect(Number(request.headers['content-length'])).toBeLessThanOrEqual(3_000);
    // Cut between batches only: every request ends a batch and carries its token.
    expect(appends.every((request) => request.query.offsetToken !== undefined)).toBe(true);
    expect(sink.rows().map((row) => row.n)).toEqual(Array.from({ length: 16 }, (_, n) => n));
  });

  it('the endpoint refuses a request over the wire limit (413) and a pipe that does not exist (404, by code)', async () => {
    const { endpoint, sink, client } = await setup({ limits: { maxRequestWireBytes: 3_000 } });
    await expect(client({ pipe: 'NO_SUCH_PIPE' }).openChannel('c')).rejects.toMatchObject({
      name: 'StreamingApiError',
      status: 404,
      code: 'ERR_PIPE_DOES_NOT_EXIST_OR_NOT_AUTHORIZED',
    });
    // A client that believes Snowflake's own 4 MB: the emulated endpoint, told 3,000 bytes, refuses what is over.
    const streaming = client();
    await streaming.openChannel('c');
    const noisy = { rows: [{ noise: randomBytes(6_000).toString('base64') }], offsetToken: '1' };
    const refused = await streaming.append('c', [noisy]).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(StreamingApiError);
    expect(refused).toMatchObject({ status: 413, code: 'ERR_REQUEST_TOO_LARGE' });
    expect(endpoint.requests.at(-1)).toMatchObject({ status: 413 });
    expect(sink.rows()).toEqual([]);
  });

  it('a key the service does not trust fails with one clear error after one renewal, never retried further', async () => {
    const { endpoint, client, clock } = await setup();
    const streaming = client({ auth: new JwtSource({ ...credentials, privateKey: stranger.privateKey }, { now: () => clock.now }) });
    await expect(streaming.openChannel('c')).rejects.toThrow(/hostname: HTTP 401 390144: .*a new token was refused too/);
    expect(endpoint.requests.map((request) => request.status)).toEqual([401, 401]);
  });

  it('a dropped channel is refused; the client reopens it (a new channel, no committed offset) and says so', async () => {
    const { sink, client } = await setup();
    const holder = client();
    await holder.openChannel('c');
    await holder.append('c', [batchOf(1, 1, '1')]);
    await client().dropChannel('c');
    expect(await client().channelStatus(['c'])).toEqual({});

    const outcome = await holder.append('c', [batchOf(2, 1, '2')]);
    expect(outcome).toEqual({
      status: 'reopened',
      code: 'ERR_CHANNEL_DOES_NOT_EXIST_OR_IS_NOT_AUTHORIZED',
      committedOffsetToken: undefined,
      requests: 0,
    });
    expect(sink.rows()).toEqual([event(1)]);
  });

  it('an invalidated channel is refused until reopened; the committed offset comes back with the reopen', async () => {
    const { endpoint, sink, client } = await setup();
    const streaming = client();
    await streaming.openChannel('c');
    await streaming.append('c', [batchOf(1, 2, '7')]);
    endpoint.invalidate(channelRef('c'));
    expect((await streaming.channelStatus(['c'])).c?.statusCode).toBe('ERR_CHANNEL_MUST_BE_REOPENED');

    const outcome = await streaming.append('c', [batchOf(3, 1, '8')]);
    expect(outcome).toEqual({ status: 'reopened', code: 'ERR_CHANNEL_MUST_BE_REOPENED', committedOffsetToken: '7', requests: 0 });
    expect(await streaming.append('c', [batchOf(3, 1, '8')])).toMatchObject({ status: 'appended' });
    expect(sink.rows()).toEqual([1, 2, 3].map(event));
  });

  it('429: waits at least Retry-After, then appends once', async () => {
    const { clock, endpoint, sink, client } = await setup();
    const streaming = client();
    await streaming.openChannel('c');
    endpoint.injectFault({ on: 'rows', status: 429, code: 'ERR_TOO_MANY_REQUESTS', retryAfterSeconds: 3 });
    expect(await streaming.append('c', [batchOf(1, 2, '1')])).toMatchObject({ status: 'appended' });
    expect(clock.sleeps).toHaveLength(1);
    expect(clock.sleeps[0]).toBeGreaterThanOrEqual(3_000);
    expect(endpoint.requests.filter((request) => request.path.endsWith('/rows')).map((request) => request.status)).toEqual([429, 200]);
    expect(sink.rows()).toEqual([event(1), event(2)]);
  });

  it('an append whose answer is lost is resent with the same token, refused as used, and reported committed: no row twice', async () => {
    const { endpoint, sink, client } = await setup();
    const streaming = client();
    await streaming.openChannel('c');
    endpoint.injectFault({ on: 'rows', reset: true, afterApply: true });
    const outcome = await streaming.append('c', [batchOf(1, 2, '1')]);
    expect(outcome).toEqual({ status: 'reopened', code: 'ERR_CHANNEL_HAS_INVALID_ROW_SEQUENCER', committedOffsetToken: '1', requests: 0 });
    expect(sink.rows()).toEqual([event(1), event(2)]);
    expect(endpoint.requests.filter((request) => request.path.endsWith('/rows')).map((request) => request.status)).toEqual(['reset', 400]);
  });

  it('gives up with the code after the retry budget when the service keeps failing', async () => {
    const { endpoint, client } = await setup();
    const streaming = client({ backoff: { baseMs: 100, maxMs: 1_000, budgetMs: 5_000 } });
    await streaming.openChannel('c');
    for (let i = 0; i < 50; i++) endpoint.injectFault({ on: 'rows', status: 503, code: 'ERR_SERVICE_UNAVAILABLE' });
    await expect(streaming.append('c', [batchOf(1, 1, '1')])).rejects.toThrow(
      /rows: HTTP 503 ERR_SERVICE_UNAVAILABLE; gave up after \d+ attempts within the retry budget/,
    );
  });

  it('an endpoint restarted on the same sink keeps the offsets; the client renews its token and reopens', async () => {
    const sink = new InMemoryStreamingSink();
    const { endpoint, client } = await setup({ sink });
    const streaming = client();
    await streaming.openChannel('c');
    await streaming.append('c', [batchOf(1, 2, '41')]);
    const port = Number(new URL(endpoint.url).port);
    await endpoint.close();
    endpoints = [];
    const restarted = await startSnowpipeStreamingEndpoint({
      account: 'MYORG-MYACCOUNT',
      user: 'LOADER',
      publicKey: loader.publicKey,
      pipes: [PIPE],
      sink,
      port,
    });
    endpoints.push(restarted);

    const outcome = await streaming.append('c', [batchOf(3, 1, '42')]);
    expect(outcome).toEqual({ status: 'reopened', code: 'STALE_CONTINUATION_TOKEN_SEQUENCER', committedOffsetToken: '41', requests: 0 });
    expect(restarted.requests.map((request) => request.status)).toContain(401);
    expect(await streaming.append('c', [batchOf(3, 1, '42')])).toMatchObject({ status: 'appended' });
    expect(sink.rows()).toEqual([1, 2, 3].map(event));
  });

  it('with commits later than answers (as Snowflake), the status lags the append and waitForCommit waits for it', async () => {
    const { sink, client } = await setup({ commitDelayMs: 150, now: Date.now });
    const streaming = client({ now: Date.now, sleep: realSleep });
    await streaming.openChannel('c');
    expect(await streaming.append('c', [batchOf(1, 2, '1')])).toMatchObject({ status: 'appended', offsetToken: '1' });
    expect((await streaming.channelStatus(['c'])).c?.committedOffsetToken).toBeUndefined();
    expect(sink.rows()).toEqual([]);
    const status = await streaming.waitForCommit('c', (token) => token === '1', { pollMs: 20, timeoutMs: 5_000 });
    expect(status).toMatchObject({ committedOffsetToken: '1', rowsInserted: 2 });
    expect(sink.rows()).toEqual([event(1), event(2)]);
  });

  it('a commit that fails invalidates the channel and drops what was accepted after it; resent from the committed offset, every row lands once', async () => {
    const { endpoint, sink, client } = await setup({ commitDelayMs: 40, now: Date.now });
    const streaming = client({ now: Date.now, sleep: realSleep });
    await streaming.openChannel('c');
    const batches = [1, 2, 3, 4].map((n) => batchOf(n, 1, String(n)));
    await streaming.append('c', [batches[0]!]);
    endpoint.injectFault({ on: 'rows', failCommit: true });
    await streaming.append('c', [batches[1]!]);
    await streaming.append('c', [batches[2]!]);
    for (let polls = 0; (await streaming.channelStatus(['c'])).c?.statusCode !== 'ERR_CHANNEL_MUST_BE_REOPENED'; polls++) {
      expect(polls).toBeLessThan(100);
      await realSleep(20);
    }
    expect(sink.rows()).toEqual([event(1)]);

    let committed: string | undefined = '3';
    const outcome = await streaming.append('c', [batches[3]!]);
    expect(outcome).toEqual({ status: 'reopened', code: 'ERR_CHANNEL_MUST_BE_REOPENED', committedOffsetToken: '1', requests: 0 });
    committed = outcome.status === 'reopened' ? outcome.committedOffsetToken : committed;
    const pending = batches.filter((batch) => BigInt(batch.offsetToken!) > BigInt(committed ?? '0'));
    expect(await streaming.append('c', pending)).toMatchObject({ status: 'appended', offsetToken: '4' });
    await streaming.waitForCommit('c', (token) => token === '4', { pollMs: 20, timeoutMs: 5_000 });
    expect(sink.rows()).toEqual([1, 2, 3, 4].map(event));
  });

  it('5 % failures (refused, or applied with the answer lost) and 429s: a consumer that skips what is committed loads every row once, in order', async () => {
    const { endpoint, sink, client } = await setup({ failureRate: 0.05, throttleRate: 0.02, retryAfterSeconds: 1, random: seeded(25) });
    const streaming = client();
    const shards = ['shard-0', 'shard-1'];
    const perShard = 400;
    for (const shard of shards) {
      // What the stream consumer does: batches keyed by increasing sequence numbers, resent after the committed one on a reopen.
      const batches = Array.from({ length: perShard }, (_, i) => ({
        rows: [
          { shard, n: 2 * i },
          { shard, n: 2 * i + 1 },
        ],
        offsetToken: String(1_000_000 + i),
      }));
      let committed = (await streaming.openChannel(shard)).committedOffsetToken;
      for (let attempts = 0; ; attempts++) {
        expect(attempts).toBeLessThan(200);
        const pending = batches.filter((batch) => committed === undefined || BigInt(batch.offsetToken) > BigInt(committed));
        if (pending.length === 0) break;
        // Small appends, as a consumer's batches are.
        const outcome = await streaming.append(shard, pending.slice(0, 5));
        committed = outcome.status === 'reopened' ? outcome.committedOffsetToken : outcome.offsetToken;
      }
      await streaming.waitForCommit(shard, (token) => token === String(1_000_000 + perShard - 1));
    }
    for (const shard of shards) {
      expect(sink.rows(channelRef(shard))).toEqual(Array.from({ length: 2 * perShard }, (_, n) => ({ shard, n })));
    }
    const failures = endpoint.requests.filter((request) => request.status === 'reset' || request.status === 503 || request.status === 429);
    expect(failures.length).toBeGreaterThan(5);
    expect(endpoint.requests.some((request) => request.status === 'reset')).toBe(true);
  });
});
