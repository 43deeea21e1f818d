import { randomUUID } from 'node:crypto';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { type BackoffSettings, backoffMs, DEFAULT_BACKOFF, parseRetryAfter, streamingRetryVerdict } from './retry.js';
import { DEFAULT_USER_AGENT, type TokenSource } from './sql-api.js';

/**
 * A client for Snowpipe Streaming's REST API (high-performance architecture): it
 * finds the account's ingest host, trades the key-pair JWT for a scoped token,
 * opens channels on one pipe and appends rows to them in order, with offset tokens.
 *
 * Sources (paths, fields, headers, codes):
 * - REST reference: https://docs.snowflake.com/en/user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-rest-api
 * - Tutorial (the calls as curl makes them; plain-text hostname and token; underscores in the ingest host):
 *   https://docs.snowflake.com/en/user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-rest-tutorial
 * - Limits: https://docs.snowflake.com/en/user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-limitations
 * - Channel errors: https://docs.snowflake.com/en/user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-error-handling
 */

export const STREAMING_HOSTNAME_PATH = '/v2/streaming/hostname';
export const OAUTH_TOKEN_PATH = '/oauth/token';
/** The scoped-token exchange's `grant_type` (REST reference, Exchange Scoped Token). */
export const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * "REST payload limit: 4 MB per request (the payload size sent over the network, after compression if used)",
 * a hard cap (limitations page). MB read as 10^6 bytes, the smaller reading.
 */
export const MAX_REQUEST_WIRE_BYTES = 4_000_000;
/** "The maximum allowed size for a single request payload is 16 MB" (REST reference, Request headers): the NDJSON before gzip. */
export const MAX_REQUEST_UNCOMPRESSED_BYTES = 16_000_000;
/**
 * The docs name no per-row limit for the high-performance architecture; the reference gives the `rows`
 * attribute "a maximum allowed size ... of 4 MB". We refuse a single row (its JSON and newline) over that,
 * so that a row never needs more than one request, whatever compression does to it.
 */
export const MAX_ROW_BYTES = 4_000_000;
/** Renew the scoped token this long after it was issued. Its lifetime is not documented; the service answers 401 when it lapses, which also renews it. */
export const SCOPED_TOKEN_RENEW_MS = 30 * 60_000;

/**
 * Codes after which the channel must be reopened (error-handling page, "Client-side error handling and
 * required actions"; STALE_CONTINUATION_TOKEN_SEQUENCER is the REST reference's own example). Matched by code,
 * never by HTTP status, which the docs do not give.
 */
export const REOPEN_CHANNEL_CODES: ReadonlySet<string> = new Set([
  'STALE_CONTINUATION_TOKEN_SEQUENCER',
  'ERR_CHANNEL_MUST_BE_REOPENED',
  'ERR_CHANNEL_MUST_BE_REOPENED_DUE_TO_ROW_SEQ_GAP',
  'ERR_CHANNEL_HAS_INVALID_ROW_SEQUENCER',
  'ERR_CHANNEL_HAS_INVALID_CLIENT_SEQUENCER',
  'ERR_CHANNEL_DOES_NOT_EXIST_OR_IS_NOT_AUTHORIZED',
]);

/** Something the streaming API refused or could not do; never carries a token. */
export class StreamingApiError extends Error {
  override name = 'StreamingApiError';
  constructor(
    message: string,
    readonly status: number | undefined,
    readonly code: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** A row whose NDJSON line (as sent: its text, or its object's JSON, and newline) is over {@link MAX_ROW_BYTES}: refused before anything is sent. */
export class StreamingRowTooLargeError extends Error {
  override name = 'StreamingRowTooLargeError';
  constructor(
    readonly batchIndex: number,
    readonly rowIndex: number,
    readonly bytes: number,
    readonly limit: number,
    readonly offsetToken: string | undefined,
  ) {
    super(
      `row ${rowIndex} of batch ${batchIndex}${offsetToken ? ` (offset token ${offsetToken})` : ''} is ${bytes} bytes as NDJSON; ` +
        `Snowpipe Streaming takes at most ${limit} bytes in a row`,
    );
  }
}

/**
 * A row: an object, serialized here with `JSON.stringify`, or the JSON text of an object, sent as its NDJSON
 * line unchanged. Text keeps what a parse would lose (integers beyond double precision, key order, escapes);
 * the caller vouches that it is one JSON object, and it must hold no line break (it is one NDJSON line).
 */
export type StreamingRow = Record<string, unknown> | string;

/** Rows whose offset token becomes the channel's committed offset once all of them are committed. */
export interface AppendBatch {
  rows: StreamingRow[];
  /** E.g. the Kinesis sequence number of the record the rows came from. */
  offsetToken?: string | undefined;
}

/** One channel as the service describes it (`channel_status`, or one entry of `channel_statuses`). */
export interface ChannelStatus {
  channel: string;
  /** E.g. `ACTIVE`. */
  statusCode: string | undefined;
  /** `last_committed_offset_token`: undefined before anything with an offset token was committed. */
  committedOffsetToken: string | undefined;
  rowsInserted: number | undefined;
  rowsParsed: number | undefined;
  /** `rows_error_count` at open, `rows_errors` in the bulk status (the reference names it both ways). */
  rowsErrorCount: number | undefined;
  lastErrorMessage: string | undefined;
}

export type AppendOutcome =
  /** Every row was accepted, in order; `offsetToken` is the last batch's. Committed a little later: see `waitForCommit`. */
  | { status: 'appended'; requests: number; offsetToken: string | undefined }
  /**
   * The service refused the channel's continuation token (stale, or the channel was invalidated or dropped);
   * the client reopened the channel. Rows up to `committedOffsetToken` are in; the caller resends what follows.
   */
  | { status: 'reopened'; code: string; committedOffsetToken: string | undefined; requests: number };

export interface StreamingClientOptions {
  /** The account URL, `https://<account>.snowflakecomputing.com` (the control host), or a fake's URL in tests. */
  baseUrl: string;
  /** The key-pair JWT (`JwtSource`): for the hostname and the token exchange. */
  auth: TokenSource;
  /** The pipe every channel of this client belongs to. */
  database: string;
  schema: string;
  pipe: string;
  userAgent?: string;
  /** Retries of 429 / 5xx / no answer (see `streamingRetryVerdict`). */
  backoff?: Partial<BackoffSettings>;
  requestTimeoutMs?: number;
  scopedTokenRenewMs?: number;
  /** Smaller limits than Snowflake's, for tests of the splitting; never larger. */
  limits?: Partial<StreamingLimits>;
  fetch?: typeof fetch;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface StreamingLimits {
  maxRowBytes: number;
  maxRequestUncompressedBytes: number;
  maxRequestWireBytes: number;
}

interface Answer {
  status: number;
  text: string;
  retryAfterMs: number | undefined;
}

type Auth = 'jwt' | 'scoped';
const gzipAsync = promisify(gzip);

/**
 * One instance per (account, pipe), kept across Lambda invocations: it caches the ingest host, the scoped
 * token and each open channel's continuation token. Calls on one channel must not overlap (the continuation
 * token orders them); different channels may run at once.
 *
 * @example
 * const client = new SnowpipeStreamingClient({ baseUrl, auth: new JwtSource(credentials), database: 'SNOWGATE', schema: 'RAW', pipe: 'RAW_EVENTS_STREAMING_PIPE' });
 * const { committedOffsetToken } = await client.openChannel('snowgate-shardId-000000000000');
 * await client.append('snowgate-shardId-000000000000', [{ rows: [{ request_id: 'r1' }], offsetToken: '4959…' }]);
 * // → { status: 'appended', requests: 1, offsetToken: '4959…' }
 */
export class SnowpipeStreamingClient {
  readonly #base: URL;
  readonly #auth: TokenSource;
  readonly #pipePath: string;
  readonly #userAgent: string;
  readonly #backoff: BackoffSettings;
  readonly #requestTimeoutMs: number;
  readonly #scopedTokenRenewMs: number;
  readonly #limits: StreamingLimits;
  readonly #fetch: typeof fetch;
  readonly #now: () => number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #random: () => number;
  #ingest: URL | undefined;
  #scoped: { token: string; renewAtMs: number } | undefined;
  readonly #continuation = new Map<string, string>();

  constructor(options: StreamingClientOptions) {
    this.#base = new URL(options.baseUrl);
    this.#auth = options.auth;
    const segment = (name: string) => encodeURIComponent(name);
    this.#pipePath = `databases/${segment(options.database)}/schemas/${segment(options.schema)}/pipes/${segment(options.pipe)}`;
    this.#userAgent = options.userAgent ?? DEFAULT_USER_AGENT;
    this.#backoff = { ...DEFAULT_BACKOFF, ...options.backoff };
    this.#requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    this.#scopedTokenRenewMs = options.scopedTokenRenewMs ?? SCOPED_TOKEN_RENEW_MS;
    this.#limits = {
      maxRowBytes: Math.min(options.limits?.maxRowBytes ?? MAX_ROW_BYTES, MAX_ROW_BYTES),
      maxRequestUncompressedBytes: Math.min(
        options.limits?.maxRequestUncompressedBytes ?? MAX_REQUEST_UNCOMPRESSED_BYTES,
        MAX_REQUEST_UNCOMPRESSED_BYTES,
      ),
      maxRequestWireBytes: Math.min(options.limits?.maxRequestWireBytes ?? MAX_REQUEST_WIRE_BYTES, MAX_REQUEST_WIRE_BYTES),
    };
    this.#fetch = options.fetch ?? fetch;
    this.#now = options.now ?? Date.now;
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#random = options.random ?? Math.random;
  }

  /**
   * Opens the channel (creating it if new; reopening bumps its client sequencer, so that an older holder's
   * continuation token goes stale) and answers its status, with the committed offset token to resume after.
   * `offsetToken` sets the channel's offset token at open (REST reference, Open Channel).
   */
  async openChannel(channel: string, { offsetToken }: { offsetToken?: string } = {}): Promise<ChannelStatus> {
    const answer = await this.#send('PUT', await this.#channelUrl(channel), {
      auth: 'scoped',
      contentType: 'application/json',
      body: JSON.stringify(offsetToken === undefined ? {} : { offset_token: offsetToken }),
    });
    if (answer.status !== 200) throw failure('PUT channel', answer);
    const body = parseJson(answer.text) as { next_continuation_token?: unknown; channel_status?: Record<string, unknown> } | undefined;
    if (typeof body?.next_continuation_token !== 'string') {
      throw new StreamingApiError('open channel: the answer has no next_continuation_token', 200, undefined);
    }
    this.#continuation.set(channel, body.next_continuation_token);
    return toStatus(channel, body.channel_status ?? {});
  }

  /**
   * Appends the batches, in order, NDJSON and gzip, in as few requests as the limits allow. A batch is never
   * split between requests unless it alone is over the limit; each request carries the offset token of the
   * last batch it completes, so the committed offset never names a batch that is only partly in.
   * A row over {@link MAX_ROW_BYTES} is refused before anything is sent.
   */
  async append(channel: string, batches: AppendBatch[]): Promise<AppendOutcome> {
    if (!this.#continuation.has(channel)) throw new Error(`channel ${channel} is not open: call openChannel first`);
    const requests = planRequests(batches, this.#limits);
    let sent = 0;
    let lastOffset: string | undefined;
    const queue = [...requests];
    while (queue.length > 0) {
      const request = queue.shift()!;
      const body = await gzipAsync(Buffer.from(request.lines.join(''), 'utf8'));
      if (body.length > this.#limits.maxRequestWireBytes) {
        // Compressed and still over the wire limit (rare: JSON compresses well): split it and try the halves.
        queue.unshift(...splitRequest(request));
        continue;
      }
      const url = await this.#channelUrl(channel, '/rows', true);
      url.searchParams.set('continuationToken', this.#continuation.get(channel)!);
      if (request.offsetToken !== undefined) url.searchParams.set('offsetToken', request.offsetToken);
      const answer = await this.#send('POST', url, { auth: 'scoped', contentType: 'application/x-ndjson', gzip: true, body });
      if (answer.status === 200) {
        const next = (parseJson(answer.text) as { next_continuation_token?: unknown } | undefined)?.next_continuation_token;
        if (typeof next !== 'string') throw new StreamingApiError('append: the answer has no next_continuation_token', 200, undefined);
        this.#continuation.set(channel, next);
        sent++;
        if (request.offsetToken !== undefined) lastOffset = request.offsetToken;
        continue;
      }
      const code = errorCode(answer);
      if (code && REOPEN_CHANNEL_CODES.has(code)) {
        const status = await this.openChannel(channel);
        return { status: 'reopened', code, committedOffsetToken: status.committedOffsetToken, requests: sent };
      }
      throw failure('append rows', answer);
    }
    return { status: 'appended', requests: sent, offsetToken: lastOffset };
  }

  /** Bulk Get Channel Status; a channel the service does not know is absent from the answer. */
  async channelStatus(channels: string[]): Promise<Record<string, ChannelStatus>> {
    const url = await this.#ingestUrl(`/v2/streaming/${this.#pipePath}:bulk-channel-status`);
    const answer = await this.#send('POST', url, {
      auth: 'scoped',
      contentType: 'application/json',
      body: JSON.stringify({ channel_names: channels }),
    });
    if (answer.status !== 200) throw failure('bulk channel status', answer);
    const statuses = (parseJson(answer.text) as { channel_statuses?: Record<string, Record<string, unknown>> } | undefined)
      ?.channel_statuses;
    return Object.fromEntries(Object.entries(statuses ?? {}).map(([name, status]) => [name, toStatus(name, status)]));
  }

  /**
   * Polls the channel's status until `reached(committedOffsetToken)` holds. Snowflake commits in batches, so the
   * committed token may jump past the one awaited: compare by order, not equality.
   */
  async waitForCommit(
    channel: string,
    reached: (committedOffsetToken: string | undefined) => boolean,
    { timeoutMs = 60_000, pollMs = 100 }: { timeoutMs?: number; pollMs?: number } = {},
  ): Promise<ChannelStatus> {
    const deadline = this.#now() + timeoutMs;
    for (;;) {
      const status = (await this.channelStatus([channel]))[channel];
      if (!status) throw new StreamingApiError(`channel ${channel} does not exist`, 200, undefined);
      if (reached(status.committedOffsetToken)) return status;
      if (this.#now() + pollMs > deadline) {
        throw new StreamingApiError(
          `channel ${channel}: committed offset still ${status.committedOffsetToken ?? 'none'} after ${timeoutMs} ms`,
          undefined,
          undefined,
        );
      }
      await this.#sleep(pollMs);
    }
  }

  /** Drops the channel and its offset token on the service; the client forgets its continuation token. */
  async dropChannel(channel: string): Promise<void> {
    const answer = await this.#send('DELETE', await this.#channelUrl(channel), { auth: 'scoped' });
    this.#continuation.delete(channel);
    if (answer.status !== 200) throw failure('drop channel', answer);
  }

  async #channelUrl(channel: string, suffix = '', data = false): Promise<URL> {
    return this.#ingestUrl(`/v2/streaming/${data ? 'data/' : ''}${this.#pipePath}/channels/${encodeURIComponent(channel)}${suffix}`);
  }

  async #ingestUrl(path: string): Promise<URL> {
    const url = new URL(path, await this.#ingestBase());
    url.searchParams.set('requestId', randomUUID());
    return url;
  }

  /** `GET /v2/streaming/hostname` on the account URL, once per client. */
  async #ingestBase(): Promise<URL> {
    if (this.#ingest) return this.#ingest;
    const answer = await this.#send('GET', new URL(STREAMING_HOSTNAME_PATH, this.#base), { auth: 'jwt' });
    if (answer.status !== 200) throw failure('get hostname', answer);
    const host = readField(answer.text, 'hostname');
    if (!host || !/^[A-Za-z0-9_.:[\]-]+$/.test(host))
      throw new StreamingApiError('get hostname: no hostname in the answer', 200, undefined);
    // The tutorial: an account name with underscores gives an ingest host the service cannot route;
    // "replace all underscores with dashes in the INGEST_HOST", for the token's scope and every call after.
    // The scheme follows the account URL's (https, or http for a loopback fake).
    this.#ingest = new URL(`${this.#base.protocol}//${host.replace(/_/g, '-')}`);
    return this.#ingest;
  }

  /** The scoped token for the ingest host: `POST /oauth/token` with the JWT, cached until renewal is due. */
  async #scopedToken(): Promise<string> {
    const now = this.#now();
    if (this.#scoped && now < this.#scoped.renewAtMs) return this.#scoped.token;
    const ingest = await this.#ingestBase();
    const form = new URLSearchParams({ grant_type: JWT_BEARER_GRANT_TYPE, scope: ingest.host });
    const answer = await this.#send('POST', new URL(OAUTH_TOKEN_PATH, this.#base), {
      auth: 'jwt',
      contentType: 'application/x-www-form-urlencoded',
      body: form.toString(),
    });
    if (answer.status !== 200) throw failure('exchange scoped token', answer);
    const token = readField(answer.text, 'token');
    if (!token) throw new StreamingApiError('exchange scoped token: no token in the answer', 200, undefined);
    this.#scoped = { token, renewAtMs: now + this.#scopedTokenRenewMs };
    return token;
  }

  /**
   * One request with the retry rules of `streamingRetryVerdict`: 429, 5xx and no answer wait (full jitter,
   * never sooner than `Retry-After`) and resend within the budget; a 401 renews the token once.
   */
  async #send(
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    url: URL,
    { auth, contentType, body, gzip = false }: { auth: Auth; contentType?: string; body?: string | Buffer; gzip?: boolean },
  ): Promise<Answer> {
    const start = this.#now();
    let reauthenticated = false;
    for (let attempt = 1; ; attempt++) {
      // Outside the try: a token that cannot be had is not a network failure to retry.
      const headers: Record<string, string> = {
        Authorization: `Bearer ${auth === 'jwt' ? this.#auth.token() : await this.#scopedToken()}`,
        Accept: 'application/json',
        'User-Agent': this.#userAgent,
      };
      if (auth === 'jwt') headers['X-Snowflake-Authorization-Token-Type'] = this.#auth.tokenType ?? 'KEYPAIR_JWT';
      if (contentType) headers['Content-Type'] = contentType;
      if (gzip) headers['Content-Encoding'] = 'gzip';
      let answer: Answer | undefined;
      let cause: unknown;
      try {
        const response = await this.#fetch(url, {
          method,
          headers,
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(this.#requestTimeoutMs),
        });
        answer = {
          status: response.status,
          text: await response.text(),
          retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.#now()),
        };
      } catch (error) {
        cause = error;
      }
      const verdict = streamingRetryVerdict(answer?.status ?? 'network-error');
      if (answer && verdict.kind === 'fail') return answer;
      if (verdict.kind === 'reauthenticate' && !reauthenticated) {
        reauthenticated = true;
        // A lapsed scoped token, or a JWT the control host refused: mint both again.
        this.#scoped = undefined;
        this.#auth.invalidate();
      } else if (verdict.kind === 'reauthenticate') {
        throw failure(
          `${method} ${url.pathname}`,
          answer!,
          'a new token was refused too: check the account, the user and its RSA_PUBLIC_KEY',
        );
      } else {
        const delay = backoffMs(attempt, this.#backoff, answer?.retryAfterMs, this.#random);
        if (this.#now() + delay - start > this.#backoff.budgetMs) {
          const what = answer ? `HTTP ${answer.status}${errorCode(answer) ? ` ${errorCode(answer)}` : ''}` : `no answer (${String(cause)})`;
          throw new StreamingApiError(
            `${method} ${url.pathname}: ${what}; gave up after ${attempt} attempts within the retry budget`,
            answer?.status,
            answer ? errorCode(answer) : undefined,
            { cause },
          );
        }
        await this.#sleep(delay);
      }
    }
  }
}

interface PlannedRequest {
  lines: string[];
  bytes: number;
  /** The offset token of the last batch this request completes. */
  offsetToken: string | undefined;
  /** Per line: the offset token of the batch it ends, if it ends one (for a split). */
  ends: (string | undefined | null)[];
}

/**
 * Batches → requests under the limits: whole batches where they fit, a batch alone over the limit split by rows.
 * A batch of no rows sends nothing, its offset token included.
 */
function planRequests(batches: AppendBatch[], limits: StreamingLimits): PlannedRequest[] {
  const requests: PlannedRequest[] = [];
  let current: PlannedRequest = { lines: [], bytes: 0, offsetToken: undefined, ends: [] };
  const flush = () => {
    if (current.lines.length > 0) requests.push(current);
    current = { lines: [], bytes: 0, offsetToken: undefined, ends: [] };
  };
  batches.forEach((batch, batchIndex) => {
    const lines = batch.rows.map((row, rowIndex) => {
      if (typeof row === 'string' && /[\r\n]/.test(row))
        throw new TypeError(`row ${rowIndex} of batch ${batchIndex} is text with a line break: it must be one NDJSON line`);
      const line = `${typeof row === 'string' ? row : JSON.stringify(row)}\n`;
      const bytes = Buffer.byteLength(line);
      if (bytes > limits.maxRowBytes)
        throw new StreamingRowTooLargeError(batchIndex, rowIndex, bytes, limits.maxRowBytes, batch.offsetToken);
      return { line, bytes };
    });
    const total = lines.reduce((sum, { bytes }) => sum + bytes, 0);
    if (current.bytes + total > limits.maxRequestUncompressedBytes) flush();
    lines.forEach(({ line, bytes }, i) => {
      if (current.bytes + bytes > limits.maxRequestUncompressedBytes) flush();
      current.lines.push(line);
      current.bytes += bytes;
      // `null`: this line ends a batch that has no offset token.
      current.ends.push(i === lines.length - 1 ? (batch.offsetToken ?? null) : undefined);
      if (i === lines.length - 1 && batch.offsetToken !== undefined) current.offsetToken = batch.offsetToken;
    });
  });
  flush();
  return requests;
}

/** Two requests from one, cut at the last batch boundary before the middle if there is one, else at the middle row. */
function splitRequest(request: PlannedRequest): PlannedRequest[] {
  if (request.lines.length < 2) throw new StreamingApiError('one row compresses to more than the request limit', undefined, undefined);
  const middle = Math.floor(request.lines.length / 2);
  let cut = middle;
  for (let i = middle - 1; i >= 0; i--) {
    if (request.ends[i] !== undefined) {
      cut = i + 1;
      break;
    }
  }
  const part = (from: number, to: number): PlannedRequest => {
    const ends = request.ends.slice(from, to);
    const last = ends.findLast((end): end is string => typeof end === 'string');
    return {
      lines: request.lines.slice(from, to),
      bytes: request.lines.slice(from, to).reduce((sum, line) => sum + Buffer.byteLength(line), 0),
      offsetToken: to === request.lines.length ? request.offsetToken : (last ?? undefined),
      ends,
    };
  };
  return [part(0, cut), part(cut, request.lines.length)];
}

function parseJson(text: string): unknown {
  try {
    return text ? JSON.parse(text) : undefined;
  } catch {
    return undefined;
  }
}

/** The reference documents `{"hostname": …}` and `{"token": …}`; the tutorial uses the body as it comes, plain text. Both are read. */
function readField(text: string, field: string): string | undefined {
  const json = parseJson(text);
  if (json && typeof json === 'object') {
    const value = (json as Record<string, unknown>)[field];
    return typeof value === 'string' && value ? value : undefined;
  }
  const plain = text.trim();
  return plain && !/\s/.test(plain) ? plain : undefined;
}

/** The error body's `code` ("a stable, programmatic error code", REST reference, Error response structure). */
function errorCode(answer: Answer): string | undefined {
  const code = (parseJson(answer.text) as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' || typeof code === 'number' ? String(code) : undefined;
}

function failure(what: string, answer: Answer, hint?: string): StreamingApiError {
  const body = parseJson(answer.text) as { message?: unknown } | undefined;
  const message = typeof body?.message === 'string' ? body.message : answer.text.slice(0, 200);
  const code = errorCode(answer);
  return new StreamingApiError(
    `${what}: HTTP ${answer.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}${hint ? ` (${hint})` : ''}`,
    answer.status,
    code,
  );
}

const num = (value: unknown) => (typeof value === 'number' ? value : typeof value === 'string' && value !== '' ? Number(value) : undefined);
const str = (value: unknown) => (typeof value === 'string' && value !== '' ? value : undefined);

function toStatus(channel: string, status: Record<string, unknown>): ChannelStatus {
  return {
    channel,
    statusCode: str(status.channel_status_code),
    committedOffsetToken: str(status.last_committed_offset_token),
    rowsInserted: num(status.rows_inserted),
    rowsParsed: num(status.rows_parsed),
    rowsErrorCount: num(status.rows_error_count ?? status.rows_errors),
    lastErrorMessage: str(status.last_error_message),
  };
}
