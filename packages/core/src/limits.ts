import * as z from './zod';

/**
 * Hard limits imposed by the AWS services Snowgate writes to. These are facts
 * about AWS, not settings: configurable limits (`limitsSchema` below) may be
 * lowered below them, never raised above.
 */

/** PutRecords takes at most 500 records per call. https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecords.html */
export const KINESIS_PUT_RECORDS_MAX_RECORDS = 500;

/** PutRecords: each record (data + partition key) up to 1 MiB. Same page as above. */
export const KINESIS_RECORD_MAX_BYTES = 1_048_576;

/** PutRecords: the whole request (data + partition keys) up to 5 MiB. Same page as above. */
export const KINESIS_PUT_RECORDS_MAX_BYTES = 5 * 1_048_576;

/** A partition key is a Unicode string of at most 256 characters. https://docs.aws.amazon.com/kinesis/latest/APIReference/API_PutRecordsRequestEntry.html */
export const KINESIS_PARTITION_KEY_MAX_CHARS = 256;

/**
 * Firehose refuses records over 1,000 KiB, before base64. https://docs.aws.amazon.com/firehose/latest/dev/limits.html
 * We keep every accepted record below it (with the newline Firehose appends),
 * so that nothing we acknowledge can be stuck between the stream and the bucket.
 */
export const FIREHOSE_RECORD_MAX_BYTES = 1_024_000;

/**
 * Synchronous Lambda invocations carry at most 6 MB of request payload: the
 * event as JSON, API Gateway's wrapping included (Lambda refuses more with 413
 * `RequestEntityTooLargeException`, "Request must be smaller than 6291456
 * bytes"). https://docs.aws.amazon.com/lambda/latest/dg/gettingstarted-limits.html
 */
export const LAMBDA_SYNC_PAYLOAD_MAX_BYTES = 6_291_456;

/**
 * The event's bytes other than the body, at most: the request line and
 * headers (an HTTP API takes 10,240 bytes of them,
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-quotas.html),
 * which the payload 2.0 event carries up to twice (`headers` and `cookies`,
 * `rawQueryString` and `queryStringParameters`, the user agent in the request
 * context) and escaped up to twice each; the request context; an authorizer's
 * context or a JWT's claims. 64 KiB holds them with room to spare.
 */
export const API_GATEWAY_EVENT_OVERHEAD_BYTES = 65_536;

/**
 * How many bytes a body byte can become in the event. A text body goes in as a
 * JSON string: `"` and `\` take two bytes, a control character six (`\u001f`,
 * RFC 8259 section 7), anything else at most three per byte even if a
 * serializer escaped all non-ASCII as `\uXXXX`. Any other body goes in as
 * base64: four bytes per three. Six is the worst; valid JSON reaches at most
 * two (it holds no raw control character), but a body that is not valid JSON
 * must reach the handler too, to be quarantined.
 */
export const API_GATEWAY_BODY_MAX_GROWTH = 6;

/**
 * The largest body that always fits Lambda's payload, whatever its bytes:
 * (6,291,456 − 65,536) / 6 = 1,037,653 bytes. A larger one can be refused by
 * API Gateway before the handler runs (a 500 on an HTTP API), unanswered by us
 * and not quarantined: `maxBodyBytes` may not exceed it.
 */
export const MAX_SAFE_BODY_BYTES = Math.floor(
  (LAMBDA_SYNC_PAYLOAD_MAX_BYTES - API_GATEWAY_EVENT_OVERHEAD_BYTES) / API_GATEWAY_BODY_MAX_GROWTH,
);

/** Default, configurable limits. Each is documented in docs/CONFIGURATION.md. */
export const DEFAULT_LIMITS = {
  /**
   * The most that always reaches the handler (`MAX_SAFE_BODY_BYTES`, about
   * 0.99 MiB): a body under the limit is answered by Snowgate, never refused by
   * API Gateway on the way. It still carries a record of `maxRecordBytes`.
   */
  maxBodyBytes: MAX_SAFE_BODY_BYTES,
  /** Largest Kinesis entry (envelope + partition key) a record may become: Firehose's limit less its newline. */
  maxRecordBytes: FIREHOSE_RECORD_MAX_BYTES - 1,
  /** One request fits one PutRecords call. */
  maxRecordsPerRequest: KINESIS_PUT_RECORDS_MAX_RECORDS,
  /** Deepest nesting of objects and arrays within one record (the record itself is depth 1). */
  maxDepth: 64,
  /**
   * A compressed body may decompress to at most this many times its size (and
   * never past `maxBodyBytes`). JSON events compress 5 to 20 times; gzip's own
   * ceiling is about 1,030: past 200 a body is a bomb more likely than a batch.
   */
  maxInflateRatio: 200,
  /** How much of a rejected input the quarantine object keeps before truncating (its true size is recorded). */
  quarantineMaxInputBytes: 1_048_576,
} as const;

const positiveInt = z.coerce.number().check(z.int(), z.positive());
/** A positive integer up to `max`, `fallback` when absent. */
const positiveIntUpTo = (max: number, fallback: number) => z._default(positiveInt.check(z.lte(max)), fallback);

/** The configurable limits, each capped by the AWS limit above it. Defaults and their reasons are in `DEFAULT_LIMITS`. */
export const limitsSchema = z.object({
  // Lambda's 6 MB is not the bound: the body grows in the event (see MAX_SAFE_BODY_BYTES).
  maxBodyBytes: z._default(
    positiveInt.check(
      z.lte(MAX_SAFE_BODY_BYTES, {
        error: `must be at most ${MAX_SAFE_BODY_BYTES}: a larger body may not fit Lambda's 6 MB payload once API Gateway wraps it in its event`,
      }),
    ),
    DEFAULT_LIMITS.maxBodyBytes,
  ),
  // Firehose's record limit (less its newline) is below Kinesis's: a larger record would be acknowledged, then stuck.
  maxRecordBytes: positiveIntUpTo(FIREHOSE_RECORD_MAX_BYTES - 1, DEFAULT_LIMITS.maxRecordBytes),
  maxRecordsPerRequest: positiveIntUpTo(10_000, DEFAULT_LIMITS.maxRecordsPerRequest),
  maxDepth: positiveIntUpTo(1_000, DEFAULT_LIMITS.maxDepth),
  maxInflateRatio: positiveIntUpTo(1_100, DEFAULT_LIMITS.maxInflateRatio),
  quarantineMaxInputBytes: positiveIntUpTo(64 * 1_048_576, DEFAULT_LIMITS.quarantineMaxInputBytes),
});
export type Limits = z.infer<typeof limitsSchema>;
