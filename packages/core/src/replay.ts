import type { Contracts } from './contracts';
import { RequestRejectedError } from './errors';
import { decodeContentEncoding } from './request';
import { scanJson, spanText } from './json-scan';
import type { QuarantineObject, QuarantinedInput } from './quarantine';
import type { RejectionReason } from './reasons';
import { assessRequest, type AcceptedRecord } from './records';
import type { Limits } from './limits';

/**
 * Replay of quarantined input: what a quarantine object holds that could be
 * sent again, and what the current rules (limits, contracts) say of it after
 * an optional fix. The tool that lists, marks and sends is `packages/replay`.
 */

/** One input of a quarantine object that replay considers: a rejected record, or a record of a body refused whole. */
export interface ReplayCandidate {
  /** Stable within its object: the record's index, or for a refused body its position in that body. */
  index: number;
  /** Why it was quarantined. */
  reason: RejectionReason;
  /** Its text as received; undefined when it cannot be recovered (see `unrecoverable`). */
  raw: string | undefined;
  /** Why the input cannot be replayed as it is (truncated in the quarantine, not UTF-8). A fix may still build a record from nothing. */
  unrecoverable?: string;
}

/** Where a replayed record came from, carried on the stream so that an interrupted replay can tell what Kinesis already has. */
export interface ReplayMarker {
  /** The replay run. */
  run: string;
  /** The quarantine object's key. */
  object: string;
  index: number;
}

export interface ReplayedRecord extends AcceptedRecord {
  /** The candidate's index in its quarantine object. */
  index: number;
}

export interface ReplayRejection {
  index: number;
  reason: RejectionReason;
  message: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * How far replay decompresses a quarantined body: 64 MiB, a bound on memory only.
 * The handler's `maxBodyBytes` and `maxInflateRatio` guard one request's Lambda;
 * replay judges such a body's records one by one and sends them in chunks, so only
 * the decoded size matters here (a larger body is reported, not replayed).
 */
export const REPLAY_MAX_DECODED_BYTES = 64 * 1_048_576;
const REPLAY_DECODE_LIMITS = { maxBodyBytes: REPLAY_MAX_DECODED_BYTES, maxInflateRatio: Number.POSITIVE_INFINITY } as Limits;

function inputText(input: QuarantinedInput, contentEncoding?: string): { text?: string; unrecoverable?: string } {
  if (input.truncated) return { unrecoverable: `truncated in the quarantine (${input.size} bytes, kept ${input.data.length})` };
  if (input.encoding === 'utf8' && contentEncoding === undefined) return { text: input.data };
  let bytes: Uint8Array = input.encoding === 'utf8' ? Buffer.from(input.data, 'utf8') : Buffer.from(input.data, 'base64');
  if (contentEncoding !== undefined) {
    try {
      bytes = decodeContentEncoding(bytes, contentEncoding, REPLAY_DECODE_LIMITS) as Uint8Array;
    } catch (error) {
      if (error instanceof RequestRejectedError && error.reason === 'body_too_large') {
        return {
          unrecoverable: `${contentEncoding} body that decompresses to more than ${REPLAY_MAX_DECODED_BYTES} bytes, replay's bound`,
        };
      }
      return { unrecoverable: `${contentEncoding} body that does not decompress (${(error as Error).message})` };
    }
  }
  try {
    return { text: utf8.decode(bytes) };
  } catch {
    return { unrecoverable: 'not UTF-8 text' };
  }
}

/**
 * The inputs of a quarantine object: each rejected record; or, for a body
 * refused whole (malformed, too many records, a wrong content type), its
 * records: the elements of a JSON array, the JSON value, or else its lines.
 *
 * @example
 * replayCandidates(object).map((c) => [c.index, c.reason]) // → [[1, 'missing_id'], [3, 'not_an_object']]
 */
export function replayCandidates(object: QuarantineObject): ReplayCandidate[] {
  if (!object.body) {
    return object.records.map((r) => {
      const { text, unrecoverable } = inputText(r.input);
      return { index: r.index, reason: r.reason, raw: text, ...(unrecoverable ? { unrecoverable } : {}) };
    });
  }
  const reason = object.reasons[0]!;
  const { text, unrecoverable } = inputText(object.body, object.headers['content-encoding']);
  if (text === undefined) return [{ index: 0, reason, raw: undefined, unrecoverable: unrecoverable! }];
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  let parsed: unknown;
  let parses = true;
  try {
    parsed = JSON.parse(body);
  } catch {
    parses = false;
  }
  if (parses) {
    const scan = scanJson(body);
    if (Array.isArray(parsed) && scan.elements)
      return scan.elements.map((span, index) => ({ index, reason, raw: body.slice(span.start, span.end) }));
    return [{ index: 0, reason, raw: body.slice(scan.top.start, scan.top.end) }];
  }
  return body
    .split('\n')
    .map((line) => (line.endsWith('\r') ? line.slice(0, -1) : line))
    .filter((line) => line.trim() !== '')
    .map((line, index) => ({ index, reason, raw: line }));
}

/** A record's text on one line, exactly as received otherwise; undefined when it is not JSON. */
function oneLine(raw: string): string | undefined {
  try {
    JSON.parse(raw);
  } catch {
    return undefined;
  }
  return spanText(raw, scanJson(raw).top);
}

/**
 * Judges replay inputs with today's rules, as the handler judges a request:
 * the same assessment (limits, id, contracts), with the original request's id
 * and receive time, so that a replayed row reads as the event it always was.
 * Each accepted record's envelope carries its `replay` marker.
 *
 * @example
 * const { accepted, rejected } = assessReplay(object, [{ index: 1, text: '{"id":"fixed"}' }], limits, contracts, 'run-1', key);
 */
export function assessReplay(
  object: Pick<QuarantineObject, 'request_id' | 'received_at' | 'auth' | 'producer'>,
  inputs: readonly { index: number; text: string }[],
  limits: Limits,
  contracts: Contracts | undefined,
  run: string,
  objectKey: string,
): { accepted: ReplayedRecord[]; rejected: ReplayRejection[] } {
  const accepted: ReplayedRecord[] = [];
  const rejected: ReplayRejection[] = [];
  const lines: { index: number; text: string }[] = [];
  for (const input of inputs) {
    const text = oneLine(input.text);
    if (text === undefined)
      rejected.push({ index: input.index, reason: 'malformed_json', message: `record ${input.index} is still not valid JSON` });
    else lines.push({ index: input.index, text });
  }
  // As NDJSON, one request's worth at a time: every line is judged on its own, as in a request.
  // Chunks within a request's limits, by count and by bytes: a fix may have grown the records, or the stage's
  // body limit may be lower than when they came; one record alone too large is still judged (record_too_large).
  const chunks: (typeof lines)[] = [];
  let bytes = 0;
  for (const line of lines) {
    const size = Buffer.byteLength(line.text, 'utf8') + 1;
    const last = chunks[chunks.length - 1];
    if (!last || last.length >= limits.maxRecordsPerRequest || bytes + size > limits.maxBodyBytes) {
      chunks.push([line]);
      bytes = size;
    } else {
      last.push(line);
      bytes += size;
    }
  }
  for (const chunk of chunks) {
    const assessment = assessRequest(
      {
        requestId: object.request_id,
        receivedAt: new Date(object.received_at),
        headers: { 'content-type': 'application/x-ndjson' },
        body: chunk.map((l) => l.text).join('\n'),
        isBase64Encoded: false,
        auth: object.auth,
        producer: object.producer,
      },
      limits,
      contracts,
    );
    if (assessment.requestRejection) {
      for (const l of chunk)
        rejected.push({ index: l.index, reason: assessment.requestRejection.reason, message: assessment.requestRejection.message });
      continue;
    }
    for (const r of assessment.rejected) {
      const index = chunk[r.index]!.index;
      rejected.push({ index, reason: r.reason, message: r.message.replace(/^record \d+/, `record ${index}`) });
    }
    for (const a of assessment.accepted) {
      const index = chunk[a.index]!.index;
      const marker: ReplayMarker = { run, object: objectKey, index };
      const data = withReplayMarker(a.data, marker);
      const bytes = Buffer.byteLength(data, 'utf8') + Buffer.byteLength(a.partitionKey, 'utf8');
      if (bytes > limits.maxRecordBytes) {
        rejected.push({
          index,
          reason: 'record_too_large',
          message: `record ${index} is ${bytes} bytes on the stream with its replay marker; the limit is ${limits.maxRecordBytes}`,
        });
      } else {
        accepted.push({ index, partitionKey: a.partitionKey, data, bytes });
      }
    }
  }
  accepted.sort((x, y) => x.index - y.index);
  rejected.sort((x, y) => x.index - y.index);
  return { accepted, rejected };
}

/** The envelope with `"replay":{…}` before `"record"`: Snowpipe's COPY reads only the other fields; the landing file keeps it. */
function withReplayMarker(envelope: string, marker: ReplayMarker): string {
  const at = envelope.indexOf(',"record":');
  return `${envelope.slice(0, at)},"replay":${JSON.stringify(marker)}${envelope.slice(at)}`;
}

/**
 * The text a replay marker has on the stream, to find a record there again
 * (an interrupted replay checks what Kinesis already holds).
 *
 * @example
 * replayMarkerText({ run: 'r', object: 'errors/x.json', index: 2 }) // → '"replay":{"run":"r","object":"errors/x.json","index":2}'
 */
export function replayMarkerText(marker: ReplayMarker): string {
  return `"replay":${JSON.stringify({ run: marker.run, object: marker.object, index: marker.index })}`;
}

/**
 * The replay marker text of one envelope (one line of a Kinesis record, packed
 * or not), or undefined when it has none. Only the envelope's head, before
 * `"record"`, is read: the payload may hold any text, a marker's included.
 * (Inside a JSON string every quote is escaped, so `,"record":` first appears
 * where the envelope's own field begins.)
 *
 * @example
 * replayMarkerOf('{"received_at":"…","request_id":"r","replay":{"run":"x","object":"k","index":0},"record":{"id":1}}')
 * // → '"replay":{"run":"x","object":"k","index":0}'
 */
export function replayMarkerOf(envelope: string): string | undefined {
  const head = envelope.indexOf(',"record":');
  if (head === -1) return undefined;
  const at = envelope.lastIndexOf(',"replay":', head);
  return at === -1 ? undefined : envelope.slice(at + 1, head);
}
