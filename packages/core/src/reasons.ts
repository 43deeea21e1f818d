/**
 * Why an input was rejected. Stable strings: producers match on them and the
 * quarantine is partitioned by them, so add new ones rather than renaming.
 */
export const REJECTION_REASONS = [
  'empty_body',
  'malformed_json',
  'invalid_utf8',
  'unsupported_media_type',
  'unsupported_encoding',
  // Content-Encoding gzip, deflate or br that does not decompress (truncated, or not what the header says).
  'invalid_compression',
  'body_too_large',
  'too_many_records',
  'empty_batch',
  'not_an_object',
  'missing_id',
  'invalid_id',
  'invalid_unicode',
  // A key repeated within one object, at any depth: readers disagree on which value it has.
  'duplicate_key',
  'too_deep',
  'record_too_large',
  // Schema contracts (contracts.ts), in `enforce` mode.
  'schema_violation',
  'unknown_schema',
  // The Segment routes (segment.ts): a /v1/batch body that is not an object with a `batch` array,
  // and a message whose `type` is not the call it was posted to (`/v1/track` with `"type":"identify"`).
  'invalid_batch',
  'invalid_type',
] as const;

export type RejectionReason = (typeof REJECTION_REASONS)[number];
