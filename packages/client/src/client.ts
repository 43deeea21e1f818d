import { BufferFullError, ClientClosedError, SnowgateRequestError } from './errors.js';
import { resolveGzip, resolveLimits, type GzipSettings, type Limits } from './options.js';
import { backoffDelay } from './retry.js';
import { recordBytesOnStream, utf8Length } from './size.js';
import type {
  AttemptContext,
  ClientOptions,
  ClientStats,
  DeliveredOutcome,
  EventOutcome,
  EventWarning,
  FailedOutcome,
  FailureReason,
  FlushResult,
  RejectedOutcome,
  SnowgateEvent,
} from './types.js';
import { encodeBody, eventsUrl, Transport, type Answer } from './transport.js';

/** Statuses that mean "this input is bad": never retried, every event in the request is rejected. */
const BAD_INPUT = new Set([400, 413, 415, 422]);

interface Pending<E> {
  event: E;
  json: string;
  bytes: number;
  resolve: (outcome: EventOutcome<E>) => void;
  outcome?: EventOutcome<E>;
}

interface Batch<E> {
  items: Pending<E>[];
  /** Body bytes: `[`, the events, their commas and `]`. */
  bodyBytes: number;
  /** Resolves once every event in the batch has its outcome. */
  done: Promise<void>;
  finish: () => void;
}

interface ServerError {
  index: number | null;
  reason: string;
  message: string;
}

/**
 * Batches events to Snowgate's `POST /events` and reports what became of each.
 * Create one with {@link createClient}.
 */
export class SnowgateClient<E extends SnowgateEvent = SnowgateEvent> {
  readonly url: URL;
  private readonly options: ClientOptions<E>;
  private readonly limits: Limits;
  private readonly gzip: GzipSettings;
  private readonly transport: Transport;

  private current: Pending<E>[] = [];
  private currentBytes = 2;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private readonly queue: Batch<E>[] = [];
  private readonly unsettled = new Set<Batch<E>>();
  private active = 0;
  private buffered = 0;
  private bufferedBytes = 0;
  private readyWaiters: (() => void)[] = [];
  private closing = false;
  private readonly abort = new AbortController();
  private readonly counters = {
    sent: 0,
    delivered: 0,
    rejected: 0,
    rejectedLocally: 0,
    failed: 0,
    requests: 0,
    retries: 0,
    bytesSent: 0,
    bytesUncompressed: 0,
  };
  /** The counts at the previous flush() or close() result: the next flush() reports what settled since. */
  private reported: FlushResult = { delivered: 0, rejected: 0, failed: 0 };

  constructor(options: ClientOptions<E>) {
    if (!options || typeof options.endpoint !== 'string') throw new TypeError('createClient: endpoint is required');
    this.options = options;
    this.url = eventsUrl(options.endpoint);
    this.limits = resolveLimits(options);
    this.gzip = resolveGzip(options.gzip);
    this.transport = new Transport({
      url: this.url,
      auth: options.auth,
      fetch: options.fetch,
      headers: options.headers,
      requestTimeoutMs: this.limits.requestTimeoutMs,
      signal: this.abort.signal,
      onRequest: (body) => {
        this.counters.requests++;
        this.counters.bytesSent += body.wireBytes;
        this.counters.bytesUncompressed += body.rawBytes;
      },
    });
  }

  /** True once `close()` has been called. */
  get closed(): boolean {
    return this.closing;
  }

  /**
   * Takes an event for sending and returns a promise of its outcome, which
   * never rejects: `delivered`, `rejected` (bad input: do not resend as is) or
   * `failed` (not acknowledged: safe to resend). The event is serialized now;
   * later changes to the object are not sent.
   *
   * Throws {@link BufferFullError} when the client already holds
   * `maxBufferedEvents` or `maxBufferedBytes` (await {@link ready} first), and
   * {@link ClientClosedError} after {@link close}.
   */
  send(event: E): Promise<EventOutcome<E>> {
    if (this.closing) throw new ClientClosedError();
    let json: string | undefined;
    let problem: string | undefined;
    try {
      json = JSON.stringify(event);
      if (typeof json !== 'string') problem = `an event must be a JSON value, not ${typeof event}`;
    } catch (error) {
      problem = `the event cannot be serialized as JSON: ${(error as Error).message}`;
    }
    if (problem !== undefined || json === undefined) {
      this.counters.sent++;
      return Promise.resolve(this.rejectLocally(event, 'not_serializable', problem ?? 'not serializable'));
    }
    const bytes = utf8Length(json);
    const onStream = recordBytesOnStream(bytes, event ?? {});
    if (onStream > this.limits.maxRecordBytes || bytes + 2 > this.limits.maxBatchBytes) {
      this.counters.sent++;
      const message =
        onStream > this.limits.maxRecordBytes
          ? `the event is ${bytes} bytes of JSON, ${onStream} on the stream with its envelope and id; the limit is ${this.limits.maxRecordBytes} (maxRecordBytes): it was not sent`
          : `the event is ${bytes} bytes of JSON; a request may carry ${this.limits.maxBatchBytes} (maxBatchBytes): it was not sent`;
      return Promise.resolve(this.rejectLocally(event, 'record_too_large', message));
    }
    if (this.buffered > 0 && (this.buffered + 1 > this.limits.maxBufferedEvents || this.bufferedBytes + bytes > this.limits.maxBufferedBytes)) {
      throw new BufferFullError(
        { events: this.buffered, bytes: this.bufferedBytes },
        { maxBufferedEvents: this.limits.maxBufferedEvents, maxBufferedBytes: this.limits.maxBufferedBytes },
      );
    }
    this.counters.sent++;
    this.buffered++;
    this.bufferedBytes += bytes;
    if (this.current.length > 0 && this.currentBytes + 1 + bytes > this.limits.maxBatchBytes) this.seal();
    return new Promise<EventOutcome<E>>((resolve) => {
      this.currentBytes += (this.current.length > 0 ? 1 : 0) + bytes;
      this.current.push({ event, json: json!, bytes, resolve });
      if (this.current.length >= this.limits.maxBatchRecords) this.seal();
      else if (this.timer === undefined) this.timer = setTimeout(() => this.seal(), this.limits.flushIntervalMs);
    });
  }

  /**
   * Resolves when `send()` will take any event of an allowed size: the client
   * holds fewer than `maxBufferedEvents` events and room for the largest one
   * (or nothing at all). Several callers waiting at once are all woken.
   */
  ready(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /**
   * Sends what is buffered now, and resolves when every event taken so far has
   * its outcome, with the events settled since the previous `flush()` or
   * `close()` result (local rejections and events sent on the timer included).
   * The results of successive calls add up: no event is in two of them.
   */
  async flush(): Promise<FlushResult> {
    await this.settled();
    const now = this.totals();
    const since = { delivered: now.delivered - this.reported.delivered, rejected: now.rejected - this.reported.rejected, failed: now.failed - this.reported.failed };
    this.reported = now;
    return since;
  }

  /**
   * Takes no more events, sends what is buffered and waits for every outcome;
   * resolves with the client's totals over its whole life (the counts of
   * `stats()`), whatever earlier `flush()` calls reported. With `timeoutMs`,
   * stops waiting after that long: requests in flight are aborted and whatever
   * is unsettled fails with reason `closed`.
   */
  async close({ timeoutMs }: { timeoutMs?: number } = {}): Promise<FlushResult> {
    this.closing = true;
    const timer = timeoutMs === undefined ? undefined : setTimeout(() => this.abort.abort(), timeoutMs);
    try {
      await this.settled();
    } finally {
      clearTimeout(timer);
    }
    this.reported = this.totals();
    return { ...this.reported };
  }

  stats(): ClientStats {
    return { ...this.counters, buffered: this.buffered, bufferedBytes: this.bufferedBytes };
  }

  /** Seals the current batch and waits until every event taken so far has its outcome. */
  private async settled(): Promise<void> {
    this.seal();
    await Promise.all([...this.unsettled].map((b) => b.done));
  }

  private totals(): FlushResult {
    return { delivered: this.counters.delivered, rejected: this.counters.rejected, failed: this.counters.failed };
  }

  private hasRoom(): boolean {
    return (
      this.buffered === 0 ||
      (this.buffered < this.limits.maxBufferedEvents && this.bufferedBytes + this.limits.maxEventBytes <= this.limits.maxBufferedBytes)
    );
  }

  private seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.current.length === 0) return;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const batch: Batch<E> = { items: this.current, bodyBytes: this.currentBytes, done, finish };
    this.current = [];
    this.currentBytes = 2;
    this.queue.push(batch);
    this.unsettled.add(batch);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.limits.maxConcurrency && this.queue.length > 0) {
      const batch = this.queue.shift()!;
      this.active++;
      void this.deliver(batch)
        .catch((error: unknown) => {
          // A bug, not an answer: never leave a caller waiting.
          const failure = new SnowgateRequestError(`the client failed: ${(error as Error)?.message ?? String(error)}`, 'network', { cause: error });
          this.settleAll(batch, (p) => this.failed(p, 'unexpected_status', failure.message, 0, undefined, failure));
        })
        .finally(() => {
          this.active--;
          this.unsettled.delete(batch);
          batch.finish();
          this.pump();
        });
    }
  }

  private async deliver(batch: Batch<E>): Promise<void> {
    const json = `[${batch.items.map((p) => p.json).join(',')}]`;
    const body = await encodeBody(json, batch.bodyBytes, this.gzip);
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.abort.signal.aborted) {
        this.settleAll(batch, (p) => this.failed(p, 'closed', 'the client was closed before this event was acknowledged', attempt - 1, undefined, undefined));
        return;
      }
      if (attempt > 1) this.counters.retries++;
      const outcome = await this.transport.post(body);
      const context = (retryInMs: number | undefined): AttemptContext => ({ attempt, events: batch.items.length, retryInMs });

      let error: SnowgateRequestError;
      if (outcome instanceof SnowgateRequestError) {
        error = outcome;
        if (error.kind === 'aborted') {
          this.report(error, context(undefined));
          this.settleAll(batch, (p) => this.failed(p, 'closed', 'the client was closed while this event was in flight (it may have arrived)', attempt, undefined, error));
          return;
        }
      } else {
        const answer = outcome;
        if (answer.status >= 200 && answer.status < 300) {
          this.settleSuccess(batch, answer, attempt);
          return;
        }
        const errors = readErrors(answer.text);
        const summary = errors?.find((e) => e.index === null) ?? errors?.[0];
        error = new SnowgateRequestError(
          `POST ${this.url.pathname} answered ${answer.status}${summary ? ` (${summary.reason}: ${summary.message})` : ''}`,
          'http',
          {
            status: answer.status,
            ...(answer.requestId ? { requestId: answer.requestId } : {}),
            ...(answer.retryAfterMs !== undefined ? { retryAfterMs: answer.retryAfterMs } : {}),
            body: answer.text.slice(0, 1000),
          },
        );
        if (BAD_INPUT.has(answer.status)) {
          this.report(error, context(undefined));
          this.settleRejected(batch, answer, errors);
          return;
        }
        if (answer.status !== 429 && answer.status < 500) {
          this.report(error, context(undefined));
          this.settleAll(batch, (p) => this.failed(p, 'unexpected_status', error.message, attempt, answer.status, error));
          return;
        }
      }

      // Retryable: a 5xx, a 429, a timeout or a network error.
      if (attempt > this.limits.maxRetries) {
        this.report(error, context(undefined));
        this.settleAll(batch, (p) => this.failed(p, 'retries_exhausted', `gave up after ${attempt} attempts: ${error.message}`, attempt, error.status, error));
        return;
      }
      const delay = backoffDelay({
        retry: attempt,
        baseMs: this.limits.retryBaseDelayMs,
        maxMs: this.limits.retryMaxDelayMs,
        retryAfterMs: error.details.retryAfterMs,
      });
      if (Date.now() + delay - started > this.limits.retryBudgetMs) {
        this.report(error, context(undefined));
        const message = `the next attempt, in ${delay} ms, would start past retryBudgetMs (${this.limits.retryBudgetMs}): ${error.message}`;
        this.settleAll(batch, (p) => this.failed(p, 'retry_budget_exhausted', message, attempt, error.status, error));
        return;
      }
      this.report(error, context(delay));
      await sleep(delay, this.abort.signal);
    }
  }

  private settleSuccess(batch: Batch<E>, answer: Answer, attempts: number): void {
    const parsed = readBody(answer.text);
    const requestId = parsed?.requestId ?? answer.requestId;
    const rejected = byIndex(parsed?.errors ?? [], batch.items.length);
    // Delivered means the server said so: a 2xx without Snowgate's counts (a proxy's page, an empty body, a 204)
    // proves nothing was stored. Some may have been taken, and we cannot tell which: claim none.
    const problem =
      parsed?.accepted === undefined || (answer.status === 207 && parsed.errors === undefined)
        ? 'with a body that is not a Snowgate response'
        : parsed.accepted !== batch.items.length - rejected.size
          ? `accepted: ${parsed.accepted} for ${batch.items.length} events, ${rejected.size} of them rejected`
          : undefined;
    if (problem !== undefined) {
      const error = new SnowgateRequestError(`POST ${this.url.pathname} answered ${answer.status} ${problem}`, 'http', {
        status: answer.status,
        ...(requestId ? { requestId } : {}),
        body: answer.text.slice(0, 1000),
      });
      this.report(error, { attempt: attempts, events: batch.items.length, retryInMs: undefined });
      this.settleAll(batch, (p) => this.failed(p, 'unreadable_response', `${error.message}: whether this event was taken is unknown`, attempts, answer.status, error));
      return;
    }
    const warnings = new Map<number, EventWarning[]>();
    for (const w of parsed?.warnings ?? []) {
      if (w.index === null || w.index >= batch.items.length) continue;
      warnings.set(w.index, [...(warnings.get(w.index) ?? []), { reason: w.reason, message: w.message }]);
    }
    batch.items.forEach((p, index) => {
      const error = rejected.get(index);
      if (error) {
        this.settle(p, { status: 'rejected', event: p.event, reason: error.reason, message: error.message, local: false, httpStatus: answer.status, requestId });
      } else {
        const delivered: DeliveredOutcome<E> = { status: 'delivered', event: p.event, httpStatus: answer.status, requestId, attempts };
        const w = warnings.get(index);
        if (w) delivered.warnings = w;
        this.settle(p, delivered);
      }
    });
  }

  private settleRejected(batch: Batch<E>, answer: Answer, errors: ServerError[] | undefined): void {
    const requestId = readBody(answer.text)?.requestId ?? answer.requestId;
    const rejected = byIndex(errors ?? [], batch.items.length);
    const whole = errors?.find((e) => e.index === null) ?? { reason: `http_${answer.status}`, message: `POST ${this.url.pathname} answered ${answer.status}` };
    batch.items.forEach((p, index) => {
      const error = rejected.get(index) ?? whole;
      this.settle(p, { status: 'rejected', event: p.event, reason: error.reason, message: error.message, local: false, httpStatus: answer.status, requestId });
    });
  }

  private settleAll(batch: Batch<E>, outcome: (p: Pending<E>) => EventOutcome<E>): void {
    for (const p of batch.items) this.settle(p, outcome(p));
  }

  private failed(p: Pending<E>, reason: FailureReason, message: string, attempts: number, httpStatus: number | undefined, error: SnowgateRequestError | undefined): FailedOutcome<E> {
    return { status: 'failed', event: p.event, reason, message, attempts, httpStatus, error };
  }

  private rejectLocally(event: E, reason: string, message: string): RejectedOutcome<E> {
    const outcome: RejectedOutcome<E> = { status: 'rejected', event, reason, message, local: true, httpStatus: undefined, requestId: undefined };
    this.counters.rejected++;
    this.counters.rejectedLocally++;
    this.callback(() => this.options.onRejected?.(outcome));
    return outcome;
  }

  private settle(p: Pending<E>, outcome: EventOutcome<E>): void {
    // Settled once: the first outcome stands.
    if (p.outcome) return;
    p.outcome = outcome;
    this.buffered--;
    this.bufferedBytes -= p.bytes;
    this.counters[outcome.status]++;
    if (outcome.status === 'rejected') this.callback(() => this.options.onRejected?.(outcome));
    else if (outcome.status === 'failed') this.callback(() => this.options.onFailed?.(outcome));
    p.resolve(outcome);
    if (this.readyWaiters.length > 0 && this.hasRoom()) {
      const waiters = this.readyWaiters;
      this.readyWaiters = [];
      for (const w of waiters) w();
    }
  }

  private report(error: SnowgateRequestError, context: AttemptContext): void {
    this.callback(() => this.options.onError?.(error, context));
  }

  /** A callback that throws must not break delivery. */
  private callback(fn: () => void): void {
    try {
      fn();
    } catch {
      // ignored on purpose
    }
  }
}

/** Creates a client. See {@link ClientOptions} for the settings and their defaults. */
export function createClient<E extends SnowgateEvent = SnowgateEvent>(options: ClientOptions<E>): SnowgateClient<E> {
  return new SnowgateClient<E>(options);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
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

function readBody(text: string): { requestId?: string; accepted?: number; errors?: ServerError[]; warnings?: ServerError[] } | undefined {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof body !== 'object' || body === null) return undefined;
  const b = body as Record<string, unknown>;
  const list = (value: unknown): ServerError[] | undefined =>
    Array.isArray(value)
      ? value
          .filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null)
          .map((e) => ({
            index: typeof e.index === 'number' && Number.isInteger(e.index) && e.index >= 0 ? e.index : null,
            reason: typeof e.reason === 'string' ? e.reason : 'unknown',
            message: typeof e.message === 'string' ? e.message : '',
          }))
      : undefined;
  const errors = list(b.errors);
  const warnings = list(b.warnings);
  return {
    ...(typeof b.requestId === 'string' ? { requestId: b.requestId } : {}),
    ...(typeof b.accepted === 'number' ? { accepted: b.accepted } : {}),
    ...(errors ? { errors } : {}),
    ...(warnings ? { warnings } : {}),
  };
}

function readErrors(text: string): ServerError[] | undefined {
  return readBody(text)?.errors;
}

function byIndex(errors: ServerError[], size: number): Map<number, ServerError> {
  const map = new Map<number, ServerError>();
  for (const e of errors) if (e.index !== null && e.index < size && !map.has(e.index)) map.set(e.index, e);
  return map;
}
