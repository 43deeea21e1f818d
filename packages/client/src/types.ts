import type { SnowgateRequestError } from './errors.js';

/** An event as the client takes it: a JSON object whose `id` the server requires (a non-empty string of at most 256 characters, or a finite number). */
export type SnowgateEvent = { id?: unknown; [key: string]: unknown };

/** AWS credentials for `{ type: 'iam' }`. */
export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When they stop working; a provider is asked again before then. */
  expiration?: Date;
}

/** A function that returns credentials, such as `fromNodeProviderChain()` from `@aws-sdk/credential-providers` (it caches and refreshes). */
export type AwsCredentialProvider = () => Promise<AwsCredentials>;

export type Auth =
  | { type: 'none' }
  /** A static key in a header (`x-api-key` unless told otherwise). */
  | { type: 'apiKey'; key: string; header?: string }
  /** `Authorization: Bearer <token>`; `getToken` is asked before every attempt, so it may refresh. */
  | { type: 'jwt'; token: string }
  | { type: 'jwt'; getToken: () => string | Promise<string> }
  /** AWS Signature Version 4 for API Gateway (`execute-api`), over the body as sent (compressed when gzip is on). */
  | { type: 'iam'; region: string; credentials: AwsCredentials | AwsCredentialProvider; service?: string };

/** What `fetch` must offer: the global one, undici's, or a test double. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body: string | Uint8Array; signal: AbortSignal },
) => Promise<{ status: number; headers: { get(name: string): string | null }; text(): Promise<string> }>;

export interface GzipOptions {
  /** Bodies smaller than this are sent uncompressed (default 1,024 bytes). */
  minBytes?: number;
  /** zlib level 1–9 (default 6). */
  level?: number;
  /**
   * A body that compresses better than this ratio is sent uncompressed instead
   * (default 100). The server refuses bodies that inflate past its
   * `maxInflateRatio` (200 by default) as likely decompression bombs.
   */
  maxRatio?: number;
}

export interface ClientOptions<E extends SnowgateEvent = SnowgateEvent> {
  /** The API's base URL (`/events` is appended), or the full URL of `POST /events`. */
  endpoint: string;
  /** Default `{ type: 'none' }`. */
  auth?: Auth;
  /** Events per request, at most the stage's `maxRecordsPerRequest` (default 500). */
  maxBatchRecords?: number;
  /**
   * Uncompressed body bytes per request, at most the stage's `maxBodyBytes`
   * (default 1,037,653, the stage's default). Whatever it is, a request is also
   * kept small enough to reach the function inside API Gateway's event (under
   * Lambda's 6 MB once its quotes are escaped).
   */
  maxBatchBytes?: number;
  /**
   * The stage's `maxRecordBytes` (default 1,023,999). An event whose JSON, plus
   * `ENVELOPE_OVERHEAD_BYTES` (206) for the envelope, a producer name and its id as partition key, is over it is refused
   * locally and never sent.
   */
  maxRecordBytes?: number;
  /** A batch that is not full is sent this long after its first event (default 1,000 ms). */
  flushIntervalMs?: number;
  /** Requests in flight at once, retries included (default 4). */
  maxConcurrency?: number;
  /** Events taken by `send()` and not yet settled, at most (default 20,000). */
  maxBufferedEvents?: number;
  /** Their JSON bytes, at most (default 64 MiB). */
  maxBufferedBytes?: number;
  /** `Content-Encoding: gzip` (default false). */
  gzip?: boolean | GzipOptions;
  /** Retries per batch after the first attempt (default 8). */
  maxRetries?: number;
  /** First backoff ceiling; it doubles per retry (default 200 ms). */
  retryBaseDelayMs?: number;
  /** Largest backoff ceiling (default 20,000 ms). A `Retry-After` may ask for longer, and is honoured. */
  retryMaxDelayMs?: number;
  /** No retry starts later than this after a batch's first attempt (default 120,000 ms). */
  retryBudgetMs?: number;
  /** One attempt's time limit; a timeout is retried like a network error (default 30,000 ms). */
  requestTimeoutMs?: number;
  /** Extra headers on every request. */
  headers?: Record<string, string>;
  /** Default: the global `fetch`. */
  fetch?: FetchLike;
  /** Called for each event the server (or the client, before sending) rejected. */
  onRejected?: (outcome: RejectedOutcome<E>) => void;
  /** Called for each event given up on (retries exhausted, not retryable, or closed). */
  onFailed?: (outcome: FailedOutcome<E>) => void;
  /** Called for every failed attempt, whether or not it will be retried. */
  onError?: (error: SnowgateRequestError, context: AttemptContext) => void;
}

export interface AttemptContext {
  /** 1 for the first attempt. */
  attempt: number;
  /** Events in the batch. */
  events: number;
  /** How long until the next attempt, or undefined when there will be none. */
  retryInMs: number | undefined;
}

/** A warning the server returned for an accepted event (schema contracts in `warn` mode). */
export interface EventWarning {
  reason: string;
  message: string;
}

/** The server acknowledged the event: it is durable in the stream and will reach `raw_events` (at least once). */
export interface DeliveredOutcome<E = SnowgateEvent> {
  status: 'delivered';
  event: E;
  httpStatus: number;
  requestId: string | undefined;
  attempts: number;
  warnings?: EventWarning[];
}

/** The server refused the event as bad input (it is in the quarantine), or the client refused it before sending (`local`). Sending it again as is will not help. */
export interface RejectedOutcome<E = SnowgateEvent> {
  status: 'rejected';
  event: E;
  /** The server's reason (`missing_id`, `record_too_large`, …), or the client's (`record_too_large`, `not_serializable`). */
  reason: string;
  message: string;
  /** True when the client refused it and never sent it. */
  local: boolean;
  httpStatus: number | undefined;
  requestId: string | undefined;
}

export type FailureReason =
  /** maxRetries attempts failed with a 5xx, a 429, a timeout or a network error. */
  | 'retries_exhausted'
  /** The next retry (after Retry-After or backoff) would start after retryBudgetMs. */
  | 'retry_budget_exhausted'
  /** A status that is neither success nor bad input: 401, 403, 404, … (not retried). */
  | 'unexpected_status'
  /** A 207 whose body could not be read, or a 2xx whose `accepted` count does not match the request: which events were taken is unknown. */
  | 'unreadable_response'
  /** `close()` gave up waiting for it. */
  | 'closed';

/** Not acknowledged. It may still have arrived (the answer was lost): sending it again is safe, and may duplicate it. */
export interface FailedOutcome<E = SnowgateEvent> {
  status: 'failed';
  event: E;
  reason: FailureReason;
  message: string;
  attempts: number;
  httpStatus: number | undefined;
  error: SnowgateRequestError | undefined;
}

export type EventOutcome<E = SnowgateEvent> = DeliveredOutcome<E> | RejectedOutcome<E> | FailedOutcome<E>;

/**
 * Events by outcome. From `flush()`: those settled since the previous `flush()`
 * or `close()` result. From `close()`: every event of the client's life, as in `stats()`.
 */
export interface FlushResult {
  delivered: number;
  rejected: number;
  failed: number;
}

export interface ClientStats {
  /** Events taken by `send()` (local rejections included). */
  sent: number;
  delivered: number;
  rejected: number;
  /** Of the rejected, those refused by the client without sending. */
  rejectedLocally: number;
  failed: number;
  /** Events taken and not yet settled: waiting, in flight, or between retries. */
  buffered: number;
  bufferedBytes: number;
  /** HTTP requests made, retries included. */
  requests: number;
  retries: number;
  /** Body bytes put on the wire (compressed when gzip applied), and before compression. */
  bytesSent: number;
  bytesUncompressed: number;
}

/** What the server said to one request, read whole so that classifying it needs no I/O. */
export interface Answer {
  status: number;
  /** API Gateway's `apigw-requestid` header, when there is one. */
  requestId: string | undefined;
  retryAfterMs: number | undefined;
  text: string;
}
