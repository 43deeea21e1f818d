import { chunkForPutRecords } from './batching';
import { DownstreamMisconfiguredError, DownstreamUnavailableError } from './errors';

export interface Clock {
  now(): number;
  sleep(ms: number): Promise<void>;
  /** A number in [0, 1), for jitter. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: () => Math.random(),
};

export class DeadlineExceededError extends Error {
  override readonly name = 'DeadlineExceededError';
}

/**
 * Runs `work` with an abort signal that fires at `deadline`, and rejects with
 * `DeadlineExceededError` then, whether or not `work` honours the signal.
 */
export async function withDeadline<T>(work: (signal: AbortSignal) => Promise<T>, deadline: number, clock: Clock = systemClock): Promise<T> {
  const remaining = deadline - clock.now();
  if (remaining <= 0) throw new DeadlineExceededError('no time left');
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      controller.abort();
      reject(new DeadlineExceededError(`no answer within ${remaining} ms`));
    }, remaining);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Errors of the moment: throttling, and the services' own transient failures (AWS SDK v3 error names). */
const TRANSIENT_ERRORS = new Set([
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'SlowDown',
  'KMSThrottlingException',
  'InternalFailure',
  'InternalFailureException',
  'InternalError',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'RequestTimeout',
  'RequestTimeoutException',
  'TimeoutError',
  'AbortError',
  // A clock off by minutes: the SDK corrects its offset from the answer and signs the retry with it.
  'RequestTimeTooSkewed',
  'RequestExpired',
  'RequestInTheFuture',
]);

/** Node's network errors (`error.code`): the connection, not the call, failed. */
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
]);

/** Errors a retry cannot fix: the call is wrong, or is not allowed, whenever it is made. */
const PERMANENT_ERRORS = new Set([
  'ResourceNotFoundException',
  'AccessDeniedException',
  'AccessDenied',
  'NoSuchBucket',
  'InvalidAccessKeyId',
  'UnrecognizedClientException',
  'ValidationException',
  'InvalidArgumentException',
  'InvalidRequest',
  'MalformedXML',
]);

/** What a bug throws: retrying the same code with the same input throws it again. */
const PROGRAMMING_ERRORS = new Set(['TypeError', 'RangeError', 'ReferenceError', 'SyntaxError', 'EvalError', 'URIError']);

/**
 * Whether another attempt of a failed AWS call can succeed: throttling, a 5xx, a
 * timeout or a network error can; a missing resource, denied access (IAM, or a
 * KMS key disabled, missing or not ours), a request the service calls invalid,
 * and a bug in our code cannot. Read from the error's shape (name, `$fault`,
 * `$retryable`, HTTP status, `code`), so that core needs no SDK. An error that
 * says nothing either way counts as retryable, as every error did before.
 *
 * @example
 * isRetryableError(Object.assign(new Error('Rate exceeded'), { name: 'ProvisionedThroughputExceededException' })) // → true
 * isRetryableError(Object.assign(new Error('no key'), { name: 'KMSDisabledException', $fault: 'client' }))          // → false
 * isRetryableError(new TypeError("Cannot read properties of undefined (reading 'map')"))                              // → false
 */
export function isRetryableError(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const e = error as {
    name?: unknown;
    code?: unknown;
    cause?: { code?: unknown };
    $retryable?: unknown;
    $fault?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const name = typeof e.name === 'string' ? e.name : '';
  if (PROGRAMMING_ERRORS.has(name)) return false;
  if (TRANSIENT_ERRORS.has(name) || e.$retryable) return true;
  if (NETWORK_CODES.has(String(e.code)) || NETWORK_CODES.has(String(e.cause?.code))) return true;
  // KMS errors other than throttling (disabled, not found, access denied, invalid state, opt-in): a key an operator must fix.
  if (PERMANENT_ERRORS.has(name) || (name.startsWith('KMS') && name !== 'KMSInternalException')) return false;
  const status = e.$metadata?.httpStatusCode;
  if (typeof status === 'number') return status >= 500 || status === 408 || status === 409 || status === 429;
  if (e.$fault === 'client') return false;
  return true;
}

/** Sends one chunk; resolves with the positions (in the chunk) of the entries that failed, and their error codes. */
export type SendChunk<T> = (chunk: T[], signal: AbortSignal) => Promise<{ failed: number[]; errorCodes: string[] }>;

export interface DeliveryOptions {
  /** Absolute time (ms since epoch, by the clock) by which everything must be acknowledged. */
  deadline: number;
  baseDelayMs: number;
  maxDelayMs: number;
  retryAfterSeconds: number;
  /** False for errors that a retry cannot fix (no such stream, access denied, a bug): fail at once. `isRetryableError` by default. */
  isRetryable?: (error: unknown) => boolean;
}

export interface DeliveryStats {
  attempts: number;
  /** Entries sent again after a partial failure. */
  resent: number;
  /** Count of each error code seen in partial failures or failed calls. */
  errorCodes: Record<string, number>;
}

/**
 * Delivers every entry, in PutRecords-sized chunks sent concurrently. After a
 * partial failure only the failed entries are sent again (resending the rest
 * would duplicate them), after a full-jitter exponential backoff, until
 * the deadline. Resolves only when every entry is acknowledged; otherwise
 * rejects with `DownstreamUnavailableError`, or at once with
 * `DownstreamMisconfiguredError` when a call fails in a way no retry can fix.
 *
 * @example
 * await deliverWithRetry(entries, sendToKinesis, { deadline: Date.now() + 3000, baseDelayMs: 25, maxDelayMs: 500, retryAfterSeconds: 1 });
 */
export async function deliverWithRetry<T extends { bytes: number }>(
  entries: readonly T[],
  send: SendChunk<T>,
  options: DeliveryOptions,
  clock: Clock = systemClock,
): Promise<DeliveryStats> {
  const stats: DeliveryStats = { attempts: 0, resent: 0, errorCodes: {} };
  const count = (code: string) => (stats.errorCodes[code] = (stats.errorCodes[code] ?? 0) + 1);
  const unavailable = (why: string, cause?: unknown) =>
    new DownstreamUnavailableError(
      `stream did not acknowledge ${pending.length} of ${entries.length} records: ${why}`,
      options.retryAfterSeconds,
      { cause },
    );

  let pending: T[] = [...entries];
  while (pending.length > 0) {
    stats.attempts++;
    let fatal: unknown;
    const sendAll = (signal: AbortSignal) =>
      Promise.all(
        chunkForPutRecords(pending).map((chunk) =>
          send(chunk, signal).then(
            ({ failed, errorCodes }) => {
              errorCodes.forEach(count);
              return failed.map((i) => chunk[i] as T);
            },
            (error: unknown) => {
              count((error as { name?: string }).name ?? 'Error');
              if (!(options.isRetryable ?? isRetryableError)(error)) fatal = error;
              return chunk;
            },
          ),
        ),
      );
    let next: T[];
    try {
      next = (await withDeadline(sendAll, options.deadline, clock)).flat();
    } catch (error) {
      throw unavailable('time budget spent waiting for an answer', error);
    }
    if (fatal !== undefined) {
      throw new DownstreamMisconfiguredError(
        `stream refused ${pending.length} of ${entries.length} records, and would refuse them again: ${(fatal as Error).name}: ${(fatal as Error).message}`,
        { cause: fatal },
      );
    }
    if (next.length === 0) return stats;
    stats.resent += next.length;
    pending = next;
    const step = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (stats.attempts - 1));
    const delay = Math.floor(clock.random() * step);
    if (clock.now() + delay >= options.deadline) throw unavailable('time budget spent retrying');
    await clock.sleep(delay);
  }
  return stats;
}
