import { BufferFullError } from './errors.js';
import type { Limits } from './options.js';
import { escapeGrowth, LAMBDA_BODY_BUDGET_BYTES, recordBytesOnStream, utf8Length } from './size.js';
import type { EventOutcome } from './types.js';

/** An event taken by `send()`, waiting for its outcome. */
export interface Pending<E> {
  event: E;
  json: string;
  bytes: number;
  /** Its bytes inside API Gateway's event: `bytes` plus what escaping adds. */
  wrapped: number;
  resolve: (outcome: EventOutcome<E>) => void;
  outcome?: EventOutcome<E>;
}

/** Events sent together in one request (and in each of its retries). */
export interface Batch<E> {
  items: Pending<E>[];
  /** Body bytes: `[`, the events, their commas and `]`. */
  bodyBytes: number;
  /** The body's bytes inside API Gateway's event (escaped as a JSON string), what Lambda counts. */
  wrappedBytes: number;
  /** Resolves once every event in the batch has its outcome. */
  done: Promise<void>;
  finish: () => void;
}

/** An event as it will be sent. */
export interface Serialized {
  json: string;
  bytes: number;
}

/** Why the client refuses an event itself: the server could never take it. */
export interface Refusal {
  reason: 'not_serializable' | 'record_too_large';
  message: string;
}

type BatchLimits = Pick<
  Limits,
  'maxBatchRecords' | 'maxBatchBytes' | 'maxRecordBytes' | 'maxEventBytes' | 'flushIntervalMs' | 'maxBufferedEvents' | 'maxBufferedBytes'
>;

/**
 * Serializes an event now (later changes to the object are not sent), or
 * refuses it: not JSON, too large for a record on the stream, or too large for
 * a request. Sending those would only earn a rejection, or a whole batch's.
 *
 * @example
 * serialize({ id: 'a' }, limits)  // → { json: '{"id":"a"}', bytes: 10 }
 * serialize(undefined, limits)    // → { reason: 'not_serializable', message: 'an event must be a JSON value, not undefined' }
 */
export function serialize(event: unknown, limits: Pick<Limits, 'maxRecordBytes' | 'maxBatchBytes'>): Serialized | Refusal {
  let json: string | undefined;
  try {
    json = JSON.stringify(event);
  } catch (error) {
    return { reason: 'not_serializable', message: `the event cannot be serialized as JSON: ${(error as Error).message}` };
  }
  if (typeof json !== 'string') return { reason: 'not_serializable', message: `an event must be a JSON value, not ${typeof event}` };
  const bytes = utf8Length(json);
  const onStream = recordBytesOnStream(bytes, (event ?? {}) as { id?: unknown });
  if (onStream > limits.maxRecordBytes) {
    const message = `the event is ${bytes} bytes of JSON, ${onStream} on the stream with its envelope and id; the limit is ${limits.maxRecordBytes} (maxRecordBytes): it was not sent`;
    return { reason: 'record_too_large', message };
  }
  if (bytes + 2 > limits.maxBatchBytes) {
    return {
      reason: 'record_too_large',
      message: `the event is ${bytes} bytes of JSON; a request may carry ${limits.maxBatchBytes} (maxBatchBytes): it was not sent`,
    };
  }
  return { json, bytes };
}

/**
 * Part of a batch, sent as a request of its own (a half, after a 413 for its
 * size); it settles with the batch.
 */
export function partOf<E>(batch: Batch<E>, start: number, end?: number): Batch<E> {
  const items = batch.items.slice(start, end);
  const sum = (f: (p: Pending<E>) => number) => items.reduce((n, p) => n + f(p), 1 + items.length);
  return { ...batch, items, bodyBytes: sum((p) => p.bytes), wrappedBytes: sum((p) => p.wrapped) };
}

/** A batch's body: the events' JSON as `send()` serialized it, in an array. */
export function bodyOf<E>(batch: Batch<E>): string {
  return `[${batch.items.map((p) => p.json).join(',')}]`;
}

/**
 * Holds events until a batch is full by count or bytes, or `flushIntervalMs`
 * after its first event, then hands it to `onBatch`. Also keeps the bound on
 * what the client holds, sent or not: every event stays counted until it is
 * released with its outcome, so memory stays bounded while the server is slow.
 */
export class Batcher<E> {
  private current: Pending<E>[] = [];
  /** The current batch's body bytes, starting with `[` and `]`. */
  private currentBytes = 2;
  /** The same, escaped as API Gateway's event carries it. */
  private currentWrapped = 2;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private held = 0;
  private heldBytes = 0;
  private readyWaiters: (() => void)[] = [];

  constructor(
    private readonly limits: BatchLimits,
    private readonly onBatch: (batch: Batch<E>) => void,
  ) {}

  /** Events taken and not yet released. */
  get buffered(): number {
    return this.held;
  }

  /** Their JSON bytes. */
  get bufferedBytes(): number {
    return this.heldBytes;
  }

  /** Throws {@link BufferFullError} when an event of `bytes` would go past the bound. An empty client takes any event. */
  assertRoom(bytes: number): void {
    const { maxBufferedEvents, maxBufferedBytes } = this.limits;
    if (this.held > 0 && (this.held + 1 > maxBufferedEvents || this.heldBytes + bytes > maxBufferedBytes)) {
      throw new BufferFullError({ events: this.held, bytes: this.heldBytes }, { maxBufferedEvents, maxBufferedBytes });
    }
  }

  /** Buffers a serialized event; the promise resolves with the outcome the client gives it later. */
  add(event: E, json: string, bytes: number): Promise<EventOutcome<E>> {
    this.held++;
    this.heldBytes += bytes;
    const wrapped = bytes + escapeGrowth(json);
    // A comma joins it to the batch: seal first when the body would outgrow maxBatchBytes, or Lambda's payload once
    // API Gateway has put it in its event (as a string, escaped; as base64 if gzipped, 4 bytes per 3 at worst).
    if (this.current.length > 0) {
      const body = this.currentBytes + 1 + bytes;
      const inEvent = Math.max(this.currentWrapped + 1 + wrapped, 4 * Math.ceil(body / 3));
      if (body > this.limits.maxBatchBytes || inEvent > LAMBDA_BODY_BUDGET_BYTES) this.seal();
    }
    return new Promise<EventOutcome<E>>((resolve) => {
      const comma = this.current.length > 0 ? 1 : 0;
      this.currentBytes += comma + bytes;
      this.currentWrapped += comma + wrapped;
      this.current.push({ event, json, bytes, wrapped, resolve });
      if (this.current.length >= this.limits.maxBatchRecords) this.seal();
      else if (this.timer === undefined) this.timer = setTimeout(() => this.seal(), this.limits.flushIntervalMs);
    });
  }

  /** Hands over the current batch now, if it has any event, and stops its timer. */
  seal(): void {
    if (this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.current.length === 0) return;
    let finish!: () => void;
    const done = new Promise<void>((resolve) => (finish = resolve));
    const batch: Batch<E> = { items: this.current, bodyBytes: this.currentBytes, wrappedBytes: this.currentWrapped, done, finish };
    this.current = [];
    this.currentBytes = 2;
    this.currentWrapped = 2;
    this.onBatch(batch);
  }

  /** Resolves when `add()` will take any event of an allowed size. */
  ready(): Promise<void> {
    if (this.hasRoom()) return Promise.resolve();
    return new Promise((resolve) => this.readyWaiters.push(resolve));
  }

  /** Stops counting an event that has its outcome. Call {@link wake} once the outcome is delivered. */
  release(p: Pending<E>): void {
    this.held--;
    this.heldBytes -= p.bytes;
  }

  /** Wakes every `ready()` caller when there is room again. */
  wake(): void {
    if (this.readyWaiters.length === 0 || !this.hasRoom()) return;
    const waiters = this.readyWaiters;
    this.readyWaiters = [];
    for (const w of waiters) w();
  }

  /** Room for the largest event that could be sent (or nothing held at all). */
  private hasRoom(): boolean {
    const { maxBufferedEvents, maxBufferedBytes, maxEventBytes } = this.limits;
    return this.held === 0 || (this.held < maxBufferedEvents && this.heldBytes + maxEventBytes <= maxBufferedBytes);
  }
}
