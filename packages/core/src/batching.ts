import { KINESIS_PUT_RECORDS_MAX_BYTES, KINESIS_PUT_RECORDS_MAX_RECORDS } from './limits';

/**
 * Splits entries into PutRecords calls within both of its limits (500 records,
 * 5 MiB), keeping their order.
 *
 * @example
 * chunkForPutRecords(Array.from({ length: 1200 }, () => ({ bytes: 10 }))).map((c) => c.length) // → [500, 500, 200]
 */
export function chunkForPutRecords<T extends { bytes: number }>(
  entries: readonly T[],
  maxRecords = KINESIS_PUT_RECORDS_MAX_RECORDS,
  maxBytes = KINESIS_PUT_RECORDS_MAX_BYTES,
): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let currentBytes = 0;
  for (const entry of entries) {
    if (current.length > 0 && (current.length === maxRecords || currentBytes + entry.bytes > maxBytes)) {
      chunks.push(current);
      current = [];
      currentBytes = 0;
    }
    current.push(entry);
    currentBytes += entry.bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
