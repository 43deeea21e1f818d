/**
 * The fake is only as good as its strictness: raw requests that Snowflake
 * refuses are refused here too, so that the client's tests mean something.
 */
import { sign } from 'node:crypto';
import { publicKeyFingerprint, signJwt } from '@snowgate/snowflake-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeSnowflake, splitStatements, startFakeSnowflake } from '../support/fake-snowflake';
import { rsaPemKeyPair } from '../support/keys';

const { publicKey, privateKey } = rsaPemKeyPair();
const credentials = { account: 'myorg-myaccount', user: 'loader', privateKey };
const b64 = (value: object) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** A token with any claims, signed by the registered key. */
function token(claims: object, alg = 'RS256') {
  const input = `${b64({ alg, typ: 'JWT' })}.${b64(claims)}`;
  return `${input}.${sign('sha256', Buffer.from(input), privateKey).toString('base64url')}`;
}

let fake: FakeSnowflake;
beforeAll(async () => {
  fake = await startFakeSnowflake({
    account: 'MYORG-MYACCOUNT',
    users: { LOADER: publicKey },
    handlers: [{ match: /^SELECT 1$/, result: { columns: ['1'], rows: [['1']] } }],
  });
});
afterAll(() => fake.close());

async function post(jwt: string, headers: Record<string, string> = {}, body: unknown = { statement: 'SELECT 1' }) {
  const response = await fetch(`${fake.url}/api/v2/statements`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${jwt}`,
      'X-Snowflake-Authorization-Token-Type': 'KEYPAIR_JWT',
      Accept: 'application/json',
      'Content-Type': 'application/json',
      'User-Agent': 'test/1.0',
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json(), rejected: fake.requests.at(-1)?.rejected };
}

describe('the fake refuses', () => {
  const iat = Math.floor(Date.now() / 1000);
  const sub = 'MYORG-MYACCOUNT.LOADER';
  const iss = `${sub}.${publicKeyFingerprint(publicKey)}`;

  it('accepts a good token (the baseline the refusals below differ from)', async () => {
    expect(await post(token({ iss, sub, iat, exp: iat + 3600 }))).toMatchObject({ status: 200 });
    expect(await post(signJwt(credentials, Date.now()))).toMatchObject({ status: 200 });
  });

  it.each([
    ['a token that lives longer than an hour', { iss, sub, iat, exp: iat + 3601 }, 'lives longer than an hour'],
    ['an expired token', { iss, sub, iat: iat - 7200, exp: iat - 3600 }, 'expired'],
    ['a token issued in the future', { iss, sub, iat: iat + 600, exp: iat + 1200 }, 'issued in the future'],
    ['a lower-case sub', { iss: iss.toLowerCase(), sub: sub.toLowerCase(), iat, exp: iat + 60 }, `sub ${sub.toLowerCase()}`],
    ['an iss without the fingerprint', { iss: sub, sub, iat, exp: iat + 60 }, 'iss does not name the registered key'],
    ['another account', { iss: iss.replace('MYORG-MYACCOUNT', 'OTHER'), sub: 'OTHER.LOADER', iat, exp: iat + 60 }, 'sub OTHER.LOADER'],
  ])('%s', async (_name, claims, reason) => {
    expect(await post(token(claims))).toMatchObject({ status: 401, body: { code: '390144' }, rejected: reason });
  });

  it('a token whose signature does not match, or that is not RS256', async () => {
    const good = token({ iss, sub, iat, exp: iat + 60 });
    const tampered = good.replace(/\.[\w-]+\./, `.${b64({ iss, sub, iat, exp: iat + 120 })}.`);
    expect(await post(tampered)).toMatchObject({ status: 401, rejected: 'bad signature' });
    expect(await post(token({ iss, sub, iat, exp: iat + 60 }, 'none'))).toMatchObject({ status: 401, rejected: 'alg none' });
  });

  it('another token type, no User-Agent, a body that is not JSON, a requestId that is not a UUID', async () => {
    const good = signJwt(credentials, Date.now());
    expect(await post(good, { 'X-Snowflake-Authorization-Token-Type': 'OAUTH' })).toMatchObject({ status: 401 });
    expect(await post(good, { 'User-Agent': '' })).toMatchObject({ status: 400, body: { code: '391903' } });
    expect(await post(good, { 'Content-Type': 'text/plain' })).toMatchObject({ status: 415 });
    expect(await post(good, {}, { sql: 'SELECT 1' })).toMatchObject({ status: 400 });
    const response = await fetch(`${fake.url}/api/v2/statements?requestId=42`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${good}`,
        Accept: 'application/json',
        'Content-Type': 'application/json',
        'User-Agent': 'test/1.0',
      },
      body: JSON.stringify({ statement: 'SELECT 1' }),
    });
    expect(response.status).toBe(400);
  });
});

describe('splitStatements', () => {
  it('splits on semicolons outside quotes and drops empty statements', () => {
    expect(splitStatements('USE ROLE R; SELECT \'a;b\', "x;y" FROM T;\n')).toEqual(['USE ROLE R', 'SELECT \'a;b\', "x;y" FROM T']);
  });
});
