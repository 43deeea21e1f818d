import type { RejectionReason } from './reasons';

/**
 * The errors of the ingest domain. Only the handler's error middleware turns
 * them into HTTP responses (see `packages/functions/src/http.ts`).
 */
export class IngestError extends Error {
  override readonly name: string = 'IngestError';
}

/**
 * The request as a whole cannot be taken: its body is not JSON, is too large,
 * or is of a media type or encoding we do not read. Carries the HTTP status the
 * contract gives it and the reason recorded in the quarantine.
 */
export class RequestRejectedError extends IngestError {
  override readonly name: string = 'RequestRejectedError';
  constructor(
    readonly reason: RejectionReason,
    readonly status: 400 | 413 | 415 | 422,
    message: string,
    options?: { cause?: unknown; records?: number },
  ) {
    super(message, options);
    this.records = options?.records ?? 1;
  }
  /** How many records the refused request held, when known (1 when the body could not be split). */
  readonly records: number;
}

/**
 * The downstream (Kinesis or the error bucket) could not durably take the
 * input within the time budget. The producer should retry after `retryAfterSeconds`.
 */
export class DownstreamUnavailableError extends IngestError {
  override readonly name: string = 'DownstreamUnavailableError';
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The downstream refused the call in a way no retry can fix: the stream or the
 * bucket is missing, access is denied (an IAM or KMS mistake), or the call
 * itself is malformed. Answered 500 at once, not 503: a producer told to retry
 * later would retry for ever something that cannot succeed until an operator acts.
 */
export class DownstreamMisconfiguredError extends IngestError {
  override readonly name: string = 'DownstreamMisconfiguredError';
}

/** Settings failed validation at start. Lists every problem at once. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}
