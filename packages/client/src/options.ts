import { ENVELOPE_OVERHEAD_BYTES } from './size.js';
import type { ClientOptions, GzipOptions, SnowgateEvent } from './types.js';

/** The defaults, which match a stage's default limits. */
export const DEFAULTS = {
  maxBatchRecords: 500,
  /** The server's default maxBodyBytes: the most any body can be and still reach its function. */
  maxBatchBytes: 1_037_653,
  maxRecordBytes: 1_023_999,
  flushIntervalMs: 1_000,
  maxConcurrency: 4,
  maxBufferedEvents: 20_000,
  maxBufferedBytes: 64 * 1_048_576,
  maxRetries: 8,
  retryBaseDelayMs: 200,
  retryMaxDelayMs: 20_000,
  retryBudgetMs: 120_000,
  requestTimeoutMs: 30_000,
  gzip: { minBytes: 1_024, level: 6, maxRatio: 100 },
} as const;

/** The numeric settings, validated and with their defaults filled in. */
export interface Limits {
  maxBatchRecords: number;
  maxBatchBytes: number;
  maxRecordBytes: number;
  /** The largest event JSON that could be sent. */
  maxEventBytes: number;
  flushIntervalMs: number;
  maxConcurrency: number;
  maxBufferedEvents: number;
  maxBufferedBytes: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  retryBudgetMs: number;
  requestTimeoutMs: number;
}

/** The gzip settings in force, or undefined when bodies go uncompressed. */
export type GzipSettings = Required<GzipOptions> | undefined;

function positive(name: string, value: number | undefined, fallback: number, { allowZero = false } = {}): number {
  const v = value ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || (!allowZero && v === 0)) {
    throw new TypeError(`${name} must be a ${allowZero ? 'non-negative' : 'positive'} number, not ${String(value)}`);
  }
  return v;
}

/**
 * Validates the numeric options once, when the client is created, so that a
 * bad setting fails loudly there rather than at the first batch.
 */
export function resolveLimits<E extends SnowgateEvent>(options: ClientOptions<E>): Limits {
  const maxBatchBytes = positive('maxBatchBytes', options.maxBatchBytes, DEFAULTS.maxBatchBytes);
  const maxRecordBytes = positive('maxRecordBytes', options.maxRecordBytes, DEFAULTS.maxRecordBytes);
  const maxBatchRecords = positive('maxBatchRecords', options.maxBatchRecords, DEFAULTS.maxBatchRecords);
  if (!Number.isInteger(maxBatchRecords)) throw new TypeError('maxBatchRecords must be an integer');
  if (maxBatchBytes < 3) throw new TypeError('maxBatchBytes must leave room for one event');
  const zero = { allowZero: true };
  return {
    maxBatchRecords,
    maxBatchBytes,
    maxRecordBytes,
    // Room for `[` and `]` around a lone event, and for its envelope on the stream.
    maxEventBytes: Math.min(maxRecordBytes - ENVELOPE_OVERHEAD_BYTES, maxBatchBytes - 2),
    flushIntervalMs: positive('flushIntervalMs', options.flushIntervalMs, DEFAULTS.flushIntervalMs, zero),
    maxConcurrency: positive('maxConcurrency', options.maxConcurrency, DEFAULTS.maxConcurrency),
    maxBufferedEvents: positive('maxBufferedEvents', options.maxBufferedEvents, DEFAULTS.maxBufferedEvents),
    maxBufferedBytes: positive('maxBufferedBytes', options.maxBufferedBytes, DEFAULTS.maxBufferedBytes),
    maxRetries: positive('maxRetries', options.maxRetries, DEFAULTS.maxRetries, zero),
    retryBaseDelayMs: positive('retryBaseDelayMs', options.retryBaseDelayMs, DEFAULTS.retryBaseDelayMs, zero),
    retryMaxDelayMs: positive('retryMaxDelayMs', options.retryMaxDelayMs, DEFAULTS.retryMaxDelayMs, zero),
    retryBudgetMs: positive('retryBudgetMs', options.retryBudgetMs, DEFAULTS.retryBudgetMs, zero),
    requestTimeoutMs: positive('requestTimeoutMs', options.requestTimeoutMs, DEFAULTS.requestTimeoutMs),
  };
}

/** `gzip: true` takes every default; an object overrides some of them. */
export function resolveGzip(gzip: boolean | GzipOptions | undefined): GzipSettings {
  return gzip ? { ...DEFAULTS.gzip, ...(gzip === true ? {} : gzip) } : undefined;
}
