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
