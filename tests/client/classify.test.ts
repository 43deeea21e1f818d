/**
 * The client's pure pieces, without a server: how an answer (or its absence)
 * becomes a verdict per event, and when a retryable failure gets another try.
 */
import { SnowgateRequestError } from '@snowgate/client';
import { describe, expect, it } from 'vitest';
import { classify, outcomeFor, readBody, type Verdict } from '../../packages/client/src/classify';
import type { Answer } from '../../packages/client/src/types';
import { planRetry } from '../../packages/client/src/retry';

function answer(status: number, body: unknown = '', { requestId, retryAfterMs }: { requestId?: string; retryAfterMs?: number } = {}) {
  return { status, requestId, retryAfterMs, text: typeof body === 'string' ? body : JSON.stringify(body) } satisfies Answer;
}

function answered(verdict: Verdict) {
  if (verdict.kind !== 'answered') throw new Error(`expected answered, got ${verdict.kind}`);
  return verdict;
}

describe('classify: 2xx', () => {
  it('a 202 whose accepted count matches: every event delivered, requestId from the body before the header', () => {
    const v = answered(
      classify(answer(202, { requestId: 'rid-body', accepted: 3, errors: [] }, { requestId: 'rid-header' }), 3, '/events'),
    );
    expect(v.events).toEqual([{ status: 'delivered' }, { status: 'delivered' }, { status: 'delivered' }]);
    expect(v).toMatchObject({ httpStatus: 202, requestId: 'rid-body', error: undefined });
  });

  it('a 207 maps errors[].index back to the events sent; the first entry for an index wins, unknown indexes are ignored', () => {
    const errors = [
      { index: 1, reason: 'missing_id', message: 'first' },
      { index: 1, reason: 'schema_violation', message: 'second' },
      { index: 7, reason: 'out_of_range', message: 'not one of ours' },
    ];
    const v = answered(classify(answer(207, { accepted: 2, errors }, { requestId: 'rid-header' }), 3, '/events'));
    expect(v.events).toEqual([
      { status: 'delivered' },
      { status: 'rejected', reason: 'missing_id', message: 'first' },
      { status: 'delivered' },
    ]);
    expect(v.requestId).toBe('rid-header');
  });

  it('attaches warnings to their delivered event only, not to the request or past its end', () => {
    const warnings = [
      { index: 0, reason: 'extra_field', message: 'a' },
      { index: 0, reason: 'deprecated', message: 'b' },
      { reason: 'whole_request', message: 'c' },
      { index: 5, reason: 'past_the_end', message: 'd' },
    ];
    const v = answered(classify(answer(202, { accepted: 2, warnings }), 2, '/events'));
    expect(v.events).toEqual([
      {
        status: 'delivered',
        warnings: [
          { reason: 'extra_field', message: 'a' },
          { reason: 'deprecated', message: 'b' },
        ],
      },
      { status: 'delivered' },
    ]);
  });

  it.each([
    ['an empty 204', answer(204)],
    ['a proxy page', answer(200, '<html>ok</html>')],
    ['a 207 without errors', answer(207, { accepted: 1 })],
  ])('claims nothing from %s: unreadable_response, with the status', (_, a) => {
    const v = classify(a, 2, '/events');
    expect(v).toMatchObject({ kind: 'failed', reason: 'unreadable_response', httpStatus: a.status });
    expect(v.kind === 'failed' && v.message).toContain('whether this event was taken is unknown');
  });

  it("claims nothing from a 202 whose accepted count is not the request's", () => {
    const v = classify(answer(202, { accepted: 3, errors: [{ index: 0, reason: 'missing_id' }] }), 3, '/events');
    expect(v).toMatchObject({ kind: 'failed', reason: 'unreadable_response' });
    expect(v.kind === 'failed' && v.message).toContain('accepted: 3 for 3 events, 1 of them rejected');
  });
});

describe('classify: not a success', () => {
  it('bad input (400, 413, 415, 422) rejects every event: by index when given, else the request-wide reason', () => {
    const body = {
      requestId: 'rid',
      errors: [
        { index: 0, reason: 'missing_id', message: 'no id' },
        { index: null, reason: 'batch_invalid', message: 'whole' },
      ],
    };
    const v = answered(classify(answer(400, body), 2, '/events'));
    expect(v.events).toEqual([
      { status: 'rejected', reason: 'missing_id', message: 'no id' },
      { status: 'rejected', reason: 'batch_invalid', message: 'whole' },
    ]);
    expect(v.requestId).toBe('rid');
    expect(v.error?.message).toBe('POST /events answered 400 (batch_invalid: whole)');
    for (const status of [413, 415, 422]) expect(classify(answer(status), 1, '/events').kind).toBe('answered');
  });

  it('bad input without a body: each event rejected as http_<status>', () => {
    const v = answered(classify(answer(400, 'Bad Request'), 2, '/prod/events'));
    expect(v.events).toEqual(Array(2).fill({ status: 'rejected', reason: 'http_400', message: 'POST /prod/events answered 400' }));
    // A lone event refused for its size is too large however it is sent.
    const one = answered(classify(answer(413, { message: 'Request Entity Too Large' }), 1, '/prod/events'));
    expect(one.events).toEqual([{ status: 'rejected', reason: 'http_413', message: 'POST /prod/events answered 413' }]);
  });

  it("a 413 for the request's size, not its events, splits it: API Gateway's own, or Snowgate's body_too_large or too_many_records", () => {
    const snowgate = (reason: string, index: number | null) => ({
      requestId: 'r',
      accepted: 0,
      rejected: 2,
      errors: [{ index, reason, message: 'too large' }],
    });
    expect(classify(answer(413, { message: 'Request Entity Too Large' }), 2, '/events').kind).toBe('split');
    expect(classify(answer(413, 'HTTP content length exceeded 10485760 bytes.'), 2, '/events').kind).toBe('split');
    expect(classify(answer(413, snowgate('body_too_large', null)), 2, '/events').kind).toBe('split');
    expect(classify(answer(413, snowgate('too_many_records', null)), 2, '/events').kind).toBe('split');
    // Events too large each: splitting would not help.
    expect(classify(answer(413, snowgate('record_too_large', 0)), 2, '/events').kind).toBe('answered');
  });

  it('other 4xx fail as unexpected_status, not retried', () => {
    const v = classify(answer(401, { message: 'Unauthorized' }), 2, '/events');
    expect(v).toMatchObject({ kind: 'failed', reason: 'unexpected_status', httpStatus: 401, message: 'POST /events answered 401' });
    expect(classify(answer(404), 1, '/events')).toMatchObject({ kind: 'failed', reason: 'unexpected_status' });
  });

  it('5xx and 429 are retryable, carrying Retry-After and the body excerpt', () => {
    const v = classify(answer(429, 'x'.repeat(1500), { retryAfterMs: 2000, requestId: 'gw' }), 1, '/events');
    if (v.kind !== 'retryable') throw new Error(`expected retryable, got ${v.kind}`);
    expect(v.error.details).toMatchObject({ status: 429, retryAfterMs: 2000, requestId: 'gw' });
    expect(v.error.details.body).toHaveLength(1000);
    expect(classify(answer(503), 1, '/events').kind).toBe('retryable');
    expect(classify(answer(500), 1, '/events').kind).toBe('retryable');
  });

  it('no answer: a network error or timeout is retryable; close() aborting it fails as closed', () => {
    expect(classify(new SnowgateRequestError('reset', 'network'), 1, '/events').kind).toBe('retryable');
    expect(classify(new SnowgateRequestError('slow', 'timeout'), 1, '/events').kind).toBe('retryable');
    expect(classify(new SnowgateRequestError('aborted by close()', 'aborted'), 1, '/events')).toMatchObject({
      kind: 'failed',
      reason: 'closed',
      httpStatus: undefined,
    });
  });
});

describe('readBody', () => {
  it('keeps only well-typed fields; a bad index means the whole request', () => {
    expect(readBody('not json')).toBeUndefined();
    expect(readBody('42')).toBeUndefined();
    expect(
      readBody(
        '{"requestId":7,"accepted":"2","errors":[{"index":-1},{"index":1.5,"reason":3},"junk",{"index":2,"reason":"r","message":"m"}]}',
      ),
    ).toEqual({
      errors: [
        { index: null, reason: 'unknown', message: '' },
        { index: null, reason: 'unknown', message: '' },
        { index: 2, reason: 'r', message: 'm' },
      ],
    });
  });
});

describe('outcomeFor', () => {
  it("builds each event's outcome from the verdict", () => {
    const v = answered(
      classify(answer(207, { requestId: 'rid', accepted: 1, errors: [{ index: 1, reason: 'missing_id', message: 'm' }] }), 2, '/events'),
    );
    expect(outcomeFor(v, { id: 'a' }, 0, 3)).toEqual({
      status: 'delivered',
      event: { id: 'a' },
      httpStatus: 207,
      requestId: 'rid',
      attempts: 3,
    });
    expect(outcomeFor(v, {}, 1, 3)).toEqual({
      status: 'rejected',
      event: {},
      reason: 'missing_id',
      message: 'm',
      local: false,
      httpStatus: 207,
      requestId: 'rid',
    });
    const failed = classify(answer(403), 2, '/events');
    if (failed.kind !== 'failed') throw new Error('expected failed');
    expect(outcomeFor(failed, { id: 'b' }, 1, 2)).toMatchObject({
      status: 'failed',
      event: { id: 'b' },
      reason: 'unexpected_status',
      attempts: 2,
      httpStatus: 403,
    });
  });
});

describe('planRetry', () => {
  const limits = { maxRetries: 2, retryBaseDelayMs: 100, retryMaxDelayMs: 1_000, retryBudgetMs: 10_000 };
  const error = new SnowgateRequestError('POST /events answered 503', 'http', { status: 503 });

  it('waits a jittered backoff while retries remain', () => {
    expect(planRetry(error, { attempt: 2, elapsedMs: 0, limits, random: () => 0.5 })).toEqual({ kind: 'wait', delayMs: 100 });
  });

  it('gives up after maxRetries retries', () => {
    expect(planRetry(error, { attempt: 3, elapsedMs: 0, limits })).toMatchObject({
      kind: 'failed',
      reason: 'retries_exhausted',
      message: 'gave up after 3 attempts: POST /events answered 503',
      httpStatus: 503,
      error,
    });
  });

  it('gives up when Retry-After would start the next attempt past retryBudgetMs', () => {
    const slow = new SnowgateRequestError('429', 'http', { status: 429, retryAfterMs: 5_000 });
    expect(planRetry(slow, { attempt: 1, elapsedMs: 4_000, limits, random: () => 0 })).toEqual({ kind: 'wait', delayMs: 5_000 });
    expect(planRetry(slow, { attempt: 1, elapsedMs: 6_000, limits, random: () => 0 })).toMatchObject({
      kind: 'failed',
      reason: 'retry_budget_exhausted',
    });
  });
});
