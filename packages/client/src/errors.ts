/** Why one attempt to send a batch failed. */
export class SnowgateRequestError extends Error {
  override readonly name = 'SnowgateRequestError';
  constructor(
    message: string,
    readonly kind: 'http' | 'network' | 'timeout' | 'aborted',
    readonly details: {
      /** The HTTP status, for kind `http`. */
      status?: number;
      /** The server's request id, when it answered with one. */
      requestId?: string;
      /** The `Retry-After` it asked for, in milliseconds. */
      retryAfterMs?: number;
      /** The response body (first 1,000 characters). */
      body?: string;
      cause?: unknown;
    } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
  }

  get status(): number | undefined {
    return this.details.status;
  }
}

/** `send()` when the client holds `maxBufferedEvents` or `maxBufferedBytes` already: wait for `client.ready()`, or slow down. */
export class BufferFullError extends Error {
  override readonly name = 'BufferFullError';
  constructor(
    readonly buffered: { events: number; bytes: number },
    readonly limits: { maxBufferedEvents: number; maxBufferedBytes: number },
  ) {
    super(
      `the client holds ${buffered.events} events (${buffered.bytes} bytes) not yet delivered; ` +
        `the limits are ${limits.maxBufferedEvents} events and ${limits.maxBufferedBytes} bytes: await client.ready() before sending more`,
    );
  }
}

/** `send()` after `close()`. */
export class ClientClosedError extends Error {
  override readonly name = 'ClientClosedError';
  constructor() {
    super('the client is closed: create another to send more events');
  }
}
