/**
 * The SQL API's retry policy, in one place: which answers get another attempt
 * and how long to wait. Each rule names the document it comes from.
 */

/** What the client does with an answer it did not want. */
export type RetryVerdict =
  /** Wait and send the same request again (a statement's resend carries `retry=true`). */
  | { kind: 'retry' }
  /** Mint a new JWT and send again, once. */
  | { kind: 'reauthenticate' }
  | { kind: 'fail' };

/**
 * - 429: "the number of requests hit the rate limit. The application must slow down" (sqlapi.yaml, 429LimitExceeded).
 * - 503, 504: "The application may retry with backoff. The jittered backoff is recommended" (sqlapi.yaml, 503/504).
 * - A network error (no answer): the statement may or may not have run; a resend with the same `requestId`
 *   and `retry=true` is safe, "Snowflake does not execute the statement again" if it ran
 *   (https://docs.snowflake.com/en/developer-guide/sql-api/submitting-requests#resubmitting-a-request-to-execute-sql-statements).
 * - 401: "The application must obtain a new access token for retry" (sqlapi.yaml, 401Unauthorized): once, since a
 *   second 401 with a fresh token means the key or user is wrong.
 * - 408 (the statement ran past its timeout and was cancelled), 422 (SQL error), 400/403/404/405/415, 500
 *   ("an unrecoverable system error"): not retried.
 */
export function retryVerdict(status: number | 'network-error'): RetryVerdict {
  if (status === 'network-error' || status === 429 || status === 503 || status === 504) return { kind: 'retry' };
  if (status === 401) return { kind: 'reauthenticate' };
  return { kind: 'fail' };
}

/**
 * Snowpipe Streaming's REST API, beside the SQL API's rules above:
 * - 429: "Retry using exponential backoff with random variation in retry delays (jitter)"
 *   (https://docs.snowflake.com/en/user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-rest-tutorial, Troubleshooting).
 * - 500, 502, 503, 504 and no answer: retried too. The docs are silent on 5xx; we resend because every write carries
 *   the channel's continuation token, which the service refuses once used, so a resent append that had been applied
 *   comes back as a sequencer error (the client then reopens the channel) instead of loading its rows twice.
 * - 401: "Verify that your JWT token is valid and not expired. If needed, regenerate it" (same page): a new token, once.
 * - Every other answer (400, 404, 409, 413, 415, …): not retried; the caller reads its `code`.
 */
export function streamingRetryVerdict(status: number | 'network-error'): RetryVerdict {
  if (status === 'network-error' || status === 429 || status === 500 || status === 502 || status === 503 || status === 504) {
    return { kind: 'retry' };
  }
  if (status === 401) return { kind: 'reauthenticate' };
  return { kind: 'fail' };
}

export interface BackoffSettings {
  /** First retry's ceiling; doubles per retry. */
  baseMs: number;
  /** No single wait is longer (except a longer `Retry-After`). */
  maxMs: number;
  /** Retries stop when the next wait would end past this much time since the first attempt. */
  budgetMs: number;
}

export const DEFAULT_BACKOFF: BackoffSettings = { baseMs: 200, maxMs: 10_000, budgetMs: 60_000 };

/**
 * Exponential backoff with full jitter (https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/,
 * the page sqlapi.yaml links), never sooner than the server's `Retry-After` (RFC 9110 §10.2.3, seconds or a date).
 *
 * @example
 * backoffMs(3, { baseMs: 200, maxMs: 10_000, budgetMs: 60_000 }, undefined, () => 0.5) // → 400
 */
export function backoffMs(retry: number, settings: BackoffSettings, retryAfterMs: number | undefined, random: () => number): number {
  const ceiling = Math.min(settings.maxMs, settings.baseMs * 2 ** Math.min(retry - 1, 30));
  return Math.max(Math.floor(random() * ceiling), retryAfterMs ?? 0);
}

/** `Retry-After` in milliseconds, or undefined when absent or unreadable. */
export function parseRetryAfter(value: string | null, nowMs: number): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - nowMs);
}
