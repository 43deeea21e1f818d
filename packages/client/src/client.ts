import { Batcher, bodyOf, partOf, serialize, type Batch, type Pending } from './batcher.js';
import { classify, failure, outcomeFor, type Answered, type Failure } from './classify.js';
import { ClientClosedError, SnowgateRequestError, type BufferFullError } from './errors.js';
import { resolveGzip, resolveLimits, type GzipSettings, type Limits } from './options.js';
import { planRetry, sleep } from './retry.js';
import { encodeBody, eventsUrl, Transport } from './transport.js';
import type { AttemptContext, ClientOptions, ClientStats, EventOutcome, FlushResult, RejectedOutcome, SnowgateEvent } from './types.js';

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

  private readonly batcher: Batcher<E>;
  private readonly queue: Batch<E>[] = [];
  private readonly unsettled = new Set<Batch<E>>();
  private active = 0;
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
    this.batcher = new Batcher<E>(this.limits, (batch) => this.dispatch(batch));
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
    const serialized = serialize(event, this.limits);
    if ('reason' in serialized) {
      this.counters.sent++;
      return Promise.resolve(this.rejectLocally(event, serialized.reason, serialized.message));
    }
    this.batcher.assertRoom(serialized.bytes);
    this.counters.sent++;
    return this.batcher.add(event, serialized.json, serialized.bytes);
  }

  /**
   * Resolves when `send()` will take any event of an allowed size: the client
   * holds fewer than `maxBufferedEvents` events and room for the largest one
   * (or nothing at all). Several callers waiting at once are all woken.
   */
  ready(): Promise<void> {
    return this.batcher.ready();
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
    const since = {
      delivered: now.delivered - this.reported.delivered,
      rejected: now.rejected - this.reported.rejected,
      failed: now.failed - this.reported.failed,
    };
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
    return { ...this.counters, buffered: this.batcher.buffered, bufferedBytes: this.batcher.bufferedBytes };
  }

  /** Seals the current batch and waits until every event taken so far has its outcome. */
  private async settled(): Promise<void> {
    this.batcher.seal();
    await Promise.all([...this.unsettled].map((b) => b.done));
  }

  private totals(): FlushResult {
    return { delivered: this.counters.delivered, rejected: this.counters.rejected, failed: this.counters.failed };
  }

  /** Queues a sealed batch; it is sent as soon as fewer than maxConcurrency requests are in flight. */
  private dispatch(batch: Batch<E>): void {
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
          const bug = new SnowgateRequestError(`the client failed: ${(error as Error)?.message ?? String(error)}`, 'network', {
            cause: error,
          });
          this.settleBatch(batch, failure('unexpected_status', bug.message, undefined, bug), 0);
        })
        .finally(() => {
          this.active--;
          this.unsettled.delete(batch);
          batch.finish();
          this.pump();
        });
    }
  }

  /** Sends one batch, retrying what is worth retrying, until every event in it has its outcome. */
  private async deliver(batch: Batch<E>): Promise<void> {
    const body = await encodeBody(bodyOf(batch), batch.bodyBytes, this.gzip);
    const started = Date.now();
    for (let attempt = 1; ; attempt++) {
      if (this.abort.signal.aborted) {
        this.settleBatch(batch, failure('closed', 'the client was closed before this event was acknowledged'), attempt - 1);
        return;
      }
      if (attempt > 1) this.counters.retries++;
      const verdict = classify(await this.transport.post(body), batch.items.length, this.url.pathname);
      if (verdict.kind === 'split') {
        // Too large for the server or for API Gateway as a whole, not bad input: each half goes as a request of its own
        // (and is split again if need be), so that no event is rejected for the company it was sent in.
        this.report(verdict.error, { attempt, events: batch.items.length, retryInMs: 0 });
        const half = Math.ceil(batch.items.length / 2);
        await this.deliver(partOf(batch, 0, half));
        await this.deliver(partOf(batch, half));
        return;
      }
      const next =
        verdict.kind === 'retryable'
          ? planRetry(verdict.error, { attempt, elapsedMs: Date.now() - started, limits: this.limits })
          : verdict;
      const retryInMs = next.kind === 'wait' ? next.delayMs : undefined;
      if (verdict.error) this.report(verdict.error, { attempt, events: batch.items.length, retryInMs });
      if (next.kind !== 'wait') {
        this.settleBatch(batch, next, attempt);
        return;
      }
      await sleep(next.delayMs, this.abort.signal);
    }
  }

  /** Settles every event of the batch from its final verdict. */
  private settleBatch(batch: Batch<E>, verdict: Answered | Failure, attempts: number): void {
    batch.items.forEach((p, index) => {
      this.settle(p, outcomeFor(verdict, p.event, index, attempts));
    });
  }

  private rejectLocally(event: E, reason: string, message: string): RejectedOutcome<E> {
    const outcome: RejectedOutcome<E> = {
      status: 'rejected',
      event,
      reason,
      message,
      local: true,
      httpStatus: undefined,
      requestId: undefined,
    };
    this.counters.rejected++;
    this.counters.rejectedLocally++;
    this.callback(() => this.options.onRejected?.(outcome));
    return outcome;
  }

  private settle(p: Pending<E>, outcome: EventOutcome<E>): void {
    // Settled once: the first outcome stands.
    if (p.outcome) return;
    p.outcome = outcome;
    this.batcher.release(p);
    this.counters[outcome.status]++;
    if (outcome.status === 'rejected') this.callback(() => this.options.onRejected?.(outcome));
    else if (outcome.status === 'failed') this.callback(() => this.options.onFailed?.(outcome));
    p.resolve(outcome);
    this.batcher.wake();
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
