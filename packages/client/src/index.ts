export { createClient, SnowgateClient } from './client.js';
export { DEFAULTS } from './options.js';
export { BufferFullError, ClientClosedError, SnowgateRequestError } from './errors.js';
export { backoffDelay, parseRetryAfter } from './retry.js';
export { eventsUrl } from './transport.js';
export { ENVELOPE_OVERHEAD_BYTES, escapeGrowth, LAMBDA_BODY_BUDGET_BYTES, recordBytesOnStream, utf8Length } from './size.js';
export { CLIENT_VERSION } from './version.js';
export type {
  AttemptContext,
  Auth,
  AwsCredentialProvider,
  AwsCredentials,
  ClientOptions,
  ClientStats,
  DeliveredOutcome,
  EventOutcome,
  EventWarning,
  FailedOutcome,
  FailureReason,
  FetchLike,
  FlushResult,
  GzipOptions,
  RejectedOutcome,
  SnowgateEvent,
} from './types.js';
