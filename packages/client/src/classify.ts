import { SnowgateRequestError } from './errors.js';
import type { Answer, DeliveredOutcome, EventOutcome, EventWarning, FailureReason } from './types.js';

/** Statuses that mean "this input is bad": never retried, every event in the request is rejected. */
const BAD_INPUT = new Set([400, 413, 415, 422]);

/** Request-wide reasons of a 413 that the same events, sent in smaller requests, would not get. */
const SIZE_REASONS = new Set(['body_too_large', 'too_many_records']);

/** How much of a response body an error keeps: enough to read, small enough to log. */
const BODY_EXCERPT_CHARS = 1000;

/** An entry of Snowgate's `errors` or `warnings`: `index` is the event's position in the request, null for the request as a whole. */
export interface ServerError {
  index: number | null;
  reason: string;
  message: string;
}

/** The parts of Snowgate's response body the client uses, each present only when it has the right type. */
export interface ResponseBody {
  requestId?: string;
  accepted?: number;
  errors?: ServerError[];
  warnings?: ServerError[];
}

/** What becomes of one event of a request the server answered for. */
export type EventVerdict = { status: 'delivered'; warnings?: EventWarning[] } | { status: 'rejected'; reason: string; message: string };

/** Every event of the request fails, for one reason. */
export interface Failure {
  kind: 'failed';
  reason: FailureReason;
  message: string;
  httpStatus: number | undefined;
  error: SnowgateRequestError | undefined;
}

/** The server answered for each event (a 2xx, or bad input); `error` is set when the answer was not a success. */
export interface Answered {
  kind: 'answered';
  httpStatus: number;
  requestId: string | undefined;
  events: EventVerdict[];
  error: SnowgateRequestError | undefined;
}

/** Worth another attempt: a 5xx, a 429, a timeout or a network error (`error.details.retryAfterMs` when the server asked). */
export interface Retryable {
  kind: 'retryable';
  error: SnowgateRequestError;
}

/** Refused for its size as a whole (a 413 from Snowgate or from API Gateway): send it again in two halves. */
export interface Split {
  kind: 'split';
  error: SnowgateRequestError;
}

export type Verdict = Answered | Retryable | Failure | Split;

/**
 * Reads Snowgate's response body. Tolerant on purpose: a proxy's page or an
 * odd field must become "unreadable", never a throw inside the client.
 *
 * @example
 * readBody('{"accepted":1,"errors":[{"index":1,"reason":"missing_id"}]}')
 * // → { accepted: 1, errors: [{ index: 1, reason: 'missing_id', message: '' }] }
 */
export function readBody(text: string): ResponseBody | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const errors = readList(b.errors);
  const warnings = readList(b.warnings);
  return {
    ...(typeof b.requestId === 'string' ? { requestId: b.requestId } : {}),
    ...(typeof b.accepted === 'number' ? { accepted: b.accepted } : {}),
    ...(errors ? { errors } : {}),
    ...(warnings ? { warnings } : {}),
  };
}

/** An `errors` or `warnings` array; an index that is not a non-negative integer means "the whole request". */
function readList(value: unknown): ServerError[] | undefined {
  if (!Array.isArray(value)) return undefined;
  return value
    .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
    .map((e) => ({
      index: typeof e.index === 'number' && Number.isInteger(e.index) && e.index >= 0 ? e.index : null,
      reason: typeof e.reason === 'string' ? e.reason : 'unknown',
      message: typeof e.message === 'string' ? e.message : '',
    }));
}

/** The entries that name one of the `size` events sent, by index; the first entry for an index wins. */
export function byIndex(entries: ServerError[], size: number): Map<number, ServerError> {
  const map = new Map<number, ServerError>();
  for (const e of entries) if (e.index !== null && e.index < size && !map.has(e.index)) map.set(e.index, e);
  return map;
}

/** A verdict that fails every event of the request. */
export function failure(reason: FailureReason, message: string, httpStatus?: number, error?: SnowgateRequestError): Failure {
  return { kind: 'failed', reason, message, httpStatus, error };
}

/**
 * Turns one attempt's result (an answer, or why there was none) for a request
 * of `events` events to `path` into a verdict. Pure: no I/O, no clock.
 *
 * @example
 * classify({ status: 503, requestId: undefined, retryAfterMs: 2000, text: '' }, 10, '/events').kind // → 'retryable'
 */
export function classify(result: Answer | SnowgateRequestError, events: number, path: string): Verdict {
  if (result instanceof SnowgateRequestError) return classifyNoAnswer(result);
  if (result.status >= 200 && result.status < 300) return classifySuccess(result, events, path);
  const body = readBody(result.text);
  const error = statusError(result, path, body?.errors);
  if (result.status === 413 && events > 1 && isSizeRefusal(body)) return { kind: 'split', error };
  if (BAD_INPUT.has(result.status)) return rejectAll(result, body, events, path, error);
  if (result.status !== 429 && result.status < 500) return failure('unexpected_status', error.message, result.status, error);
  return { kind: 'retryable', error };
}

/**
 * A 413 about the request's size, not its events: Snowgate's `body_too_large`
 * or `too_many_records` for the request as a whole, or API Gateway's own 413
 * (`{"message":"Request Entity Too Large"}`, no Snowgate body at all). A 413
 * that names events (`record_too_large` at their index) is about them.
 */
function isSizeRefusal(body: ResponseBody | undefined): boolean {
  if (body?.requestId === undefined && body?.accepted === undefined) return true;
  const whole = body.errors?.find((e) => e.index === null);
  return whole !== undefined && SIZE_REASONS.has(whole.reason);
}

/** `close()` aborting a request ends it, since its answer may never be read; anything else without an answer is worth retrying. */
function classifyNoAnswer(error: SnowgateRequestError): Verdict {
  if (error.kind === 'aborted')
    return failure('closed', 'the client was closed while this event was in flight (it may have arrived)', undefined, error);
  return { kind: 'retryable', error };
}

/** An error for a status that is not a success, summarised by the request-wide error (or the first). */
function statusError(answer: Answer, path: string, errors: ServerError[] | undefined): SnowgateRequestError {
  const summary = errors?.find((e) => e.index === null) ?? errors?.[0];
  return new SnowgateRequestError(
    `POST ${path} answered ${answer.status}${summary ? ` (${summary.reason}: ${summary.message})` : ''}`,
    'http',
    {
      status: answer.status,
      ...(answer.requestId ? { requestId: answer.requestId } : {}),
      ...(answer.retryAfterMs !== undefined ? { retryAfterMs: answer.retryAfterMs } : {}),
      body: answer.text.slice(0, BODY_EXCERPT_CHARS),
    },
  );
}

/** Bad input: every event is rejected, with its own reason when the server gave one by index, else the request's. */
function rejectAll(answer: Answer, body: ResponseBody | undefined, events: number, path: string, error: SnowgateRequestError): Answered {
  const rejected = byIndex(body?.errors ?? [], events);
  const whole = body?.errors?.find((e) => e.index === null) ?? {
    reason: `http_${answer.status}`,
    message: `POST ${path} answered ${answer.status}`,
  };
  const verdicts = Array.from({ length: events }, (_, index): EventVerdict => {
    const { reason, message } = rejected.get(index) ?? whole;
    return { status: 'rejected', reason, message };
  });
  return { kind: 'answered', httpStatus: answer.status, requestId: body?.requestId ?? answer.requestId, events: verdicts, error };
}

/** A 2xx: each event delivered (with its warnings) unless the body names it in `errors`. */
function classifySuccess(answer: Answer, events: number, path: string): Verdict {
  const body = readBody(answer.text);
  const requestId = body?.requestId ?? answer.requestId;
  const rejected = byIndex(body?.errors ?? [], events);
  const problem = unreadable(answer.status, body, events, rejected.size);
  if (problem !== undefined) {
    const error = new SnowgateRequestError(`POST ${path} answered ${answer.status} ${problem}`, 'http', {
      status: answer.status,
      ...(requestId ? { requestId } : {}),
      body: answer.text.slice(0, BODY_EXCERPT_CHARS),
    });
    return failure('unreadable_response', `${error.message}: whether this event was taken is unknown`, answer.status, error);
  }
  const warnings = warningsByIndex(body?.warnings ?? [], events);
  const verdicts = Array.from({ length: events }, (_, index): EventVerdict => {
    const error = rejected.get(index);
    if (error) return { status: 'rejected', reason: error.reason, message: error.message };
    const w = warnings.get(index);
    return w ? { status: 'delivered', warnings: w } : { status: 'delivered' };
  });
  return { kind: 'answered', httpStatus: answer.status, requestId, events: verdicts, error: undefined };
}

/**
 * Why a 2xx cannot be trusted, or undefined. Delivered means the server said
 * so: a 2xx without Snowgate's counts (a proxy's page, an empty body, a 204)
 * proves nothing was stored. Some may have been taken, and we cannot tell
 * which: claim none.
 */
function unreadable(status: number, body: ResponseBody | undefined, events: number, rejected: number): string | undefined {
  if (body?.accepted === undefined || (status === 207 && body.errors === undefined)) return 'with a body that is not a Snowgate response';
  if (body.accepted !== events - rejected) return `accepted: ${body.accepted} for ${events} events, ${rejected} of them rejected`;
  return undefined;
}

/** Warnings by event index; those for the whole request or past its end are not any event's. */
function warningsByIndex(entries: ServerError[], size: number): Map<number, EventWarning[]> {
  const warnings = new Map<number, EventWarning[]>();
  for (const w of entries) {
    if (w.index === null || w.index >= size) continue;
    warnings.set(w.index, [...(warnings.get(w.index) ?? []), { reason: w.reason, message: w.message }]);
  }
  return warnings;
}

/**
 * The outcome of the event at `index` of a request, once its verdict is final.
 * `attempts` is how many requests carried it.
 */
export function outcomeFor<E>(verdict: Answered | Failure, event: E, index: number, attempts: number): EventOutcome<E> {
  if (verdict.kind === 'failed') {
    const { reason, message, httpStatus, error } = verdict;
    return { status: 'failed', event, reason, message, attempts, httpStatus, error };
  }
  const { httpStatus, requestId } = verdict;
  const v = verdict.events[index];
  if (v === undefined) throw new RangeError(`no verdict for event ${index} of ${verdict.events.length}`);
  if (v.status === 'rejected')
    return { status: 'rejected', event, reason: v.reason, message: v.message, local: false, httpStatus, requestId };
  const delivered: DeliveredOutcome<E> = { status: 'delivered', event, httpStatus, requestId, attempts };
  if (v.warnings) delivered.warnings = v.warnings;
  return delivered;
}
