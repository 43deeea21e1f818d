import * as z from './zod';

/**
 * How the API authenticated the caller, and so what `producer` names: the API key's producer
 * (`apiKey`), the caller's IAM ARN (`iam`, SigV4), or the token's `sub` claim (`jwt`).
 */
export const AUTH_KINDS = ['apiKey', 'iam', 'jwt'] as const;
export type AuthKind = (typeof AUTH_KINDS)[number];

/**
 * What one record becomes on the stream, and so one line of a landing file.
 * The payload is embedded as the exact text received, so numbers beyond
 * double precision, key order and escapes reach the warehouse untouched.
 */
export const envelopeSchema = z.object({
  received_at: z.iso.datetime(),
  request_id: z.string().check(z.minLength(1)),
  /**
   * How the caller was authenticated (one of AUTH_KINDS as the API writes it); absent when the stage checks
   * nobody (auth mode `none`). Any text when read, as Snowflake's COPY reads it (`$1:auth::VARCHAR`).
   */
  auth: z.optional(z.string()),
  /** Who sent it, in `auth`'s terms: the API key's producer, the IAM ARN, or the JWT's `sub`. */
  producer: z.optional(z.string()),
  record: z.looseObject({ id: z.union([z.string(), z.number()]) }),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export interface EnvelopeMeta {
  receivedAt: string;
  requestId: string;
  auth?: AuthKind | undefined;
  producer?: string | undefined;
}

/**
 * Serializes an envelope around a record's raw JSON text (one line, no trailing newline).
 *
 * @example
 * buildEnvelope('{"id":1}', { receivedAt: '2026-01-01T00:00:00.000Z', requestId: 'r1' })
 * // → '{"received_at":"2026-01-01T00:00:00.000Z","request_id":"r1","record":{"id":1}}'
 * buildEnvelope('{"id":1}', { receivedAt: '2026-01-01T00:00:00.000Z', requestId: 'r1', auth: 'jwt', producer: 'svc-42' })
 * // → '{"received_at":"2026-01-01T00:00:00.000Z","request_id":"r1","auth":"jwt","producer":"svc-42","record":{"id":1}}'
 */
export function buildEnvelope(rawRecord: string, meta: EnvelopeMeta): string {
  const auth = meta.auth === undefined ? '' : `,"auth":"${meta.auth}"`;
  const producer = meta.producer === undefined ? '' : `,"producer":${JSON.stringify(meta.producer)}`;
  return `{"received_at":${JSON.stringify(meta.receivedAt)},"request_id":${JSON.stringify(meta.requestId)}${auth}${producer},"record":${rawRecord}}`;
}
