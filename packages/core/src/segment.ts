import type { Contracts } from './contracts';
import { RequestRejectedError } from './errors';
import { duplicateKey, scanJson, spanText, type JsonScan, type JsonSpan } from './json-scan';
import { KINESIS_PARTITION_KEY_MAX_CHARS, type Limits } from './limits';
import { assessBody, tooMany, type Assessment, type BodyReader, type Candidate } from './records';
import { bodyFormat, type BodyFormat, type IncomingRequest, type ReceivedBody } from './request';
import { responseOf, statusOf, type IngestResponse } from './response';

/**
 * Segment's tracking API (https://segment.com/docs/connections/sources/catalog/libraries/server/http-api/),
 * as the Segment and RudderStack SDKs send it, read into the records `POST /events` takes: each message is one
 * record, its `messageId` is the record's `id`, and it goes through the same assessment, quarantine and delivery.
 *
 * What a message becomes (docs/SEGMENT.md): its own text exactly as received, members in order, then the
 * members Snowgate adds, appended in this order, each only when the message lacks it:
 * `"id"` (its `messageId`), `"type"` (the call of a single-call route), `"context"` and `"integrations"`
 * (the batch's, exactly as received; a message's own wins whole).
 */

/** The calls of the tracking spec, each with its single-call route `POST /v1/<call>`. */
export const SEGMENT_CALLS = ['track', 'identify', 'page', 'screen', 'group', 'alias'] as const;
export type SegmentCall = (typeof SEGMENT_CALLS)[number];

/** What a Segment route takes: a batch (`POST /v1/batch`) or one message of a call. */
export type SegmentRoute = 'batch' | SegmentCall;

/**
 * The route keys the API serves for the Segment-shaped SDKs, and the route each names: the tracking API
 * (`POST /v1/batch`, `POST /v1/track`, …, as the server SDKs and RudderStack's browser XHR transport send);
 * Segment's analytics.js in the browser, which posts each call to its initial (`/v1/t`, `/v1/p`, …) and a
 * batch to `/v1/b`; RudderStack's browser beacon transport (`/beacon/v1/batch?writeKey=…`).
 */
export const SEGMENT_ROUTE_KEYS: Readonly<Record<string, SegmentRoute>> = Object.fromEntries([
  ...(['batch', ...SEGMENT_CALLS] as const).map((route) => [`POST /v1/${route}`, route]),
  ...SEGMENT_CALLS.map((call) => [`POST /v1/${call.charAt(0)}`, call]),
  ['POST /v1/b', 'batch'],
  ['POST /beacon/v1/batch', 'batch'],
]);

/** Segment's analytics.js posts its own metrics here (`{series: […]}`): answered 200, never stored as events. */
export const SEGMENT_METRICS_ROUTE_KEY = 'POST /v1/m';

/** Where analytics.js fetches its settings unless given `cdnSettings` (its `cdnURL`, by default Segment's CDN). */
export const SEGMENT_SETTINGS_ROUTE_KEY = 'GET /v1/projects/{writeKey}/settings';

/**
 * The settings analytics.js loads (`GET /v1/projects/{writeKey}/settings`), so that a page needs no vendor CDN:
 * one integration, Segment.io, whose API host is this API (`host/v1`, as the SDK wants it: no scheme), and its
 * own metrics off.
 *
 * @example
 * segmentSettings('sg_…', 'api.example.com', 'https').integrations['Segment.io'].apiHost // → 'api.example.com/v1'
 */
export function segmentSettings(writeKey: string, host: string, protocol: 'http' | 'https') {
  return {
    integrations: {
      'Segment.io': { apiKey: writeKey, apiHost: `${host}/v1`, protocol, unbundledIntegrations: [], addBundledMetadata: false },
    },
    plan: {
      track: { __default: { enabled: true, integrations: {} } },
      identify: { __default: { enabled: true } },
      group: { __default: { enabled: true } },
    },
    metrics: { sampleRate: 0 },
    middlewareSettings: {},
    enabledMiddleware: {},
    legacyVideoPluginsEnabled: false,
    remotePlugins: [],
  };
}

/**
 * The Segment route of an API Gateway route key, or undefined for any other route.
 *
 * @example
 * segmentRouteOf('POST /v1/batch') // → 'batch'
 * segmentRouteOf('POST /events')   // → undefined
 */
export function segmentRouteOf(routeKey: string | undefined): SegmentRoute | undefined {
  return routeKey === undefined ? undefined : SEGMENT_ROUTE_KEYS[routeKey];
}

const FORM_URLENCODED = 'application/x-www-form-urlencoded';

/**
 * The media types of the Segment routes: JSON, as Segment's SDKs label it, `text/plain`, as the browser SDKs
 * label it, and `application/x-www-form-urlencoded`, which is how RudderStack's Node SDK labels its gzipped JSON
 * (axios posting a buffer); the body is read as JSON either way. Nothing else, and NDJSON neither.
 *
 * @example
 * segmentBodyFormat('application/x-www-form-urlencoded') // → 'json'
 */
export function segmentBodyFormat(contentType: string | undefined): BodyFormat {
  const [type = '', ...params] = (contentType ?? '').split(';').map((p) => p.trim().toLowerCase());
  // `text/plain`: what analytics.js and RudderStack's beacons send, so that a page's request needs no preflight.
  if ((type === FORM_URLENCODED || type === 'text/plain') && !contentType!.includes(',')) {
    for (const param of params) {
      const [name = '', raw = ''] = param.split('=').map((p) => p.trim());
      const charset = raw.replace(/^"|"$/g, '');
      if (name === 'charset' && charset !== 'utf-8' && charset !== 'utf8') {
        throw new RequestRejectedError('unsupported_encoding', 415, `charset ${charset} is not supported: send UTF-8`);
      }
    }
    return 'json';
  }
  let format: BodyFormat;
  try {
    format = bodyFormat(contentType);
  } catch (error) {
    if (error instanceof RequestRejectedError && error.reason === 'unsupported_media_type') throw unsupported(contentType);
    throw error;
  }
  if (format !== 'json') throw unsupported(contentType);
  return format;
}

function unsupported(contentType: string | undefined): RequestRejectedError {
  return new RequestRejectedError(
    'unsupported_media_type',
    415,
    `${contentType ? `Content-Type ${contentType} is` : 'a Content-Type is required:'} not supported on the Segment routes: use application/json (or text/plain)`,
  );
}

/** A member of a JSON object's text: its key, unescaped, and where its value is. */
interface Member {
  key: string;
  /** Where the member begins (its key's opening quote). */
  keyStart: number;
  start: number;
  end: number;
}

/**
 * The members of the JSON object at `text[start]` (text `JSON.parse` has accepted), in order, repeats included,
 * and the scan of the value of `scanned` (the batch array), made on the way: the body is walked once.
 */
function objectMembers(text: string, start: number, scanned: string): { members: Member[]; scan: JsonScan | undefined } {
  const members: Member[] = [];
  let scan: JsonScan | undefined;
  let i = start + 1;
  const n = text.length;
  const skipWhitespace = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) break;
      i++;
    }
  };
  /** From an opening quote, past its closing one; whether it holds an escape. */
  const skipString = () => {
    let escaped = false;
    for (i++; i < n; i++) {
      const c = text.charCodeAt(i);
      if (c === 0x5c) {
        escaped = true;
        i++;
      } else if (c === 0x22) break;
    }
    i++;
    return escaped;
  };
  for (;;) {
    skipWhitespace();
    if (text.charCodeAt(i) === 0x7d) return { members, scan }; // `}`: the object ends (or is empty)
    const keyStart = i;
    const escaped = skipString();
    const key = escaped ? (JSON.parse(text.slice(keyStart, i)) as string) : text.slice(keyStart + 1, i - 1);
    skipWhitespace();
    i++; // the colon
    skipWhitespace();
    const valueStart = i;
    let last = i;
    const c0 = text.charCodeAt(i);
    if (key === scanned && scan === undefined && (c0 === 0x5b || c0 === 0x7b)) {
      scan = scanJson(text, i);
      i = scan.top.end;
      last = i - 1;
    } else {
      let depth = 0;
      while (i < n) {
        const c = text.charCodeAt(i);
        if (c === 0x22) {
          skipString();
          last = i - 1;
          continue;
        }
        if (depth === 0 && (c === 0x2c || c === 0x7d)) break;
        if (c === 0x7b || c === 0x5b) depth++;
        else if (c === 0x7d || c === 0x5d) depth--;
        if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) last = i;
        i++;
      }
    }
    members.push({ key, keyStart, start: valueStart, end: last + 1 });
    skipWhitespace();
    if (text.charCodeAt(i) === 0x2c) i++;
  }
}

/** A member Snowgate appends to a message: its text (`"key":value`), and the scan of its value. */
interface Addition {
  key: string;
  value: unknown;
  text: string;
  span: Pick<JsonSpan, 'depth' | 'members' | 'loneSurrogate'>;
}

/** A batch-level `context` or `integrations`, once per request: its exact text (one line) and its scan. */
function batchLevel(text: string, member: Member | undefined, value: unknown, key: string): Addition | undefined {
  if (member === undefined) return undefined;
  const valueText = text.slice(member.start, member.end);
  const span = scanJson(valueText).top;
  return { key, value, text: `"${key}":${spanText(valueText, span)}`, span };
}

/** A message refused for its id or type: judged where the id is, after the checks every record gets. */
function refused(
  index: number,
  raw: string,
  text: string,
  span: JsonSpan,
  value: unknown,
  reason: 'missing_id' | 'invalid_id' | 'invalid_type',
  why: string,
): Candidate {
  return { index, raw, text, parsed: { ok: true, value }, span, idRejection: { reason, message: `message ${index} ${why}` } };
}

/**
 * Turns one message into a candidate record: reads its `messageId` and appends the members Snowgate adds
 * (see the top of this file). `raw` is the message exactly as received (a span of the body), kept for the
 * quarantine; `span` its scan. With `whole`, the parsed value gets the added members too (schema contracts
 * check it); otherwise it stays the message as parsed, and the text alone has them.
 */
function messageCandidate(
  index: number,
  received: string,
  scanned: JsonSpan,
  value: unknown,
  route: SegmentRoute,
  batchMembers: Addition[],
  whole: boolean,
): Candidate {
  let raw = received;
  let text = scanned.lineBreak ? raw.replace(/[\r\n]/g, '') : raw;
  const span: JsonSpan = { ...scanned, start: 0, end: text.length, lineBreak: false };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { index, raw, text, parsed: { ok: true, value }, span }; // not_an_object, as on /events
  }
  const message = value as Record<string, unknown>;
  // analytics.js repeats the write key in each message: it is a credential, not an event's data, so it lands
  // neither in the table (the text loses the member) nor in the quarantine (the raw message keeps it redacted).
  if (Object.hasOwn(message, 'writeKey')) {
    const stripped = withoutMember(text, 'writeKey');
    text = stripped.text;
    span.end = text.length;
    span.members -= stripped.removed;
    delete message.writeKey;
    raw = redactWriteKey(raw) as string;
  }
  const messageId = Object.hasOwn(message, 'messageId') ? message.messageId : undefined;
  if (messageId === undefined || messageId === null) return refused(index, raw, text, span, value, 'missing_id', 'has no messageId');
  if (typeof messageId !== 'string') {
    return refused(index, raw, text, span, value, 'invalid_id', `has a messageId that is ${typeof messageId}, not a string`);
  }
  if (messageId.trim() === '') return refused(index, raw, text, span, value, 'invalid_id', 'has an empty messageId');
  if (messageId.length > KINESIS_PARTITION_KEY_MAX_CHARS) {
    const why = `has a messageId of ${messageId.length} characters; the limit is ${KINESIS_PARTITION_KEY_MAX_CHARS}`;
    return refused(index, raw, text, span, value, 'invalid_id', why);
  }
  if (Object.hasOwn(message, 'id') && message.id !== messageId) {
    const why = 'has an id that is not its messageId (a message is identified by its messageId)';
    return refused(index, raw, text, span, value, 'invalid_id', why);
  }
  const addType = route !== 'batch' && !Object.hasOwn(message, 'type');
  if (route !== 'batch' && !addType && message.type !== route) {
    const why = `has type ${JSON.stringify(message.type)} but was posted to /v1/${route}`;
    return refused(index, raw, text, span, value, 'invalid_type', why);
  }

  // Appended before the closing brace: the message's own members stay exactly as they came. A message that
  // reaches here has a messageId, so at least one member: each added one follows a comma.
  let added = '';
  const addId = !Object.hasOwn(message, 'id');
  if (addId) {
    added += `,"id":${JSON.stringify(messageId)}`;
    if (whole) message.id = messageId;
  }
  if (addType) {
    added += `,"type":"${route}"`;
    if (whole) message.type = route;
  }
  for (const a of batchMembers) {
    if (Object.hasOwn(message, a.key)) continue;
    added += `,${a.text}`;
    if (a.span.depth + 1 > span.depth) span.depth = a.span.depth + 1;
    span.loneSurrogate ||= a.span.loneSurrogate;
    // Counted only when the value has them: the duplicate-key check compares the two counts. (The batch's
    // own members were checked for repeats once, for the request.)
    if (whole) {
      message[a.key] = a.value; // read-only from here on: the batch's context is one object shared by its messages
      span.members += 1 + a.span.members;
    }
  }
  if (whole) span.members += (addId ? 1 : 0) + (addType ? 1 : 0);
  if (added === '') return { index, raw, text, parsed: { ok: true, value }, span, id: messageId };
  const merged = `${text.slice(0, -1)}${added}}`;
  span.end = merged.length;
  return { index, raw, text: merged, parsed: { ok: true, value }, span, id: messageId };
}

/** The text of a JSON object (one `JSON.parse` has accepted) without its members named `key`, and how many it had. */
function withoutMember(text: string, key: string): { text: string; removed: number } {
  const { members } = objectMembers(text, 0, '');
  let out = text;
  let removed = 0;
  for (let i = members.length - 1; i >= 0; i--) {
    const m = members[i]!;
    if (m.key !== key) continue;
    // With the comma before it (from the previous value's end), or, for the first member, the one after it.
    const [from, to] = i > 0 ? [members[i - 1]!.end, m.end] : [m.keyStart, members[i + 1]?.keyStart ?? m.end];
    out = out.slice(0, from) + out.slice(to);
    removed++;
  }
  return { text: out, removed };
}

function readerFor(route: SegmentRoute): BodyReader {
  return {
    format: segmentBodyFormat,
    split(text, _format, limits, contracts) {
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (cause) {
        throw new RequestRejectedError('malformed_json', 400, `body is not valid JSON: ${(cause as Error).message}`, { cause });
      }
      if (route !== 'batch') {
        const top = scanJson(text).top;
        return [messageCandidate(0, text.slice(top.start, top.end), top, value, route, [], contracts !== undefined)];
      }

      if (typeof value !== 'object' || value === null || Array.isArray(value) || !Array.isArray((value as { batch?: unknown }).batch)) {
        throw new RequestRejectedError('invalid_batch', 422, 'the body of /v1/batch must be an object with a "batch" array of messages');
      }
      // One walk of the body: its members, and the batch array's elements on the way.
      const { members, scan } = objectMembers(text, text.search(/\S/), 'batch');
      const seen = new Set<string>();
      for (const m of members) {
        if (seen.has(m.key)) {
          throw new RequestRejectedError(
            'duplicate_key',
            422,
            `the batch repeats the key ${JSON.stringify(m.key.slice(0, 64))} at $.${m.key}`,
          );
        }
        seen.add(m.key);
      }
      const batch = (value as { batch: unknown[] }).batch;
      if (batch.length > limits.maxRecordsPerRequest) throw tooMany(batch.length, limits.maxRecordsPerRequest);
      if (batch.length === 0) throw new RequestRejectedError('empty_batch', 422, 'the batch holds no messages');
      const byKey = new Map(members.map((m) => [m.key, m]));
      const batchMembers = [
        batchLevel(text, byKey.get('context'), (value as { context?: unknown }).context, 'context'),
        batchLevel(text, byKey.get('integrations'), (value as { integrations?: unknown }).integrations, 'integrations'),
      ].filter((a): a is Addition => a !== undefined);
      for (const a of batchMembers) {
        const repeated = duplicateKey(a.text.slice(a.key.length + 3), a.value, a.span);
        if (repeated) {
          const at = ['', a.key, ...repeated.path].join('.');
          throw new RequestRejectedError(
            'duplicate_key',
            422,
            `the batch repeats the key ${JSON.stringify(repeated.key.slice(0, 64))} at $${at}`,
          );
        }
      }
      const elements = scan!.elements!;
      return batch.map((message, index) => {
        const span = elements[index]!;
        return messageCandidate(index, text.slice(span.start, span.end), span, message, route, batchMembers, contracts !== undefined);
      });
    },
  };
}

const READERS = Object.fromEntries((['batch', ...SEGMENT_CALLS] as const).map((r) => [r, readerFor(r)])) as Record<
  SegmentRoute,
  BodyReader
>;

/**
 * `POST /v1/batch` and `POST /v1/<call>`: a Segment body assessed message by message, as `assessRequest`
 * assesses a `POST /events` body. A request refused as a whole keeps its body in the quarantine with any
 * `"writeKey"` value (Segment's SDKs repeat the key in the body) replaced by `"[redacted]"`.
 *
 * @example
 * const a = assessSegmentRequest(request, 'batch', limits);
 * a.accepted.length; a.rejected.map((r) => r.reason); // e.g. 99, ['missing_id']
 */
export function assessSegmentRequest(request: IncomingRequest, route: SegmentRoute, limits: Limits, contracts?: Contracts): Assessment {
  const assessment = assessBody(request, limits, contracts, READERS[route]);
  if (assessment.requestRejection && !isEncoded(request)) assessment.body = redactWriteKey(assessment.body);
  return assessment;
}

function isEncoded(request: IncomingRequest): boolean {
  return (request.headers['content-encoding'] ?? '').split(',').some((c) => c.trim() !== '' && c.trim().toLowerCase() !== 'identity');
}

const WRITE_KEY = /"writeKey"\s*:\s*"(?:[^"\\]|\\.)*"/g;
const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * A body with every `"writeKey": "…"` member's value replaced, so that no key reaches the quarantine.
 *
 * @example
 * redactWriteKey('{"batch":[],"writeKey":"sg_x"}') // → '{"batch":[],"writeKey":"[redacted]"}'
 */
export function redactWriteKey(body: ReceivedBody): ReceivedBody {
  let text: string;
  try {
    text = typeof body === 'string' ? body : utf8.decode(body);
  } catch {
    return body; // not UTF-8: not JSON either, and no key in the JSON sense
  }
  if (!text.includes('"writeKey"')) return body;
  return text.replace(WRITE_KEY, '"writeKey":"[redacted]"');
}

/**
 * The status of a Segment route: 200 once every accepted message is durable, also when some were
 * quarantined (the SDKs read no per-message errors, and would resend the batch on anything else);
 * otherwise what `POST /events` answers (400, 413, 415, 422).
 *
 * @example
 * segmentStatusOf(assessmentWithSomeRejected) // → 200
 */
export function segmentStatusOf(assessment: Assessment): 200 | 400 | 413 | 415 | 422 {
  const status = statusOf(assessment);
  return status === 202 || status === 207 ? 200 : status;
}

/** The answer's body: `success` (as Segment's API answers), then the same fields as on `POST /events`. */
export type SegmentResponse = { success: boolean } & IngestResponse;

export function segmentResponseOf(assessment: Assessment): SegmentResponse {
  return { success: segmentStatusOf(assessment) === 200, ...responseOf(assessment) };
}

/**
 * The write key of an `Authorization: Basic` header, as the Segment and RudderStack SDKs send it: the key is
 * the user name, the password empty (and ignored). Undefined when the header is absent, not Basic, or not
 * base64 of `user:password`.
 *
 * @example
 * writeKeyOfBasicAuth('Basic ' + btoa('sg_k3x9…_…:')) // → 'sg_k3x9…_…'
 */
export function writeKeyOfBasicAuth(authorization: string | undefined): string | undefined {
  const match = /^\s*basic\s+([A-Za-z0-9+/=_-]+)\s*$/i.exec(authorization ?? '');
  if (!match) return undefined;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  const user = decoded.slice(0, colon);
  return user === '' ? undefined : user;
}

/**
 * The write key a browser SDK's request carries, wherever it can be seen: `Authorization: Basic` (Segment's
 * analytics.js from 1.84, RudderStack's XHR transport, the server SDKs), else the `writeKey` query parameter
 * (RudderStack's beacons, which can send no header), else the body's top-level `"writeKey"` (analytics.js
 * before 1.84). Undefined when none has one; a compressed or non-UTF-8 body is not looked into.
 *
 * @example
 * presentedWriteKey({ headers: {}, query: { writeKey: 'sg_…' }, body: '{}' }) // → 'sg_…'
 */
export function presentedWriteKey(request: {
  headers: Readonly<Record<string, string | undefined>>;
  query?: Readonly<Record<string, string | undefined>> | undefined;
  body?: string | undefined;
  isBase64Encoded?: boolean | undefined;
}): string | undefined {
  const fromHeader = writeKeyOfBasicAuth(request.headers.authorization);
  if (fromHeader) return fromHeader;
  const fromQuery = request.query?.writeKey;
  if (fromQuery) return fromQuery;
  if (!request.body || request.isBase64Encoded || !request.body.includes('"writeKey"')) return undefined;
  try {
    const value = JSON.parse(request.body) as unknown;
    const key =
      typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as { writeKey?: unknown }).writeKey : undefined;
    return typeof key === 'string' && key !== '' ? key : undefined;
  } catch {
    return undefined;
  }
}
