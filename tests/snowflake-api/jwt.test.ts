/**
 * Key-pair JWT: the claims Snowflake checks, the fingerprint it compares, the
 * account identifier rules, and renewal on an injected clock. No network.
 */
import { createHash, createPublicKey, generateKeyPairSync, verify } from 'node:crypto';
import {
  accountForJwt,
  JWT_MAX_LIFETIME_SECONDS,
  JwtSource,
  publicKeyFingerprint,
  SnowflakeKeyError,
  signJwt,
} from '@snowgate/snowflake-api';
import { describe, expect, it } from 'vitest';
import { rsaPemKeyPair } from '../support/keys';

const { publicKey, privateKey } = rsaPemKeyPair();

function decode(token: string) {
  const [header, payload, signature] = token.split('.') as [string, string, string];
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    claims: JSON.parse(Buffer.from(payload, 'base64url').toString()),
    signed: Buffer.from(`${header}.${payload}`),
    signature: Buffer.from(signature, 'base64url'),
  };
}

describe('accountForJwt: the account as iss and sub name it', () => {
  it.each([
    ['myorg-myaccount', 'MYORG-MYACCOUNT'],
    ['MyOrg-My_Account', 'MYORG-MY_ACCOUNT'],
    ['myorg-myaccount.privatelink', 'MYORG-MYACCOUNT'],
    ['myorg-myaccount.snowflakecomputing.com', 'MYORG-MYACCOUNT'],
    ['xy12345', 'XY12345'],
    ['xy12345.us-east-2.aws', 'XY12345'],
    ['xy12345.eu-west-1', 'XY12345'],
    ['xy12345.us-central1.gcp', 'XY12345'],
    ['xy12345.west-europe.azure', 'XY12345'],
    ['xy12345.us-east-2.privatelink', 'XY12345'],
    ['myorg.myaccount', 'MYORG-MYACCOUNT'],
    ['myaccount-1234567890abcdef.global', 'MYACCOUNT'],
  ])('%s → %s', (given, expected) => {
    expect(accountForJwt(given)).toBe(expected);
  });

  it('refuses what is not an identifier (a URL with a scheme, spaces)', () => {
    expect(() => accountForJwt('https://myorg-myaccount.snowflakecomputing.com')).toThrow(SnowflakeKeyError);
    expect(() => accountForJwt('my org')).toThrow(SnowflakeKeyError);
  });
});

describe('publicKeyFingerprint', () => {
  it('is SHA256: and the base64 SHA-256 of the DER public key, from the private or the public key', () => {
    // The PEM body of an SPKI public key is that DER, base64: hash it directly, as `openssl … | openssl dgst -sha256 -binary | base64` does.
    const der = Buffer.from(publicKey.replace(/-----[A-Z ]+-----|\s/g, ''), 'base64');
    const expected = `SHA256:${createHash('sha256').update(der).digest('base64')}`;
    expect(publicKeyFingerprint(publicKey)).toBe(expected);
    expect(publicKeyFingerprint(createPublicKey(privateKey))).toBe(expected);
  });
});

describe('signJwt', () => {
  const credentials = { account: 'myorg-myaccount', user: 'loader', privateKey };
  const now = Date.parse('2026-12-07T12:00:00Z');

  it('RS256 over the claims Snowflake checks, verifiable with the public key', () => {
    const { header, claims, signed, signature } = decode(signJwt(credentials, now));
    expect(header).toEqual({ alg: 'RS256', typ: 'JWT' });
    expect(claims).toEqual({
      iss: `MYORG-MYACCOUNT.LOADER.${publicKeyFingerprint(publicKey)}`,
      sub: 'MYORG-MYACCOUNT.LOADER',
      iat: now / 1000,
      exp: now / 1000 + 3540,
    });
    expect(verify('sha256', signed, publicKey, signature)).toBe(true);
  });

  it('never lives longer than an hour', () => {
    expect(decode(signJwt(credentials, now, JWT_MAX_LIFETIME_SECONDS)).claims.exp - now / 1000).toBe(3600);
    expect(() => signJwt(credentials, now, JWT_MAX_LIFETIME_SECONDS + 1)).toThrow(/between 1 and 3600/);
  });

  it('reads an encrypted PKCS#8 key with its passphrase; a wrong or missing passphrase fails without echoing the key', () => {
    const encrypted = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'correct horse' },
    });
    expect(encrypted.privateKey).toMatch(/BEGIN ENCRYPTED PRIVATE KEY/);
    const token = signJwt({ ...credentials, privateKey: encrypted.privateKey, passphrase: 'correct horse' }, now);
    const { signed, signature, claims } = decode(token);
    expect(verify('sha256', signed, encrypted.publicKey, signature)).toBe(true);
    expect(claims.iss).toBe(`MYORG-MYACCOUNT.LOADER.${publicKeyFingerprint(encrypted.publicKey)}`);
    for (const passphrase of ['wrong', undefined]) {
      const attempt = () => signJwt({ ...credentials, privateKey: encrypted.privateKey, passphrase }, now);
      expect(attempt).toThrow(SnowflakeKeyError);
      expect(attempt).toThrow(/passphrase/);
      expect(attempt).not.toThrow(/ENCRYPTED|MII/);
    }
  });

  it('refuses a key that is not RSA, or not a key', () => {
    const ec = generateKeyPairSync('ec', {
      namedCurve: 'P-256',
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
      publicKeyEncoding: { type: 'spki', format: 'pem' },
    });
    expect(() => signJwt({ ...credentials, privateKey: ec.privateKey }, now)).toThrow(/must be RSA, not ec/);
    expect(() => signJwt({ ...credentials, privateKey: 'not a key' }, now)).toThrow(/not a PEM private key/);
  });
});

describe('JwtSource: one token reused, renewed before it expires', () => {
  it('reuses the token until 5 minutes before exp, then mints a new one; invalidate() forces a new one', () => {
    let clock = Date.parse('2026-12-07T12:00:00Z');
    const source = new JwtSource({ account: 'myorg-myaccount', user: 'loader', privateKey }, { now: () => clock });
    const first = source.token();
    clock += 3239_000; // 59 min lifetime − 5 min renewal margin − 1 s
    expect(source.token()).toBe(first);
    clock += 1_000;
    const second = source.token();
    expect(second).not.toBe(first);
    expect(decode(second).claims.iat).toBe(clock / 1000);
    expect(decode(second).claims.exp * 1000).toBeGreaterThan(clock);
    clock += 1_000;
    expect(source.token()).toBe(second);
    source.invalidate();
    clock += 1_000;
    expect(source.token()).not.toBe(second);
  });

  it('checks the key and the account when built, not on the first statement', () => {
    expect(() => new JwtSource({ account: 'myorg-myaccount', user: 'loader', privateKey: 'nope' })).toThrow(SnowflakeKeyError);
    expect(() => new JwtSource({ account: 'my org', user: 'loader', privateKey })).toThrow(SnowflakeKeyError);
  });
});
