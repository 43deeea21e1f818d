import * as z from './zod';
import type { Assessment } from './records';

/** The JSON body of every answer to `POST /events`. */
export const ingestResponseSchema = z.object({
  requestId: z.string(),
  accepted: z.number().check(z.int(), z.nonnegative()),
  rejected: z.number().check(z.int(), z.nonnegative()),
  errors: z.array(
    z.object({
      /** The record's position in the batch (NDJSON: among its non-blank lines); null when the error is the whole request's. */
      index: z.nullable(z.number().check(z.int(), z.nonnegative())),
      reason: z.string(),
      message: z.string(),
    }),
  ),
  /** Contract mode `warn` only: accepted records that do not meet their contract (what `enforce` would reject). */
  warnings: z.optional(z.array(z.object({ index: z.number().check(z.int(), z.nonnegative()), reason: z.string(), message: z.string() }))),
});
export type IngestResponse = z.infer<typeof ingestResponseSchema>;

/**
 * The status the contract gives an assessment, once everything in it is durable:
 * 202 all accepted, 207 some of each, and when none is accepted 400 (all
 * malformed), 413 (all too large) or 422.
 *
 * @example
 * statusOf({ ...assessment, accepted: [a], rejected: [r] }) // → 207
 */
export function statusOf(assessment: Assessment): 202 | 207 | 400 | 413 | 415 | 422 {
  if (assessment.requestRejection) return assessment.requestRejection.status;
  const { accepted, rejected } = assessment;
  if (rejected.length === 0) return 202;
  if (accepted.length > 0) return 207;
  if (rejected.every((r) => r.reason === 'malformed_json')) return 400;
  if (rejected.every((r) => r.reason === 'record_too_large')) return 413;
  return 422;
}

/** The response body for an assessment. */
export function responseOf(assessment: Assessment): IngestResponse {
  const rejection = assessment.requestRejection;
  return {
    requestId: assessment.requestId,
    accepted: assessment.accepted.length,
    rejected: rejection ? rejection.records : assessment.rejected.length,
    errors: rejection
      ? [{ index: null, reason: rejection.reason, message: rejection.message }]
      : assessment.rejected.map(({ index, reason, message }) => ({ index, reason, message })),
    ...(assessment.warnings.length > 0
      ? { warnings: assessment.warnings.map(({ index, reason, message }) => ({ index, reason, message })) }
      : {}),
  };
}
