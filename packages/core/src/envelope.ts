import * as z from './zod';

/**
 * What one record becomes on the stream, and so one line of a landing file.
 * The payload is embedded as the exact text received, so numbers beyond
 * double precision, key order and escapes reach the warehouse untouched.
 */
export const envelopeSchema = z.object({
  received_at: z.iso.datetime(),
  request_id: z.string().check(z.minLength(1)),
  /** The producer named by the request's API key (auth mode `apiKey`). */
  producer: z.optional(z.string()),
  record: z.looseObject({ id: z.union([z.string(), z.number()]) }),
});
export type Envelope = z.infer<typeof envelopeSchema>;

export interface EnvelopeMeta {
  receivedAt: string;
  requestId: string;
  producer?: string | undefined;
}

/**
 * Serializes an envelope around a record's raw JSON text (one line, no trailing newline).
 *
 * @example
 * buildEnvelope('{"id":1}', { receivedAt: '2026-01-01T00:00:00.000Z', requestId: 'r1' })
 * // → '{"received_at":"2026-01-01T00:00:00.000Z","request_id":"r1","record":{"id":1}}'
 */
export function buildEnvelope(rawRecord: string, meta: EnvelopeMeta): string {
  const producer = meta.producer === undefined ? '' : `,"producer":${JSON.stringify(meta.producer)}`;
  return `{"received_at":${JSON.stringify(meta.receivedAt)},"request_id":${JSON.stringify(meta.requestId)}${producer},"record":${rawRecord}}`;
}
