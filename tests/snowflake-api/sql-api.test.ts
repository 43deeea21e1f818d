/**
 * The SQL API client against the strict fake (tests/support/fake-snowflake.ts):
 * auth, headers, polling, errors, retries, idempotent resends, partitions and
 * multi-statement requests. Real HTTP on localhost; the only things injected
 * are the clock, the sleep (so that backoff is measured, not waited) and RSA
 * keys generated here.
 */
import {
  JwtSource,
  SnowflakeApiError,
  SnowflakeSqlError,
  SnowflakeTimeoutError,
  SqlApiClient,
  type SqlApiClientOptions,
  signJwt,
} from '@snowgate/snowflake-api';
import { afterEach, describe, expect, it } from 'vitest';
import { type FakeHandler, type FakeSnowflake, type FakeSnowflakeOptions, startFakeSnowflake } from '../support/fake-snowflake';
import { rsaPemKeyPair } from '../support/keys';

const keys = rsaPemKeyPair;
const loader = keys();
const stranger = keys();
const credentials = { account: 'myorg-myaccount', user: 'loader', privateKey: loader.privateKey };

const ONE_ROW: FakeHandler = { match: /^SELECT 1 AS ONE$/i, result: { columns: ['ONE'], rows: [['1']] } };
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

let fake: FakeSnowflake | undefined;
afterEach(async () => {
  await fake?.close();
  fake = undefined;
});

/** A fake with the loader's key registered, and a client on a clock that its sleeps advance. */
async function setup(options: Partial<FakeSnowflakeOptions> = {}, client: Partial<SqlApiClientOptions> = {}) {
  // One clock for both sides, so that a test can move time for the token and for the fake that checks it.
  const clock = { now: Date.now(), sleeps: [] as number[] };
  fake = await startFakeSnowflake({
    account: 'MYORG-MYACCOUNT',
    users: { LOADER: loader.publicKey },
    handlers: [ONE_ROW],
    now: () => clock.now,
    ...options,
  });
  const sqlApi = new SqlApiClient({
    baseUrl: fake.url,
    auth: new JwtSource(credentials, { now: () => clock.now }),
    now: () => clock.now,
    sleep: async (ms) => {
      clock.sleeps.push(ms);
      clock.now += ms;
    },
    ...client,
  });
  return { fake, sqlApi, clock };
}

const posts = (f: FakeSnowflake) => f.requests.filter((r) => r.method === 'POST' && r.path === '/api/v2/statements');

describe('auth', () => {
  it('a JWT from the registered key is accepted: rows by column name', async () => {
    const { sqlApi } = await setup();
    const result = await sqlApi.execute('SELECT 1 AS ONE');
    expect(result.columns).toEqual(['ONE']);
    expect(result.rows).toEqual([{ ONE: '1' }]);
    expect(result.statementHandle).toMatch(UUID);
  });

  it('a key that is not the registered one: 401, one new token, 401 again, an error that says what to check', async () => {
    const { fake, sqlApi } = await setup({}, { auth: new JwtSource({ ...credentials, privateKey: stranger.privateKey }) });
    const error = await sqlApi.execute('SELECT 1 AS ONE').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnowflakeApiError);
    expect(error).toMatchObject({ status: 401, message: expect.stringMatching(/RSA_PUBLIC_KEY/) });
    expect(fake.requests.map((r) => [r.status, r.rejected])).toEqual([
      [401, 'iss does not name the registered key'],
      [401, 'iss does not name the registered key'],
    ]);
    expect(fake.executions).toEqual([]);
  });

  it('a user the key is not registered to is refused', async () => {
    const { fake, sqlApi } = await setup({}, { auth: new JwtSource({ ...credentials, user: 'someone' }) });
    await expect(sqlApi.execute('SELECT 1 AS ONE')).rejects.toMatchObject({ status: 401 });
    expect(fake.requests[0]?.rejected).toBe('unknown user SOMEONE');
  });

  it('an expired token is refused with 401; the client mints a new one and the statement runs once', async () => {
    const { fake } = await setup();
    const source = new JwtSource(credentials);
    // A token signed by the right key two hours ago: what a container that slept through its expiry would hold.
    let stale: string | undefined = signJwt(credentials, Date.now() - 7_200_000, 3600);
    const sqlApi = new SqlApiClient({
      baseUrl: fake.url,
      auth: {
        token: () => stale ?? source.token(),
        invalidate: () => {
          stale = undefined;
          source.invalidate();
        },
      },
    });
    expect((await sqlApi.execute('SELECT 1 AS ONE')).rows).toEqual([{ ONE: '1' }]);
    expect(fake.requests.map((r) => [r.status, r.rejected])).toEqual([
      [401, 'expired'],
      [200, undefined],
    ]);
    expect(fake.executions).toHaveLength(1);
  });

  it('a token that cannot be made is an error at once, not a network failure retried for a minute', async () => {
    const broken = new Error('the key went missing');
    const { fake, sqlApi, clock } = await setup(
      {},
      {
        auth: {
          token: () => {
            throw broken;
          },
          invalidate: () => {},
        },
      },
    );
    await expect(sqlApi.execute('SELECT 1 AS ONE')).rejects.toBe(broken);
    expect(clock.sleeps).toEqual([]);
    expect(fake.requests).toEqual([]);
  });

  it('a token renewed on the clock before it expires: a later statement carries a new JWT that the fake accepts', async () => {
    const { fake, sqlApi, clock } = await setup();
    fake.handlers.push({ match: /^SELECT 2 AS TWO$/, result: { columns: ['TWO'], rows: [['2']] } });
    await sqlApi.execute('SELECT 1 AS ONE');
    clock.now += 55 * 60_000; // past the renewal point (54 min), before exp (59 min)
    await sqlApi.execute('SELECT 2 AS TWO');
    const [first, second] = fake.requests.map((r) => r.headers.authorization);
    expect(second).not.toBe(first);
    expect(fake.requests.map((r) => r.status)).toEqual([200, 200]);
  });
});

describe('the request', () => {
  it('carries the headers Snowflake requires, the context in the body and a UUID requestId', async () => {
    const { fake, sqlApi } = await setup();
    await sqlApi.execute('SELECT 1 AS ONE', {
      database: 'SNOWGATE',
      schema: 'RAW',
      warehouse: 'LOAD_WH',
      role: 'LOADER',
      timeout: 30,
      queryTag: 'deploy',
    });
    const [request] = fake.requests;
    expect(request?.headers).toMatchObject({
      authorization: expect.stringMatching(/^Bearer [\w-]+\.[\w-]+\.[\w-]+$/),
      'x-snowflake-authorization-token-type': 'KEYPAIR_JWT',
      accept: 'application/json',
      'content-type': 'application/json',
      'user-agent': 'snowgate/0.1.0',
    });
    expect(request?.query).toEqual({ requestId: expect.stringMatching(UUID) });
    expect(request?.body).toEqual({
      statement: 'SELECT 1 AS ONE',
      database: 'SNOWGATE',
      schema: 'RAW',
      warehouse: 'LOAD_WH',
      role: 'LOADER',
      timeout: 30,
      parameters: { query_tag: 'deploy' },
    });
    expect(fake.executions[0]?.context).toEqual({ database: 'SNOWGATE', schema: 'RAW', warehouse: 'LOAD_WH', role: 'LOADER' });
  });

  it('each logical statement gets its own requestId; a given one is used as is', async () => {
    const { fake, sqlApi } = await setup();
    await sqlApi.execute('SELECT 1 AS ONE');
    await sqlApi.execute('SELECT 1 AS ONE');
    await sqlApi.execute('SELECT 1 AS ONE', { requestId: '2f1e8c3a-5b7d-4e9f-8a1b-0c2d3e4f5a6b' });
    const ids = posts(fake).map((r) => r.query.requestId);
    expect(new Set(ids).size).toBe(3);
    expect(ids[2]).toBe('2f1e8c3a-5b7d-4e9f-8a1b-0c2d3e4f5a6b');
  });

  it('binds values with their Snowflake types', async () => {
    const { fake, sqlApi } = await setup({
      handlers: [
        { match: /^SELECT \? AS V$/, result: (_m, context) => ({ columns: ['V'], rows: [[context.bindings?.['1']?.value ?? null]] }) },
      ],
    });
    const result = await sqlApi.execute('SELECT ? AS V', { bindings: { '1': { type: 'TEXT', value: "it's" } } });
    expect(result.rows).toEqual([{ V: "it's" }]);
    expect(fake.requests[0]?.body).toMatchObject({ bindings: { '1': { type: 'TEXT', value: "it's" } } });
  });
});

describe('a statement that runs a while: 202 (333334), then the status URL until done', () => {
  it('polls GET statementStatusUrl, waiting longer each time, and returns the rows', async () => {
    const { fake, sqlApi, clock } = await setup({
      handlers: [{ match: /^CALL SLOW\(\)$/, slowPolls: 3, result: { columns: ['STATUS'], rows: [['done']] } }],
    });
    const result = await sqlApi.execute('CALL SLOW()');
    expect(result.rows).toEqual([{ STATUS: 'done' }]);
    expect(fake.requests.map((r) => `${r.method} ${r.status}`)).toEqual(['POST 202', 'GET 202', 'GET 202', 'GET 200']);
    expect(fake.requests.slice(1).every((r) => r.path === `/api/v2/statements/${result.statementHandle}`)).toBe(true);
    expect(clock.sleeps).toEqual([250, 500, 1000]);
    expect(fake.executions).toHaveLength(1);
  });

  it('past the deadline: cancelled, and a SnowflakeTimeoutError naming the statement', async () => {
    const { fake, sqlApi } = await setup({ handlers: [{ match: /^CALL SLOW\(\)$/, slowPolls: 1000, result: { columns: [], rows: [] } }] });
    const error = await sqlApi.execute('CALL SLOW()', { deadlineMs: 5_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnowflakeTimeoutError);
    const handle = (error as SnowflakeTimeoutError).statementHandle;
    expect(handle).toMatch(UUID);
    expect(fake.requests.at(-1)).toMatchObject({ method: 'POST', path: `/api/v2/statements/${handle}/cancel`, status: 200 });
  });

  it('408 (Snowflake cancelled it at its timeout): a SnowflakeTimeoutError, not retried', async () => {
    const { fake, sqlApi } = await setup({ handlers: [{ match: /^CALL LONG\(\)$/, result: { timeout: true } }] });
    await expect(sqlApi.execute('CALL LONG()', { timeout: 1 })).rejects.toMatchObject({ name: 'SnowflakeTimeoutError', status: 408 });
    expect(fake.requests).toHaveLength(1);
  });
});

describe('422: the statement failed', () => {
  it("surfaces Snowflake's code, SQL state, message and handle; not retried", async () => {
    const { fake, sqlApi } = await setup();
    const error = await sqlApi.execute('SELEC 1').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnowflakeSqlError);
    expect(error).toMatchObject({
      status: 422,
      code: '001003',
      sqlState: '42000',
      message: expect.stringMatching(/syntax error .* unexpected 'SELEC'/),
    });
    expect((error as SnowflakeSqlError).statementHandle).toMatch(UUID);
    expect(fake.requests).toHaveLength(1);
  });

  it('a handler error comes through as it is (a missing object: 002003 / 02000)', async () => {
    const { sqlApi } = await setup({
      handlers: [
        {
          match: /^DESC INTEGRATION (\w+)$/,
          result: (m) => ({
            error: { code: '002003', sqlState: '02000', message: `Integration '${m[1]}' does not exist or not authorized.` },
          }),
        },
      ],
    });
    await expect(sqlApi.execute('DESC INTEGRATION SNOWGATE_S3')).rejects.toMatchObject({
      code: '002003',
      sqlState: '02000',
      message: expect.stringContaining("Integration 'SNOWGATE_S3' does not exist"),
    });
  });

  it('USE / ALTER SESSION / BEGIN outside a multi-statement request are refused, as Snowflake does', async () => {
    const { fake, sqlApi } = await setup();
    for (const statement of ['USE WAREHOUSE LOAD_WH', 'ALTER SESSION SET QUERY_TAG = x', 'BEGIN']) {
      await expect(sqlApi.execute(statement)).rejects.toBeInstanceOf(SnowflakeSqlError);
    }
    expect(fake.executions).toEqual([]);
  });
});

describe('429, 503, 504 and lost answers: backoff, then the same requestId with retry=true', () => {
  it('waits at least Retry-After, then with jitter; the statement runs once', async () => {
    const { fake, sqlApi, clock } = await setup({}, { random: () => 0.5 });
    fake.failNext({ status: 429, retryAfterSeconds: 2 }, { status: 503 }, { status: 504 });
    expect((await sqlApi.execute('SELECT 1 AS ONE')).rows).toEqual([{ ONE: '1' }]);
    expect(clock.sleeps).toEqual([2000, 200, 400]);
    const sent = posts(fake);
    expect(sent.map((r) => r.status)).toEqual([429, 503, 504, 200]);
    expect(new Set(sent.map((r) => r.query.requestId)).size).toBe(1);
    expect(sent.map((r) => r.query.retry)).toEqual([undefined, 'true', 'true', 'true']);
    expect(fake.executions).toHaveLength(1);
  });

  it('429 now and then (every 2nd submit): every statement still runs, once', async () => {
    const { fake, sqlApi } = await setup({ throttleEvery: 2 });
    for (let i = 0; i < 4; i++) await sqlApi.execute('SELECT 1 AS ONE');
    // Submits 2, 4 and 6 are refused; each is resent and runs.
    expect(posts(fake).map((r) => r.status)).toEqual([200, 429, 200, 429, 200, 429, 200]);
    expect(fake.executions).toHaveLength(4);
  });

  it('gives up when the next wait would pass the retry budget, with the last status', async () => {
    const { fake, sqlApi, clock } = await setup({}, { backoff: { baseMs: 100, maxMs: 1_000, budgetMs: 3_000 }, random: () => 1 });
    fake.failNext(...Array.from({ length: 50 }, () => ({ status: 429 })));
    const start = clock.now;
    const error = await sqlApi.execute('SELECT 1 AS ONE').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SnowflakeApiError);
    expect(error).toMatchObject({ status: 429, message: expect.stringMatching(/gave up after \d+ attempts/) });
    expect(clock.sleeps).toEqual([100, 200, 400, 800, 1000]);
    expect(clock.now - start).toBeLessThanOrEqual(3_000);
    expect(fake.executions).toEqual([]);
  });

  it('500 is not retried (sqlapi.yaml: an unrecoverable system error)', async () => {
    const { fake, sqlApi } = await setup();
    fake.failNext({ status: 500 });
    await expect(sqlApi.execute('SELECT 1 AS ONE')).rejects.toMatchObject({ status: 500 });
    expect(fake.requests).toHaveLength(1);
  });

  it('the statement ran but the answer was lost (connection reset): the resend gets its result, it does not run twice', async () => {
    const { fake, sqlApi } = await setup({
      handlers: [{ match: /^INSERT INTO T VALUES \(1\)$/, result: { columns: ['number of rows inserted'], rows: [['1']] } }],
    });
    fake.failNext({ afterExecute: true, reset: true }, { status: 503 });
    const result = await sqlApi.execute('INSERT INTO T VALUES (1)');
    expect(result.rows).toEqual([{ 'number of rows inserted': '1' }]);
    expect(fake.executions).toHaveLength(1);
    const sent = posts(fake);
    expect(sent.map((r) => r.status)).toEqual(['reset', 503, 200]);
    expect(sent.map((r) => r.query.retry)).toEqual([undefined, 'true', 'true']);
    expect(result.statementHandle).toBe(fake.executions[0]?.handle);
  });

  it('the answer lost after the statement ran (503): the same, once', async () => {
    const { fake, sqlApi } = await setup({
      handlers: [{ match: /^INSERT INTO T VALUES \(1\)$/, result: { columns: ['number of rows inserted'], rows: [['1']] } }],
    });
    fake.failNext({ afterExecute: true, status: 503 });
    await sqlApi.execute('INSERT INTO T VALUES (1)');
    expect(fake.executions).toHaveLength(1);
    expect(posts(fake).map((r) => r.status)).toEqual([503, 200]);
  });
});

describe('results', () => {
  it('reads every partition (GET ?partition=N) and concatenates them in order', async () => {
    const rows = Array.from({ length: 250 }, (_, i) => [String(i), i % 7 === 0 ? null : `v${i}`]);
    const { fake, sqlApi } = await setup({
      partitionRows: 100,
      handlers: [{ match: /^SELECT \* FROM BIG$/, result: { columns: ['N', 'V'], rows } }],
    });
    const result = await sqlApi.execute('SELECT * FROM BIG');
    expect(result.rows).toHaveLength(250);
    expect(result.rows[0]).toEqual({ N: '0', V: null });
    expect(result.rows[249]).toEqual({ N: '249', V: 'v249' });
    expect(result.rows.map((r) => r.N)).toEqual(rows.map((r) => r[0]));
    expect(fake.requests.slice(1).map((r) => [r.method, r.query.partition])).toEqual([
      ['GET', '1'],
      ['GET', '2'],
    ]);
  });

  it('an empty result: columns, no rows', async () => {
    const { sqlApi } = await setup({
      handlers: [{ match: /^SHOW PIPES$/, result: { columns: ['name', 'notification_channel'], rows: [] } }],
    });
    expect(await sqlApi.execute('SHOW PIPES')).toMatchObject({ columns: ['name', 'notification_channel'], rows: [] });
  });

  it("multi-statement: MULTI_STATEMENT_COUNT sent, each statement's result read by its handle", async () => {
    const { fake, sqlApi } = await setup({
      handlers: [ONE_ROW, { match: /^SELECT 2 AS TWO$/, result: { columns: ['TWO'], rows: [['2']] } }],
    });
    const result = await sqlApi.execute('USE WAREHOUSE LOAD_WH; SELECT 1 AS ONE; SELECT 2 AS TWO', {
      multiStatementCount: 3,
      warehouse: 'LOAD_WH',
    });
    expect(fake.requests[0]?.body).toMatchObject({ parameters: { MULTI_STATEMENT_COUNT: '3' } });
    expect(result.statements?.map((s) => s.rows)).toEqual([
      [{ status: 'Statement executed successfully.' }],
      [{ ONE: '1' }],
      [{ TWO: '2' }],
    ]);
    expect(fake.requests.slice(1).map((r) => `${r.method} ${r.path}`)).toEqual(
      result.statements?.map((s) => `GET /api/v2/statements/${s.statementHandle}`),
    );
    expect(fake.executions.map((e) => e.statement)).toEqual(['USE WAREHOUSE LOAD_WH', 'SELECT 1 AS ONE', 'SELECT 2 AS TWO']);
  });

  it('multi-statement: a count that does not match is a 422 and nothing runs; a failing statement stops the rest', async () => {
    const { fake, sqlApi } = await setup();
    await expect(sqlApi.execute('SELECT 1 AS ONE; SELECT 1 AS ONE')).rejects.toMatchObject({
      code: '000008',
      message: expect.stringMatching(/Actual statement count 2 did not match the desired statement count 1/),
    });
    expect(fake.executions).toEqual([]);
    await expect(sqlApi.execute('SELECT 1 AS ONE; SELEC 2; SELECT 1 AS ONE', { multiStatementCount: 0 })).rejects.toMatchObject({
      code: '001003',
    });
    expect(fake.executions).toHaveLength(1);
  });
});
