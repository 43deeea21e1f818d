import type { Failure } from './classify.js';
import type { SnowgateRequestError } from './errors.js';
import type { Limits } from './options.js';

/**
 * Reads a `Retry-After` header (RFC 9110 §10.2.3): delay-seconds or an HTTP
 * date. Returns milliseconds from `now` (never negative), or undefined when the
 * header is absent or unreadable.
 *
 * @example
 * parseRetryAfter('2')                                             // → 2000
 * parseRetryAfter('Wed, 03 Dec 2026 10:00:05 GMT', Date.parse('2026-12-03T10:00:00Z')) // → 5000
 */
export function parseRetryAfter(value: string | null | undefined, now: number = Date.now()): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (text === '') return undefined;
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  // An HTTP date always names a weekday or month: a bare number was handled above.
  if (!/[a-z]/i.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - now);
}

/**
 * Exponential backoff with full jitter (a uniformly random delay between 0 and
 * min(maxMs, baseMs × 2^(retry − 1))), with the server's `Retry-After` as a floor.
 *
 * @example
 * backoffDelay({ retry: 3, baseMs: 100, maxMs: 20_000, random: () => 0.5 })                    // → 200
 * backoffDelay({ retry: 1, baseMs: 100, maxMs: 20_000, retryAfterMs: 2000, random: () => 0.5 }) // → 2000
 */
export function backoffDelay({
  retry,
  baseMs,
  maxMs,
  retryAfterMs,
  random = Math.random,
}: {
  /** 1 for the first retry. */
  retry: number;
  baseMs: number;
  maxMs: number;
  retryAfterMs?: number | undefined;
  random?: () => number;
}): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(retry - 1, 52));
  const jittered = Math.floor(random() * ceiling);
  return Math.max(jittered, retryAfterMs ?? 0);
}

/** After a retryable failure: wait this long and try again. */
export interface Wait {
  kind: 'wait';
  delayMs: number;
}

/**
 * Whether a batch gets another attempt after attempt number `attempt` failed
 * with a retryable `error`, `elapsedMs` after its first attempt started: a
 * backoff delay, or the failure that ends it (retries or budget exhausted).
 *
 * @example
 * const limits = { maxRetries: 8, retryBaseDelayMs: 200, retryMaxDelayMs: 20_000, retryBudgetMs: 120_000 };
 * planRetry(error, { attempt: 1, elapsedMs: 0, limits }) // → { kind: 'wait', delayMs: 0–199 }
 * planRetry(error, { attempt: 9, elapsedMs: 0, limits }) // → { kind: 'failed', reason: 'retries_exhausted', … }
 */
export function planRetry(
  error: SnowgateRequestError,
  { attempt, elapsedMs, limits, random = Math.random }: { attempt: number; elapsedMs: number; limits: RetryLimits; random?: () => number },
): Wait | Failure {
  const giveUp = (reason: 'retries_exhausted' | 'retry_budget_exhausted', message: string): Failure => ({
    kind: 'failed',
    reason,
    message,
    httpStatus: error.status,
    error,
  });
  if (attempt > limits.maxRetries) return giveUp('retries_exhausted', `gave up after ${attempt} attempts: ${error.message}`);
  const delayMs = backoffDelay({
    retry: attempt,
    baseMs: limits.retryBaseDelayMs,
    maxMs: limits.retryMaxDelayMs,
    retryAfterMs: error.details.retryAfterMs,
    random,
  });
  if (elapsedMs + delayMs > limits.retryBudgetMs) {
    const message = `the next attempt, in ${delayMs} ms, would start past retryBudgetMs (${limits.retryBudgetMs}): ${error.message}`;
    return giveUp('retry_budget_exhausted', message);
  }
  return { kind: 'wait', delayMs };
}

type RetryLimits = Pick<Limits, 'maxRetries' | 'retryBaseDelayMs' | 'retryMaxDelayMs' | 'retryBudgetMs'>;

/** Waits `ms`, or less when `signal` aborts: `close({ timeoutMs })` must not wait out a backoff. */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (signal.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}
