import { envelopeSchema } from './envelope';
import { envelopesOf } from './packing';

/**
 * Streaming delivery (`delivery.mode` `streaming`): each event on the stream becomes one row
 * appended to RAW_EVENTS through the streaming pipe. This is the row the pipe reads: the envelope's
 * fields, and in place of a landing file's name and line, where the event was on the stream.
 * {@link rowsOfStreamRecord} gives it as JSON text, in this key order, `record` as the envelope holds it.
 *
 * - `source_file`: `kinesis:<shardId>:<sequenceNumber>`, the Kinesis record that carried it
 * - `file_row_number`: its 1-based line in that record (a packed record carries several)
 * - `loaded_at`: when the consumer appended it (ISO 8601)
 */
export interface StreamRow {
  received_at: string;
  request_id: string;
  auth?: string;
  producer?: string;
  record: Record<string, unknown>;
  source_file: string;
  file_row_number: number;
  loaded_at: string;
}

/** A line of a Kinesis record that is not one of our envelopes: not appended (the landing files keep it), reported. */
export interface UnreadableLine {
  source_file: string;
  line: number;
  reason: string;
}

/** Where a streamed row came from, as RAW_EVENTS' `source_file` holds it. */
export function streamSourceFile(shardId: string, sequenceNumber: string): string {
  return `kinesis:${shardId}:${sequenceNumber}`;
}

/**
 * The channel a shard's rows go through: one per shard, so that the channel's offset token (the last
 * sequence number appended) orders as the shard does. Snowflake's channel names are identifiers of at
 * most 255 characters; a shard id is `shardId-` and 12 digits.
 *
 * @example
 * streamChannelName('snowgate-prod', 'shardId-000000000001') // → 'snowgate-prod-shardId-000000000001'
 */
export function streamChannelName(prefix: string, shardId: string): string {
  return `${prefix}-${shardId}`;
}

/**
 * The rows of one Kinesis record (one envelope, or several, one per line, when packed), in order, each
 * the JSON text of a {@link StreamRow}: the envelope's own text with the stream's fields after it, so
 * that the record reaches RAW_EVENTS as received (integers beyond double precision, key order, escapes),
 * as it does through the landing files. The line is parsed only to check it; an envelope not written by
 * `buildEnvelope` (a hand-made record) has its fields re-serialized.
 * A line that is not an envelope (the ingest API never writes one; a hand-made record might) is
 * reported, not appended: the landing files still hold it, and one bad line must not stop a shard.
 *
 * @example
 * rowsOfStreamRecord('{"received_at":"2026-01-01T00:00:00.000Z","request_id":"r1","record":{"n":12345678901234567890}}', 'shardId-000000000000', '4955', '2026-01-01T00:00:01.000Z').rows
 * // → ['{"received_at":"2026-01-01T00:00:00.000Z","request_id":"r1","record":{"n":12345678901234567890},"source_file":"kinesis:shardId-000000000000:4955","file_row_number":1,"loaded_at":"2026-01-01T00:00:01.000Z"}']
 */
export function rowsOfStreamRecord(
  data: string,
  shardId: string,
  sequenceNumber: string,
  loadedAt: string,
): { rows: string[]; unreadable: UnreadableLine[] } {
  const source = streamSourceFile(shardId, sequenceNumber);
  const rows: string[] = [];
  const unreadable: UnreadableLine[] = [];
  envelopesOf(data).forEach((line, i) => {
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (e) {
      unreadable.push({ source_file: source, line: i + 1, reason: `not JSON: ${(e as Error).message}` });
      return;
    }
    const envelope = envelopeSchema.safeParse(value);
    if (!envelope.success) {
      unreadable.push({ source_file: source, line: i + 1, reason: `not a Snowgate envelope: ${envelope.error.issues[0]?.message}` });
      return;
    }
    const { received_at, request_id, auth, producer, record } = envelope.data;
    // What `buildEnvelope` writes before the record's text. When the line is that, the record's text and `}`,
    // the rest is the record exactly as received; anything else (a hand-made line) is re-serialized from the parse.
    const head =
      `{"received_at":${JSON.stringify(received_at)},"request_id":${JSON.stringify(request_id)}` +
      `${auth === undefined ? '' : `,"auth":${JSON.stringify(auth)}`}${producer === undefined ? '' : `,"producer":${JSON.stringify(producer)}`},"record":`;
    const exact = line.startsWith(head) && line.endsWith('}') ? line.slice(head.length, -1) : undefined;
    const recordText = exact !== undefined && isOneValue(exact) ? exact : JSON.stringify(record);
    rows.push(
      `${head}${recordText},"source_file":${JSON.stringify(source)},"file_row_number":${i + 1},"loaded_at":${JSON.stringify(loadedAt)}}`,
    );
  });
  return { rows, unreadable };
}

/** Whether the text is one JSON value: a record with `},"record":{` in it would be two members, not one. */
function isOneValue(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a Kinesis sequence number comes after a channel's committed offset token (none: everything
 * does). Sequence numbers are decimal strings of up to 128 bits, compared as numbers, never as text.
 *
 * @example
 * isAfterOffset('49590338271490256608559692538361571095921575989136588899', '9') // → true
 */
export function isAfterOffset(sequenceNumber: string, committed: string | undefined): boolean {
  return committed === undefined || BigInt(sequenceNumber) > BigInt(committed);
}
