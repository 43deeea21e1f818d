import { describe, expect, it } from 'vitest';
import {
  chunkForPutRecords,
  deliverWithRetry,
  DownstreamMisconfiguredError,
  DownstreamUnavailableError,
  isRetryableError,
  withDeadline,
  DeadlineExceededError,
  type Clock,
} from '@snowgate/core';

/** A clock whose sleeps advance time at once, so retries are tested without waiting. */
function fakeClock(random = () => 0.5): Clock & { slept: number[] } {
  let now = 1_000_000;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: async (ms) => {
      slept.push(ms);
      now += ms;
    },
    random,
  };
}

const entries = (n: number) => Array.from({ length: n }, (_, i) => ({ id: i, bytes: 10 }));
const options = (clock: Clock, budget = 5_000) => ({
  deadline: clock.now() + budget,
  baseDelayMs: 100,
  maxDelayMs: 1_000,
  retryAfterSeconds: 2,
});

describe('deliverWithRetry', () => {
  it('resends exactly the entries that failed, until all are acknowledged', async () => {
    const clock = fakeClock();
    const sent: number[][] = [];
    const stats = await deliverWithRetry(
      entries(5),
      async (chunk) => {
        sent.push(chunk.map((e) => e.id));
        // First call: entries 1 and 3 throttled; second call: the first of those fails again.
        if (sent.length === 1) return { failed: [1, 3], errorCodes: ['ProvisionedThroughputExceededException', 'InternalFailure'] };
        if (sent.length === 2) return { failed: [0], errorCodes: ['ProvisionedThroughputExceededException'] };
        return { failed: [], errorCodes: [] };
      },
      options(clock),
      clock,
    );
    expect(sent).toEqual([[0, 1, 2, 3, 4], [1, 3], [1]]);
    expect(stats).toEqual({ attempts: 3, resent: 3, errorCodes: { ProvisionedThroughputExceededException: 2, InternalFailure: 1 } });
    // Full jitter on an exponential step: 0.5 × 100, then 0.5 × 200.
    expect(clock.slept).toEqual([50, 100]);
  });

  it('caps the backoff step and gives up with a 503 error when the budget is spent', async () => {
    const clock = fakeClock(() => 0.999);
    let calls = 0;
    const attempt = deliverWithRetry(
      entries(2),
      async () => {
        calls++;
        return { failed: [0], errorCodes: ['ProvisionedThroughputExceededException'] };
      },
      options(clock, 3_000),
      clock,
    );
    await expect(attempt).rejects.toBeInstanceOf(DownstreamUnavailableError);
    await expect(attempt).rejects.toMatchObject({ retryAfterSeconds: 2 });
    expect(Math.max(...clock.slept)).toBeLessThanOrEqual(1_000);
    expect(calls).toBeGreaterThan(3);
  });

  it('resends a whole chunk whose call failed, and fails at once on an error no retry can fix', async () => {
    const clock = fakeClock();
    let calls = 0;
    await deliverWithRetry(
      entries(3),
      async () => {
        if (calls++ === 0) throw Object.assign(new Error('socket hang up'), { name: 'TimeoutError' });
        return { failed: [], errorCodes: [] };
      },
      options(clock),
      clock,
    );
    expect(calls).toBe(2);

    const fatal = deliverWithRetry(
      entries(1),
      async () => {
        throw Object.assign(new Error('no such stream'), { name: 'ResourceNotFoundException' });
      },
      { ...options(clock), isRetryable: (e) => (e as Error).name !== 'ResourceNotFoundException' },
      clock,
    );
    await expect(fatal).rejects.toThrow(/ResourceNotFoundException/);
  });

  it('sends more than 500 entries in several PutRecords-sized chunks', async () => {
    const clock = fakeClock();
    const sizes: number[] = [];
    await deliverWithRetry(
      entries(1_201),
      async (chunk) => {
        sizes.push(chunk.length);
        return { failed: [], errorCodes: [] };
      },
      options(clock),
      clock,
    );
    expect(sizes).toEqual([500, 500, 201]);
  });
});

describe('withDeadline', () => {
  it('rejects and aborts when the work outlives the deadline', async () => {
    let aborted = false;
    const slow = withDeadline(
      (signal) =>
        new Promise((resolve) => {
          signal.addEventListener('abort', () => (aborted = true));
          setTimeout(resolve, 5_000);
        }),
      Date.now() + 30,
    );
    await expect(slow).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(aborted).toBe(true);
  });
});

describe('chunkForPutRecords', () => {
  it('respects the 5 MiB request limit as well as the 500-record one', () => {
    const mib = 1_048_576;
    const chunks = chunkForPutRecords(Array.from({ length: 12 }, () => ({ bytes: mib })));
    expect(chunks.map((c) => c.length)).toEqual([5, 5, 2]);
    expect(chunkForPutRecords([])).toEqual([]);
  });
});

/** An error shaped as AWS SDK v3 throws them: name, fault side, HTTP status. */
const sdkError = (name: string, status: number, fault: 'client' | 'server' = status >= 500 ? 'server' : 'client') =>
  Object.assign(new Error(name), { name, $fault: fault, $metadata: { httpStatusCode: status } });

describe('isRetryableError', () => {
  it('retries throttling, 5xx, timeouts and network errors', () => {
    for (const error of [
      sdkError('ProvisionedThroughputExceededException', 400),
      sdkError('KMSThrottlingException', 400),
      sdkError('SlowDown', 503),
      sdkError('InternalFailureException', 500),
      sdkError('SomethingNew', 502),
      sdkError('OperationAborted', 409),
      sdkError('RequestTimeTooSkewed', 403),
      Object.assign(new Error('Throttled'), { $retryable: { throttling: true } }),
      Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      Object.assign(new Error('fetch failed'), { cause: { code: 'ENOTFOUND' } }),
      Object.assign(new Error('timed out'), { name: 'TimeoutError' }),
      new Error('an error that says nothing about itself'),
    ]) {
      expect(isRetryableError(error), (error as Error).name).toBe(true);
    }
  });

  it('does not retry what cannot succeed: a missing resource, denied access, a KMS key, an invalid call, a bug', () => {
    for (const error of [
      sdkError('ResourceNotFoundException', 400),
      sdkError('AccessDeniedException', 400),
      sdkError('AccessDenied', 403),
      sdkError('NoSuchBucket', 404),
      sdkError('KMSDisabledException', 400),
      sdkError('KMSNotFoundException', 400),
      sdkError('KMSAccessDeniedException', 400),
      sdkError('KMSInvalidStateException', 400),
      sdkError('ValidationException', 400),
      sdkError('SomethingNew', 400),
      Object.assign(new Error('KMS key disabled'), { name: 'KMSDisabledException' }),
      Object.assign(new Error('forbidden'), { $fault: 'client' }),
      new TypeError("Cannot read properties of undefined (reading 'map')"),
      new RangeError('Invalid array length'),
      'a string thrown',
    ]) {
      expect(isRetryableError(error), String((error as Error).name ?? error)).toBe(false);
    }
  });

  it('deliverWithRetry stops at the first such error: one attempt, DownstreamMisconfiguredError, the cause kept', async () => {
    const clock = fakeClock();
    const cause = sdkError('AccessDeniedException', 400);
    let calls = 0;
    const delivery = deliverWithRetry(
      entries(3),
      async () => {
        calls++;
        throw cause;
      },
      options(clock),
      clock,
    );
    await expect(delivery).rejects.toBeInstanceOf(DownstreamMisconfiguredError);
    await expect(delivery).rejects.toMatchObject({ cause });
    expect(calls).toBe(1);
    expect(clock.slept).toEqual([]);
  });
});
