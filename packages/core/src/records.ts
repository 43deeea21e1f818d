import * as z from './zod';
import { SCHEMA_DETAIL_MAX_CHARS, SCHEMA_DETAIL_RECORDS, type Contracts, type SchemaIssue, type SchemaRef } from './contracts';
import { buildEnvelope, type AuthKind } from './envelope';
import { RequestRejectedError } from './errors';
import { duplicateKey, scanJson, spanText, type JsonSpan } from './json-scan';
import { KINESIS_PARTITION_KEY_MAX_CHARS } from './limits';
import type { RejectionReason } from './reasons';
import {
  bodyFormat,
  decodeBody,
  decodeContentEncoding,
  receivedBody,
  type BodyFormat,
  type IncomingRequest,
  type ReceivedBody,
} from './request';
import type { Limits } from './limits';

/**
 * A record's `id`: a non-empty string (it becomes the Kinesis partition key,
 * so at most 256 characters) or a finite number.
 */
export const recordIdSchema = z.union([
  z.string().check(
    z.maxLength(KINESIS_PARTITION_KEY_MAX_CHARS),
    z.refine((s) => s.trim() !== '', 'id must not be empty or blank'),
  ),
  z.number().check(z.refine(Number.isFinite, 'id must be a finite number')),
]);

/** A valid record: an object with an `id`; everything else is free-form and kept as received. */
export const eventRecordSchema = z.looseObject({ id: recordIdSchema });
export type EventRecord = z.infer<typeof eventRecordSchema>;

export interface ValidationIssue {
  path: (string | number)[];
  message: string;
  /** For schema contracts: the JSON Schema keyword that failed, and where in the schema. */
  keyword?: string;
  schemaPath?: string;
}

export interface AcceptedRecord {
  index: number;
  partitionKey: string;
  /** The envelope, one line of JSON. */
  data: string;
  /** Bytes Kinesis counts against its limits: data + partition key. */
  bytes: number;
}

export interface RejectedRecord {
  index: number;
  reason: RejectionReason;
  message: string;
  issues: ValidationIssue[];
  /** The record's text exactly as received. */
  input: string;
  /** The contract it was checked against, for `schema_violation` (and `unknown_schema` when the type was known). */
  schema?: SchemaRef;
}

/** A record accepted in contract mode `warn` that `enforce` would have rejected. */
export interface RecordWarning {
  index: number;
  reason: 'schema_violation' | 'unknown_schema';
  message: string;
  issues: SchemaIssue[];
  schema?: SchemaRef;
}

export interface Assessment {
  requestId: string;
  receivedAt: string;
  auth: AuthKind | undefined;
  producer: string | undefined;
  contentType: string | undefined;
  format: BodyFormat | undefined;
  body: ReceivedBody;
  /** Set when the request as a whole is refused; then `accepted` and `rejected` are empty. */
  requestRejection: RequestRejectedError | undefined;
  accepted: AcceptedRecord[];
  rejected: RejectedRecord[];
  /** Contract mode `warn`: accepted records that do not meet their contract. */
  warnings: RecordWarning[];
}

/** One record of a request, split from its body but not yet judged. */
export interface Candidate {
  index: number;
  /** The record's text exactly as received (a span of the body, or an NDJSON line), for the quarantine. */
  raw: string;
  /** The same on one line, for the stream. */
  text: string;
  parsed: { ok: true; value: unknown } | { ok: false; message: string };
  span: JsonSpan | undefined;
  /**
   * Set by a reader whose records carry their id elsewhere (the Segment routes: `messageId`) when that id is
   * missing or wrong: judged where the id is, after the checks every record gets.
   */
  idRejection?: { reason: 'missing_id' | 'invalid_id' | 'invalid_type'; message: string } | undefined;
  /** The record's id, when such a reader found it valid elsewhere (`messageId`) and put it in the text as `"id"`. */
  id?: string | undefined;
}

/**
 * How a route reads a body: its media types, and how the decoded text splits into records. `POST /events`
 * reads JSON and NDJSON (`assessRequest`); the Segment routes read their own envelope (`segment.ts`).
 */
export interface BodyReader {
  /** Throws `RequestRejectedError` (415) for a `Content-Type` the route does not read. */
  format(contentType: string | undefined): BodyFormat;
  /**
   * Throws `RequestRejectedError` when the body as a whole cannot be split into records. `contracts` says
   * whether each candidate's parsed value will be checked against a schema (so must be the record's whole value).
   */
  split(text: string, format: BodyFormat, limits: Limits, contracts: Contracts | undefined): Candidate[];
}

const eventsReader: BodyReader = {
  format: bodyFormat,
  split: (text, format, limits) =>
    format === 'json' ? splitJson(text, limits.maxRecordsPerRequest) : splitNdjson(text, limits.maxRecordsPerRequest),
};

/**
 * Decides, for every record of a request, whether it is accepted (and what it
 * becomes on the stream) or rejected (and why). Never throws for bad input:
 * a request refused as a whole is reported in `requestRejection`.
 *
 * @example
 * const a = assessRequest(request, limits);
 * a.accepted.length; a.rejected.map((r) => r.reason); // e.g. 1, ['missing_id']
 *
 * With `contracts` (modes `warn` and `enforce`), a record with a valid id is
 * also checked against the schema of its type and version.
 */
export function assessRequest(request: IncomingRequest, limits: Limits, contracts?: Contracts): Assessment {
  return assessBody(request, limits, contracts, eventsReader);
}

/**
 * The assessment every route shares, with the route's own way of reading the body: decode (size, compression,
 * UTF-8), split into records with `reader`, then judge each record as `POST /events` does.
 */
export function assessBody(request: IncomingRequest, limits: Limits, contracts: Contracts | undefined, reader: BodyReader): Assessment {
  const body = receivedBody(request);
  const contentType = request.headers['content-type'];
  const assessment: Assessment = {
    requestId: request.requestId,
    receivedAt: request.receivedAt.toISOString(),
    auth: request.auth,
    producer: request.producer,
    contentType,
    format: undefined,
    body,
    requestRejection: undefined,
    accepted: [],
    rejected: [],
    warnings: [],
  };
  try {
    assessment.format = reader.format(contentType);
    const text = decodeBody(decodeContentEncoding(body, request.headers['content-encoding'], limits), limits);
    const candidates = reader.split(text, assessment.format, limits, contracts);
    if (candidates.length === 0) {
      throw new RequestRejectedError('empty_batch', 422, 'the batch holds no records');
    }
    // Every error is collected for the first few failing records only; the others keep their first (contracts.ts).
    const detail = { left: SCHEMA_DETAIL_RECORDS };
    for (const candidate of candidates) {
      const verdict = judge(candidate, assessment, limits, contracts, detail);
      if ('reason' in verdict) assessment.rejected.push(verdict);
      else assessment.accepted.push(verdict);
    }
  } catch (error) {
    if (!(error instanceof RequestRejectedError)) throw error;
    assessment.requestRejection = error;
    assessment.accepted = [];
    assessment.rejected = [];
    assessment.warnings = [];
  }
  return assessment;
}

export function tooMany(count: number, max: number, atLeast = false): RequestRejectedError {
  return new RequestRejectedError(
    'too_many_records',
    413,
    `${atLeast ? 'more than ' : ''}${count} records; the limit is ${max} per request`,
    {
      records: count,
    },
  );
}

/** Counts non-blank lines, stopping past `max`: a 4 MiB body of two-byte lines must not become two million strings. */
function countLines(text: string, max: number): number {
  let count = 0;
  let content = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a) {
      if (content && ++count > max) return count;
      content = false;
    } else if (!content && c !== 0x20 && c !== 0x09 && c !== 0x0d) {
      content = true;
    }
  }
  return content ? count + 1 : count;
}

function splitJson(text: string, maxRecords: number): Candidate[] {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new RequestRejectedError('malformed_json', 400, `body is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  // Refuse before scanning: the count is known from the parsed array.
  if (Array.isArray(value) && value.length > maxRecords) throw tooMany(value.length, maxRecords);
  const scan = scanJson(text);
  if (Array.isArray(value) && scan.elements && scan.elements.length === value.length) {
    return value.map((element, index) => {
      const span = scan.elements![index]!;
      return { index, raw: text.slice(span.start, span.end), text: spanText(text, span), parsed: { ok: true, value: element }, span };
    });
  }
  return [
    {
      index: 0,
      raw: text.slice(scan.top.start, scan.top.end),
      text: spanText(text, scan.top),
      parsed: { ok: true, value },
      span: scan.top,
    },
  ];
}

function splitNdjson(text: string, maxRecords: number): Candidate[] {
  const count = countLines(text, maxRecords);
  if (count > maxRecords) throw tooMany(count, maxRecords, true);
  const candidates: Candidate[] = [];
  for (const line of text.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '') continue;
    const index = candidates.length;
    // The quarantine keeps the line as received, less its terminator.
    const raw = line.endsWith('\r') ? line.slice(0, -1) : line;
    try {
      const value: unknown = JSON.parse(trimmed);
      const span = scanJson(trimmed).top;
      // A lone CR between tokens is JSON whitespace but would split the line downstream.
      candidates.push({ index, raw, text: spanText(trimmed, span), parsed: { ok: true, value }, span });
    } catch (cause) {
      candidates.push({
        index,
        raw,
        text: trimmed,
        parsed: { ok: false, message: `line is not valid JSON: ${(cause as Error).message}` },
        span: undefined,
      });
    }
  }
  return candidates;
}

function judge(
  candidate: Candidate,
  assessment: Assessment,
  limits: Limits,
  contracts: Contracts | undefined,
  detail: { left: number },
): AcceptedRecord | RejectedRecord {
  const { index, raw, text, parsed, span } = candidate;
  const reject = (reason: RejectionReason, message: string, issues: ValidationIssue[] = [], schema?: SchemaRef): RejectedRecord => ({
    index,
    reason,
    message,
    issues,
    input: raw,
    ...(schema ? { schema } : {}),
  });

  if (!parsed.ok) return reject('malformed_json', parsed.message);
  const value = parsed.value;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return reject('not_an_object', `record ${index} is ${describe(value)}, not a JSON object`);
  }
  if (span && span.depth > limits.maxDepth) {
    return reject('too_deep', `record ${index} nests ${span.depth} levels; the limit is ${limits.maxDepth}`);
  }
  if (span?.loneSurrogate) {
    return reject('invalid_unicode', `record ${index} has a \\u escape that is a lone surrogate, not Unicode text`);
  }
  // Before the id: with a repeated key, even the id may read differently on the stream and in the warehouse.
  const duplicate = span ? duplicateKey(text, value, span) : undefined;
  if (duplicate) {
    const at = jsonPath(duplicate.path);
    return reject('duplicate_key', `record ${index} repeats the key ${quoted(duplicate.key)} at ${at}`, [
      { path: duplicate.path, message: `duplicate key ${quoted(duplicate.key)}` },
    ]);
  }
  if (candidate.idRejection) return reject(candidate.idRejection.reason, candidate.idRejection.message);
  // Only `id` is read from the record, so no key can pollute a prototype. It is checked alone, with the issue paths
  // that `{ id }` would give: zod/mini's object schemas are not JIT-compiled as classic's are, and this runs per record.
  // A reader that has already checked the id (the Segment routes' messageId) passes it in.
  const result = candidate.id === undefined ? recordIdSchema.safeParse((value as { id?: unknown }).id) : undefined;
  if (result && !result.success) {
    const issues = result.error.issues.map((i) => ({
      path: ['id', ...i.path.map((p) => (typeof p === 'symbol' ? String(p) : p))],
      message: i.message,
    }));
    const id = Object.hasOwn(value, 'id') ? (value as { id: unknown }).id : undefined;
    return id === undefined || id === null
      ? reject('missing_id', `record ${index} has no id`, issues)
      : reject('invalid_id', `record ${index} has an invalid id: ${issues.map((i) => i.message).join('; ')}`, issues);
  }
  // The id as sent (a string is not trimmed), so that equal ids always share a shard.
  const partitionKey = candidate.id ?? String((value as { id: string | number }).id);
  const data = buildEnvelope(text, {
    receivedAt: assessment.receivedAt,
    requestId: assessment.requestId,
    auth: assessment.auth,
    producer: assessment.producer,
  });
  const bytes = Buffer.byteLength(data, 'utf8') + Buffer.byteLength(partitionKey, 'utf8');
  if (bytes > limits.maxRecordBytes) {
    return reject('record_too_large', `record ${index} is ${bytes} bytes on the stream; the limit is ${limits.maxRecordBytes}`);
  }
  // The contract last: only a record that could otherwise be taken is worth checking.
  const detailed = detail.left > 0 && raw.length <= SCHEMA_DETAIL_MAX_CHARS;
  const verdict = contracts?.check(value, detailed);
  if (verdict && !verdict.ok) {
    if (detailed) detail.left--;
    const message = `record ${index} ${verdict.message}`;
    if (contracts!.settings.mode === 'enforce') return reject(verdict.reason, message, verdict.issues, verdict.schema);
    assessment.warnings.push({
      index,
      reason: verdict.reason,
      message,
      issues: verdict.issues,
      ...(verdict.schema ? { schema: verdict.schema } : {}),
    });
  }
  return { index, partitionKey, data, bytes };
}

/** A key for a message: quoted, and cut short when long (the quarantine keeps the input whole). */
function quoted(key: string): string {
  return JSON.stringify(key.length > 64 ? `${key.slice(0, 64)}…` : key);
}

/** A JSON path for a message: `$.user.name`, `$.items[2]`, `$["a b"]`. */
function jsonPath(path: (string | number)[]): string {
  let out = '$';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][\w$]{0,63}$/.test(p)) out += `.${p}`;
    else out += `[${quoted(p)}]`;
  }
  return out;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}
