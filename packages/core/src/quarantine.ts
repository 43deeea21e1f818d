import * as z from './zod';
import { AUTH_KINDS } from './envelope';
import type { Assessment } from './records';
import { REJECTION_REASONS } from './reasons';
import type { ReceivedBody } from './request';

/** Headers worth keeping with quarantined input. An allow-list: credentials (Authorization, Cookie, API keys) can never slip in. */
export const QUARANTINE_HEADERS = ['content-type', 'content-encoding', 'content-length', 'user-agent'] as const;

const inputSchema = z.object({
  /** `utf8` when `data` is the input's text, `base64` when the bytes are not valid UTF-8. */
  encoding: z.enum(['utf8', 'base64']),
  /** True size of the input in bytes, even when `data` is truncated. */
  size: z.number().check(z.int(), z.nonnegative()),
  truncated: z.boolean(),
  data: z.string(),
});
export type QuarantinedInput = z.infer<typeof inputSchema>;

/** The object written to the error bucket for every request that had anything rejected. */
export const quarantineObjectSchema = z.object({
  schema: z.literal('snowgate.quarantine/v1'),
  request_id: z.string(),
  received_at: z.iso.datetime(),
  status: z.number().check(z.int()),
  reasons: z.array(z.enum(REJECTION_REASONS)).check(z.minLength(1)),
  headers: z.record(z.string(), z.string()),
  source_ip: z.optional(z.string()),
  /** How the caller was authenticated, as on the stream's envelopes. */
  auth: z.optional(z.enum(AUTH_KINDS)),
  /** The caller in `auth`'s terms (the API key's producer, never the key; the IAM ARN; the JWT's `sub`). */
  producer: z.optional(z.string()),
  accepted: z.number().check(z.int(), z.nonnegative()),
  rejected: z.number().check(z.int(), z.nonnegative()),
  /** The whole body, when the request was refused as a whole. */
  body: z.optional(inputSchema),
  /** Each rejected record, when the body was read. */
  records: z.array(
    z.object({
      index: z.number().check(z.int(), z.nonnegative()),
      reason: z.enum(REJECTION_REASONS),
      message: z.string(),
      issues: z.array(
        z.object({
          path: z.array(z.union([z.string(), z.number()])),
          message: z.string(),
          /** Schema contracts: the failing JSON Schema keyword and its place in the schema. */
          keyword: z.optional(z.string()),
          schemaPath: z.optional(z.string()),
        }),
      ),
      /** Schema contracts: the type and version the record was checked against. */
      schema: z.optional(z.object({ type: z.string(), version: z.number().check(z.int(), z.positive()) })),
      input: inputSchema,
    }),
  ),
});
export type QuarantineObject = z.infer<typeof quarantineObjectSchema>;

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Keeps an input as received, truncated to `maxBytes` with its true size.
 *
 * @example
 * quarantinedInput('{"a":', 100) // → { encoding: 'utf8', size: 5, truncated: false, data: '{"a":' }
 */
export function quarantinedInput(input: ReceivedBody, maxBytes: number): QuarantinedInput {
  if (typeof input === 'string') {
    const size = Buffer.byteLength(input, 'utf8');
    // A string is kept as a JSON string, which preserves it exactly, lone surrogates included.
    if (size <= maxBytes) return { encoding: 'utf8', size, truncated: false, data: input };
    return fromBytes(Buffer.from(input, 'utf8'), maxBytes);
  }
  return fromBytes(input, maxBytes);
}

function fromBytes(bytes: Uint8Array, maxBytes: number): QuarantinedInput {
  const size = bytes.byteLength;
  const truncated = size > maxBytes;
  const kept = truncated ? bytes.subarray(0, maxBytes) : bytes;
  // A cut may split a character of up to 4 bytes: drop its first bytes rather than fall back to base64.
  for (let drop = 0; drop <= (truncated ? Math.min(3, kept.byteLength - 1) : 0); drop++) {
    try {
      return { encoding: 'utf8', size, truncated, data: utf8.decode(kept.subarray(0, kept.byteLength - drop)) };
    } catch {
      // not UTF-8 at this length
    }
  }
  return { encoding: 'base64', size, truncated, data: Buffer.from(kept).toString('base64') };
}

/**
 * The error-bucket key: date-partitioned, and unique (request id plus a random
 * id), so that no write ever replaces another. The request id is in it as
 * {@link keyRequestId} writes it.
 *
 * @example
 * quarantineKey('errors/', '2026-11-22T04:05:06.789Z', 'Ab+c/d9XYZ0123Q=', '5f0c…')
 * // → 'errors/dt=2026-11-22/hour=04/20261122T040506789Z-Ab-c_d9XYZ0123Q=-5f0c….json'
 */
export function quarantineKey(prefix: string, receivedAt: string, requestId: string, uniqueId: string): string {
  const date = receivedAt.slice(0, 10);
  const hour = receivedAt.slice(11, 13);
  const stamp = receivedAt.replace(/[-:.]/g, '');
  return `${prefix}dt=${date}/hour=${hour}/${stamp}-${keyRequestId(requestId)}-${uniqueId}.json`;
}

/**
 * A request id as quarantine keys carry it. API Gateway's request ids are
 * base64 (`LIxCyGd7SK4FjEg=`); a `/` in a key would make a "folder", so the
 * id is written in base64's URL-safe alphabet (RFC 4648 §5): `+` → `-`,
 * `/` → `_`, `=` kept. Anything else outside `[A-Za-z0-9_=-]` (no API Gateway
 * id has it) becomes `_`; at most 100 characters.
 *
 * @example
 * keyRequestId('Ab+c/d9XYZ0123Q=') // → 'Ab-c_d9XYZ0123Q='
 */
export function keyRequestId(requestId: string): string {
  return requestId
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/[^A-Za-z0-9_=-]/g, '_')
    .slice(0, 100);
}

/** The request id as keys written before {@link keyRequestId} carried it: every character outside `[A-Za-z0-9_-]` as `_`. */
function legacyKeyRequestId(requestId: string): string {
  return requestId.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 100);
}

const KEY_NAME = /\/\d{8}T\d{9}Z-([^/]*)-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/;

/**
 * Whether a quarantine key may hold this request's object, in the key format
 * of today or of before. A match is to be confirmed by the object's
 * `request_id`: the older format wrote `+`, `/` and `=` all as `_`.
 *
 * @example
 * quarantineKeyMatches('errors/dt=2026-11-22/hour=04/20261122T040506789Z-Ab-c_d9XYZ0123Q=-5f0c5e8a-1b2c-4d3e-8f9a-0b1c2d3e4f5a.json', 'Ab+c/d9XYZ0123Q=') // → true
 */
export function quarantineKeyMatches(key: string, requestId: string): boolean {
  const inKey = KEY_NAME.exec(key)?.[1];
  return inKey !== undefined && (inKey === keyRequestId(requestId) || inKey === legacyKeyRequestId(requestId));
}

/** Whether this assessment has anything to quarantine. */
export function needsQuarantine(assessment: Assessment): boolean {
  return assessment.requestRejection !== undefined || assessment.rejected.length > 0;
}

/** Builds the quarantine object for an assessment with rejections. */
export function buildQuarantineObject(
  assessment: Assessment,
  context: { status: number; headers: Readonly<Record<string, string | undefined>>; sourceIp?: string | undefined; maxInputBytes: number },
): QuarantineObject {
  const headers: Record<string, string> = {};
  for (const name of QUARANTINE_HEADERS) {
    const value = context.headers[name];
    if (value !== undefined) headers[name] = value;
  }
  const rejection = assessment.requestRejection;
  const reasons = rejection ? [rejection.reason] : [...new Set(assessment.rejected.map((r) => r.reason))];
  return {
    schema: 'snowgate.quarantine/v1',
    request_id: assessment.requestId,
    received_at: assessment.receivedAt,
    status: context.status,
    reasons,
    headers,
    ...(context.sourceIp ? { source_ip: context.sourceIp } : {}),
    ...(assessment.auth ? { auth: assessment.auth } : {}),
    ...(assessment.producer ? { producer: assessment.producer } : {}),
    accepted: assessment.accepted.length,
    rejected: rejection ? rejection.records : assessment.rejected.length,
    ...(rejection ? { body: quarantinedInput(assessment.body, context.maxInputBytes) } : {}),
    records: assessment.rejected.map((r) => ({
      index: r.index,
      reason: r.reason,
      message: r.message,
      issues: r.issues,
      ...(r.schema ? { schema: r.schema } : {}),
      input: quarantinedInput(r.input, context.maxInputBytes),
    })),
  };
}
