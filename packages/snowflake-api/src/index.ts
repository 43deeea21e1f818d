export {
  accountForJwt,
  JWT_DEFAULT_LIFETIME_SECONDS,
  JWT_MAX_LIFETIME_SECONDS,
  JWT_RENEW_BEFORE_SECONDS,
  JwtSource,
  type KeyPairCredentials,
  loadPrivateKey,
  publicKeyFingerprint,
  SnowflakeKeyError,
  signJwt,
} from './jwt.js';
export { type BackoffSettings, backoffMs, DEFAULT_BACKOFF, parseRetryAfter, type RetryVerdict, retryVerdict } from './retry.js';
export {
  DEFAULT_USER_AGENT,
  type ExecuteOptions,
  type Row,
  SnowflakeApiError,
  SnowflakeSqlError,
  SnowflakeTimeoutError,
  SqlApiClient,
  type SqlApiClientOptions,
  STATEMENTS_PATH,
  type StatementResult,
  type TokenSource,
} from './sql-api.js';
export * from './types.js';
export { formatKeySecret, type KeySecret, parseKeySecret } from './key-secret.js';
