import { createHash, createPrivateKey, createPublicKey, type KeyObject, sign } from 'node:crypto';

/**
 * Key-pair authentication for Snowflake's REST APIs: an RS256 JWT whose issuer
 * names the public key by its fingerprint.
 * https://docs.snowflake.com/en/developer-guide/sql-api/authenticating#using-key-pair-authentication
 */

/** Snowflake accepts a key-pair JWT for at most one hour after `iat`, whatever its `exp` says (same page). */
export const JWT_MAX_LIFETIME_SECONDS = 3600;
/** Under the hour, so that a clock a little ahead of Snowflake's does not make the token too long-lived. */
export const JWT_DEFAULT_LIFETIME_SECONDS = 3540;
/** A cached token is replaced this long before it expires, so that none expires in flight. */
export const JWT_RENEW_BEFORE_SECONDS = 300;

/** Raised for a key or identity that cannot make a valid token (never carries key material). */
export class SnowflakeKeyError extends Error {
  override name = 'SnowflakeKeyError';
}

export interface KeyPairCredentials {
  /** The account identifier, as in the account URL: `myorg-myaccount`, or a locator such as `xy12345.us-east-2.aws`. */
  account: string;
  /** The user the public key is registered to (`ALTER USER … SET RSA_PUBLIC_KEY`). */
  user: string;
  /** The private key, PEM (PKCS#8: `BEGIN PRIVATE KEY`, or `BEGIN ENCRYPTED PRIVATE KEY` with `passphrase`). */
  privateKey: string;
  passphrase?: string | undefined;
}

/**
 * The account part of the JWT's `iss` and `sub`: upper case, without region,
 * cloud or `privatelink` segments (a locator "excludes any region information"),
 * and with a period between organization and account name (the SQL form
 * `orgname.account_name`) written as the hyphen of the URL form. A replication
 * `.global` identifier keeps only what precedes its first hyphen, as Snowflake's
 * own sample does (sql-api-generate-jwt.py, `prepare_account_name_for_jwt`).
 * https://docs.snowflake.com/en/user-guide/admin-account-identifier
 *
 * @example
 * accountForJwt('myorg-myaccount')            // → 'MYORG-MYACCOUNT'
 * accountForJwt('xy12345.us-east-2.aws')      // → 'XY12345'
 * accountForJwt('myorg.myaccount')            // → 'MYORG-MYACCOUNT'
 */
export function accountForJwt(account: string): string {
  const id = account
    .trim()
    .replace(/\.snowflakecomputing\.(com|cn)$/i, '')
    .toLowerCase();
  if (!/^[a-z0-9_.-]+$/.test(id)) throw new SnowflakeKeyError(`not a Snowflake account identifier: ${JSON.stringify(account)}`);
  const [first = '', ...rest] = id.split('.');
  if (rest.includes('global')) return first.split('-')[0]!.toUpperCase();
  // After the first period: region, cloud or privatelink segments (us-east-2, us-central1.gcp, west-europe.azure)…
  const regionInfo = rest.length > 0 && (/\d/.test(rest[0]!) || rest[0] === 'privatelink' || /^(aws|gcp|azure)$/.test(rest.at(-1)!));
  if (rest.length === 0 || first.includes('-') || regionInfo) return first.toUpperCase();
  // …otherwise `orgname.account_name`, whose period the JWT wants as a hyphen.
  return id.replace(/\./g, '-').toUpperCase();
}

/**
 * The public key's fingerprint as Snowflake shows it (`DESC USER` → `RSA_PUBLIC_KEY_FP`):
 * `SHA256:` and the base64 SHA-256 of the DER SubjectPublicKeyInfo.
 *
 * @example
 * publicKeyFingerprint(readFileSync('rsa_key.pub', 'utf8')) // → 'SHA256:nvnONUsfiuycCLMXIEWG4eTp4FjhVUZQUQbNpbSHXiA='
 */
export function publicKeyFingerprint(key: KeyObject | string): string {
  const publicKey = typeof key === 'string' ? createPublicKey(key) : key.type === 'private' ? createPublicKey(key) : key;
  const der = publicKey.export({ type: 'spki', format: 'der' });
  return `SHA256:${createHash('sha256').update(der).digest('base64')}`;
}

/** Reads the PEM once; an unreadable key, a wrong passphrase or a non-RSA key fails here with a short message. */
export function loadPrivateKey(pem: string, passphrase?: string): KeyObject {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: 'pem', ...(passphrase ? { passphrase } : {}) });
  } catch {
    // OpenSSL's own message (e.g. "bad decrypt") says little; the PEM's header says whether a passphrase was the problem.
    const reason = /-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem)
      ? passphrase
        ? 'the passphrase does not open the key'
        : 'the key is encrypted: give its passphrase'
      : 'not a PEM private key';
    throw new SnowflakeKeyError(`cannot read the Snowflake private key: ${reason}`);
  }
  if (key.asymmetricKeyType !== 'rsa') throw new SnowflakeKeyError(`the Snowflake private key must be RSA, not ${key.asymmetricKeyType}`);
  return key;
}

const b64url = (value: object | Buffer) => (Buffer.isBuffer(value) ? value : Buffer.from(JSON.stringify(value))).toString('base64url');

/**
 * Signs one key-pair JWT (RS256) issued at `nowMs` (seconds in `iat` / `exp`).
 *
 * @example
 * signJwt({ account: 'myorg-myaccount', user: 'loader', privateKey: pem }, Date.now())
 * // payload: { iss: 'MYORG-MYACCOUNT.LOADER.SHA256:…', sub: 'MYORG-MYACCOUNT.LOADER', iat, exp: iat + 3540 }
 */
export function signJwt(
  credentials: KeyPairCredentials,
  nowMs: number,
  lifetimeSeconds: number = JWT_DEFAULT_LIFETIME_SECONDS,
  key: KeyObject = loadPrivateKey(credentials.privateKey, credentials.passphrase),
): string {
  if (!(lifetimeSeconds > 0 && lifetimeSeconds <= JWT_MAX_LIFETIME_SECONDS)) {
    throw new SnowflakeKeyError(`a key-pair JWT lives between 1 and ${JWT_MAX_LIFETIME_SECONDS} s, not ${lifetimeSeconds}`);
  }
  const qualifiedUser = `${accountForJwt(credentials.account)}.${credentials.user.toUpperCase()}`;
  const iat = Math.floor(nowMs / 1000);
  const payload = { iss: `${qualifiedUser}.${publicKeyFingerprint(key)}`, sub: qualifiedUser, iat, exp: iat + lifetimeSeconds };
  const input = `${b64url({ alg: 'RS256', typ: 'JWT' })}.${b64url(payload)}`;
  return `${input}.${b64url(sign('sha256', Buffer.from(input), key))}`;
}

/**
 * One JWT at a time for one user: minted on first use, reused until
 * `JWT_RENEW_BEFORE_SECONDS` before it expires, and dropped by `invalidate()`
 * (after a 401). The clock is injected so that renewal is testable.
 */
export class JwtSource {
  readonly #credentials: KeyPairCredentials;
  readonly #key: KeyObject;
  readonly #now: () => number;
  readonly #lifetimeSeconds: number;
  #cached: { token: string; renewAtMs: number } | undefined;

  constructor(credentials: KeyPairCredentials, { now = Date.now, lifetimeSeconds = JWT_DEFAULT_LIFETIME_SECONDS } = {}) {
    this.#credentials = credentials;
    // Read (and check) the key now: a bad key fails at start, not on the first statement.
    this.#key = loadPrivateKey(credentials.privateKey, credentials.passphrase);
    this.#now = now;
    this.#lifetimeSeconds = lifetimeSeconds;
    accountForJwt(credentials.account);
  }

  token(): string {
    const now = this.#now();
    if (!this.#cached || now >= this.#cached.renewAtMs) {
      const token = signJwt(this.#credentials, now, this.#lifetimeSeconds, this.#key);
      const renewIn = Math.max(0, this.#lifetimeSeconds - JWT_RENEW_BEFORE_SECONDS) * 1000;
      this.#cached = { token, renewAtMs: now + Math.max(renewIn, (this.#lifetimeSeconds * 1000) / 2) };
    }
    return this.#cached.token;
  }

  invalidate(): void {
    this.#cached = undefined;
  }
}
