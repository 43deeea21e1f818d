import { createHash } from 'node:crypto';
import { FIREHOSE_RECORD_MAX_BYTES, KINESIS_PARTITION_KEY_MAX_CHARS } from './limits';
import * as z from './zod';

/**
 * How accepted envelopes become Kinesis records. See docs/decisions/013-packed-kinesis-records.md.
 *
 * - `packed` (default): a request's envelopes go in as few records as fit
 *   `maxRecordBytes` (data + partition key), one envelope per line joined by
 *   "\n" with no trailing newline; Firehose's `AppendDelimiterToRecord` closes
 *   each record, so a landing file holds one envelope per line either way.
 * - `single`: one envelope per record, partition key = the event's `id`.
 */
export const PACKING_MODES = ['packed', 'single'] as const;
export type PackingMode = (typeof PACKING_MODES)[number];

/**
 * 25,600 bytes (data + partition key): one provisioned-mode PUT payload unit
 * (25 KB) and five of Firehose's 5 KB billing increments.
 * https://aws.amazon.com/kinesis/data-streams/pricing/ and https://aws.amazon.com/firehose/pricing/
 */
export const DEFAULT_PACKED_RECORD_BYTES = 25_600;

/** The smallest pack size accepted: below it, hardly two envelopes share a record. */
export const MIN_PACKED_RECORD_BYTES = 1_024;

export const packingSchema = z.object({
  mode: z._default(z.enum(PACKING_MODES), 'packed'),
  /** Largest packed record, data + partition key. Firehose's limit (less its newline) caps it. */
  maxRecordBytes: z._default(
    z.coerce.number().check(z.int(), z.gte(MIN_PACKED_RECORD_BYTES), z.lte(FIREHOSE_RECORD_MAX_BYTES - 1)),
    DEFAULT_PACKED_RECORD_BYTES,
  ),
});
export type PackingSettings = z.infer<typeof packingSchema>;

/** What packing needs of an accepted record (`AcceptedRecord` has more). */
export interface PackableRecord {
  partitionKey: string;
  /** The envelope, one line. */
  data: string;
  /** data + partition key, in bytes (as `assessRequest` counts them). */
  bytes: number;
}

/** One Kinesis record: one or more envelopes, joined by "\n". */
export interface StreamRecord<T extends PackableRecord = PackableRecord> {
  partitionKey: string;
  data: string;
  /** data + partition key, in bytes: what Kinesis counts against its limits. */
  bytes: number;
  /** The records it carries, in order. */
  records: T[];
}

/**
 * The partition key of a request's `index`-th packed record: the request id and
 * the index, which Kinesis hashes with MD5, so a request's packs spread over
 * the shards. A key longer than Kinesis allows is replaced by its SHA-256.
 *
 * @example
 * packPartitionKey('req-1', 2) // → 'req-1:2'
 */
export function packPartitionKey(requestKey: string, index: number): string {
  const key = `${requestKey}:${index}`;
  return key.length <= KINESIS_PARTITION_KEY_MAX_CHARS ? key : createHash('sha256').update(key).digest('hex');
}

/**
 * Groups a request's accepted records into Kinesis records. In `packed` mode,
 * consecutive envelopes share a record while data + newlines + partition key
 * stay within `maxRecordBytes`; an envelope too large for that goes alone (the
 * per-record limits of `assessRequest` still bound it). Order is kept: reading
 * the packs in order and splitting their lines gives the records in order.
 * In `single` mode each record is its own, keyed by its `id`, as assessed.
 *
 * @example
 * packRecords(accepted, { mode: 'packed', maxRecordBytes: 25_600 }, 'req-1').map((p) => p.partitionKey) // → ['req-1:0', 'req-1:1']
 */
export function packRecords<T extends PackableRecord>(
  records: readonly T[],
  settings: PackingSettings,
  requestKey: string,
): StreamRecord<T>[] {
  if (settings.mode === 'single') {
    return records.map((r) => ({ partitionKey: r.partitionKey, data: r.data, bytes: r.bytes, records: [r] }));
  }
  const packs: StreamRecord<T>[] = [];
  let members: T[] = [];
  let dataBytes = 0;
  let key = packPartitionKey(requestKey, 0);
  let keyBytes = Buffer.byteLength(key, 'utf8');
  const close = () => {
    packs.push({
      partitionKey: key,
      data: members.length === 1 ? members[0]!.data : members.map((m) => m.data).join('\n'),
      bytes: dataBytes + keyBytes,
      records: members,
    });
    members = [];
    dataBytes = 0;
    key = packPartitionKey(requestKey, packs.length);
    keyBytes = Buffer.byteLength(key, 'utf8');
  };
  for (const record of records) {
    const size = record.bytes - Buffer.byteLength(record.partitionKey, 'utf8');
    if (members.length > 0 && dataBytes + 1 + size + keyBytes > settings.maxRecordBytes) close();
    dataBytes += members.length > 0 ? 1 + size : size;
    members.push(record);
  }
  if (members.length > 0) close();
  return packs;
}

/**
 * The envelopes of a Kinesis record written by {@link packRecords}, in order:
 * its lines (a record from `single` mode is one line).
 *
 * @example
 * envelopesOf('{"a":1}\n{"a":2}') // → ['{"a":1}', '{"a":2}']
 */
export function envelopesOf(data: string): string[] {
  return data.split('\n');
}
