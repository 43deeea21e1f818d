/**
 * An emulated Snowpipe Streaming endpoint (high-performance architecture, REST), as strict as
 * Snowflake where the docs say what Snowflake does, and strict by choice where they are silent
 * (each such choice is marked "chosen"). The twin runs it in `streaming` delivery; the client's
 * tests run it too. One node:http server plays both hosts: the account URL (hostname, token
 * exchange: key-pair JWT) and the ingest host it names (channels: scoped token only).
 *
 * Sources: https://docs.snowflake.com/en/user-guide/snowpipe-streaming/snowpipe-streaming-high-performance-rest-api
 * (paths, fields, `{code, message}` errors, STALE_CONTINUATION_TOKEN_SEQUENCER), …-rest-tutorial (plain-text
 * hostname and token), …-high-performance-limitations (4 MB per request on the wire), …-error-handling (channel codes).
 *
 * Accepted rows go to a {@link StreamingSink}, which makes the rows and the channel's committed offset
 * token visible together, and gives the offset back at open: offsets live with the rows, so an endpoint
 * restarted on the same sink resumes where it was. By default rows are committed before the append is
 * answered; with `commitDelayMs` they are committed later, as Snowflake does, so that a consumer that does
 * not wait for the committed offset before checkpointing is caught.
 */
import { createHash, createPublicKey, type KeyObject, randomBytes, verify } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';

export interface PipeRef {
  database: string;
  schema: string;
  pipe: string;
}

export interface ChannelRef extends PipeRef {
  channel: string;
}

/**
 * A row as it arrived: its NDJSON line's exact text (without the line end) and the object it parses to.
 * A sink keeps values from the text where a parse would lose them (integers beyond double precision,
 * key order, escapes), as Snowflake's VARIANT does.
 */
export interface StreamedRow {
  text: string;
  value: Record<string, unknown>;
}

/** Where accepted rows go (the twin: DuckDB's raw_events; tests: {@link InMemoryStreamingSink}). */
export interface StreamingSink {
  /** Rows and, when given, the channel's new committed offset token: both visible, or neither. */
  append(channel: ChannelRef, rows: StreamedRow[], offsetToken: string | undefined): Promise<void>;
  /** The channel's committed offset token, undefined if none was ever committed. */
  committedOffset(channel: ChannelRef): Promise<string | undefined>;
  /** Drop Channel removes the channel "along with its metadata": its offset token. Rows stay. */
  drop?(channel: ChannelRef): Promise<void>;
}

/** The limits the endpoint enforces (see the client's constants for their sources). */
export interface StreamingEndpointLimits {
  /** "REST payload limit: 4 MB per request (the payload size sent over the network, after compression if used)". */
  maxRequestWireBytes: number;
  /** "The maximum allowed size for a single request payload is 16 MB": the NDJSON after gunzip. */
  maxRequestUncompressedBytes: number;
  /** One row's JSON and newline; the docs give `rows` 4 MB (chosen: per row too). */
  maxRowBytes: number;
}

export const STREAMING_ENDPOINT_LIMITS: StreamingEndpointLimits = {
  maxRequestWireBytes: 4_000_000,
  maxRequestUncompressedBytes: 16_000_000,
  maxRowBytes: 4_000_000,
};

/** A fault for the next matching channel request: answered instead of the work or, with `afterApply`, after it. */
export interface StreamingFault {
  /** Which request: `rows` (append), `open`, `status`, `drop`; any when absent. */
  on?: 'rows' | 'open' | 'status' | 'drop';
  status?: number;
  code?: string;
  retryAfterSeconds?: number;
  /** Destroy the connection without an answer. */
  reset?: boolean;
  /** Do the work first (the rows are accepted), then answer the fault or reset: a lost answer. */
  afterApply?: boolean;
  /** Accept the rows and answer 200, then fail their commit (as a failed sink does): the channel must be reopened. */
  failCommit?: boolean;
}

export interface SnowpipeStreamingEndpointOptions {
  /** The account as the JWT names it, upper case: `MYORG-MYACCOUNT`. */
  account: string;
  /** The user the public key is registered to. */
  user: string;
  /** The public key to trust (`ALTER USER … SET RSA_PUBLIC_KEY`); the twin generates the pair at start. */
  publicKey: KeyObject | string;
  /** The pipes that exist; a channel on any other is refused. */
  pipes: PipeRef[];
  sink: StreamingSink;
  port?: number;
  host?: string;
  /** Scoped tokens lapse this long after the exchange (chosen: the docs give no lifetime; 1 h, a JWT's). */
  scopedTokenTtlMs?: number;
  /**
   * 0 (the default): rows are committed before the append is answered. Above 0: the append is answered
   * when accepted and its rows committed this much later, in order, as Snowflake commits a few seconds
   * after; the committed offset lags until then. A commit that fails invalidates the channel and drops
   * the appends accepted after it, which the client resends from the committed offset after reopening.
   */
  commitDelayMs?: number;
  /** This share of channel requests fails: half answered 503 before the work, half applied and the answer lost. */
  failureRate?: number;
  /** This share of channel requests is answered 429 with `Retry-After`. */
  throttleRate?: number;
  retryAfterSeconds?: number;
  limits?: Partial<StreamingEndpointLimits>;
  now?: () => number;
  random?: () => number;
}

export interface ChannelSnapshot extends ChannelRef {
  status: 'ACTIVE' | 'INVALID';
  committedOffsetToken: string | undefined;
  rowsInserted: number;
  appends: number;
  createdOnMs: number;
  lastAppendAtMs: number | undefined;
}

export interface RecordedStreamingRequest {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  status: number | 'reset';
  code?: string | undefined;
}

export interface SnowpipeStreamingEndpoint {
  /** The account URL: `http://127.0.0.1:<port>`. */
  url: string;
  /** The ingest host that `GET /v2/streaming/hostname` answers. */
  hostname: string;
  channels(): ChannelSnapshot[];
  requests: RecordedStreamingRequest[];
  injectFault(fault: StreamingFault): void;
  setFailureRate(rate: number): void;
  /** What Snowflake does to a channel it must reset: every later call on it answers ERR_CHANNEL_MUST_BE_REOPENED until reopened. */
  invalidate(channel: ChannelRef): void;
  close(): Promise<void>;
}

const JWT_BEARER_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:jwt-bearer';
/** Snowflake accepts a key-pair JWT for at most an hour after `iat`. */
const JWT_MAX_LIFETIME_SECONDS = 3600;

interface Channel {
  ref: ChannelRef;
  clientSequencer: number;
  rowSequencer: number;
  status: 'ACTIVE' | 'INVALID';
  committedOffsetToken: string | undefined;
  rowsInserted: number;
  rowsParsed: number;
  appends: number;
  createdOnMs: number;
  lastAppendAtMs: number | undefined;
  /** Calls on one channel run one at a time, so that a token is checked and used atomically. */
  queue: Promise<unknown>;
  /** Accepted appends not yet committed, in order. */
  commits: Promise<void>;
}

interface Reply {
  status: number;
  body?: unknown;
  contentType?: string;
  headers?: Record<string, string>;
  /** Lose the answer: destroy the socket. */
  reset?: boolean;
}

class Refusal extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const refuse = (status: number, code: string, message: string): never => {
  throw new Refusal(status, code, message);
};

const upper = (name: string) => name.toUpperCase();
/** Database, schema and pipe are case-insensitive (REST reference), compared upper case; the channel name as given (chosen: the bulk status calls channel names case-sensitive). */
const pipeKey = (ref: PipeRef) => `${upper(ref.database)}.${upper(ref.schema)}.${upper(ref.pipe)}`;
const channelKey = (ref: ChannelRef) => `${pipeKey(ref)}/${ref.channel}`;

const CHANNEL_PATH = /^\/v2\/streaming\/(data\/)?databases\/([^/]+)\/schemas\/([^/]+)\/pipes\/([^/:]+)\/channels\/([^/]+)(\/rows)?$/;
const STATUS_PATH = /^\/v2\/streaming\/databases\/([^/]+)\/schemas\/([^/]+)\/pipes\/([^/:]+):bulk-channel-status$/;

export async function startSnowpipeStreamingEndpoint(options: SnowpipeStreamingEndpointOptions): Promise<SnowpipeStreamingEndpoint> {
  const now = options.now ?? Date.now;
  const random = options.random ?? Math.random;
  const limits = { ...STREAMING_ENDPOINT_LIMITS, ...options.limits };
  const ttlMs = options.scopedTokenTtlMs ?? 3_600_000;
  const commitDelayMs = options.commitDelayMs ?? 0;
  const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
  const publicKey = typeof options.publicKey === 'string' ? createPublicKey(options.publicKey) : options.publicKey;
  const fingerprint = `SHA256:${createHash('sha256')
    .update(publicKey.export({ type: 'spki', format: 'der' }))
    .digest('base64')}`;
  const subject = `${upper(options.account)}.${upper(options.user)}`;
  const pipes = new Set(options.pipes.map(pipeKey));
  // Continuation tokens name this process: one from before a restart is stale, as a reopened channel's is.
  const epoch = randomBytes(6).toString('base64url');
  const scopedTokens = new Map<string, number>();
  const channels = new Map<string, Channel>();
  const faults: StreamingFault[] = [];
  const requests: RecordedStreamingRequest[] = [];
  let failureRate = options.failureRate ?? 0;
  let clientSequencers = 0;
  let hostname = '';
  /** Closing is a crash for what is accepted and not committed: it is lost, as Snowflake loses what it never committed. */
  let closed = false;

  /** The key-pair JWT: RS256 over the registered key, `iss` = sub + '.' + its fingerprint, at most an hour, not expired. */
  const checkJwt = (authorization: string | undefined) => {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    const invalid = (why: string) => refuse(401, '390144', `JWT token is invalid. (${why})`);
    if (!token) return invalid('no bearer token');
    const [head, body, signature] = token.split('.');
    if (!head || !body || !signature) return invalid('not a JWT');
    let header: { alg?: string };
    let claims: { iss?: string; sub?: string; iat?: number; exp?: number };
    try {
      header = JSON.parse(Buffer.from(head, 'base64url').toString());
      claims = JSON.parse(Buffer.from(body, 'base64url').toString());
    } catch {
      return invalid('not a JWT');
    }
    if (header.alg !== 'RS256') return invalid('alg must be RS256');
    if (!verify('sha256', Buffer.from(`${head}.${body}`), publicKey, Buffer.from(signature, 'base64url'))) return invalid('bad signature');
    if (claims.sub !== subject || claims.iss !== `${subject}.${fingerprint}`) return invalid('iss or sub does not name the user and key');
    const seconds = Math.floor(now() / 1000);
    if (typeof claims.iat !== 'number' || typeof claims.exp !== 'number') return invalid('iat and exp are required');
    if (claims.exp - claims.iat > JWT_MAX_LIFETIME_SECONDS) return invalid('lives more than an hour');
    if (claims.exp <= seconds) return invalid('expired');
  };

  /** The ingest host takes only a scoped token from the exchange (chosen codes: Snowflake's for a bad and a lapsed OAuth token). */
  const checkScoped = (authorization: string | undefined) => {
    const token = /^Bearer (.+)$/.exec(authorization ?? '')?.[1];
    const expiresAt = token ? scopedTokens.get(token) : undefined;
    if (expiresAt === undefined) return refuse(401, '390303', 'Invalid OAuth access token.');
    if (now() >= expiresAt) {
      scopedTokens.delete(token!);
      return refuse(401, '390318', 'OAuth access token expired.');
    }
  };

  const continuationToken = (channel: Channel) =>
    Buffer.from(JSON.stringify({ e: epoch, c: channel.clientSequencer, r: channel.rowSequencer })).toString('base64url');

  const statusOf = (channel: Channel) => ({
    database_name: channel.ref.database,
    schema_name: channel.ref.schema,
    pipe_name: channel.ref.pipe,
    channel_name: channel.ref.channel,
    channel_status_code: channel.status === 'ACTIVE' ? 'ACTIVE' : 'ERR_CHANNEL_MUST_BE_REOPENED',
    last_committed_offset_token: channel.committedOffsetToken ?? null,
    created_on_ms: channel.createdOnMs,
    rows_inserted: channel.rowsInserted,
    rows_parsed: channel.rowsParsed,
    rows_error_count: 0,
    last_error_offset_upper_bound: null,
    last_error_message: null,
    last_error_timestamp: null,
    snowflake_avg_processing_latency_ms: 0,
  });

  /** One call at a time per channel. */
  const serially = <T>(key: string, work: () => Promise<T>): Promise<T> => {
    const holder = channels.get(key);
    if (!holder) return work();
    const run = holder.queue.then(work, work);
    holder.queue = run.catch(() => undefined);
    return run;
  };

  const pipeOf = (database: string, schema: string, pipe: string): PipeRef => {
    const ref = { database: decodeURIComponent(database), schema: decodeURIComponent(schema), pipe: decodeURIComponent(pipe) };
    if (!pipes.has(pipeKey(ref)))
      refuse(404, 'ERR_PIPE_DOES_NOT_EXIST_OR_NOT_AUTHORIZED', `Pipe ${pipeKey(ref)} does not exist or not authorized.`);
    return ref;
  };

  const open = async (ref: ChannelRef, body: Buffer): Promise<Reply> => {
    let request: { offset_token?: unknown } = {};
    if (body.length > 0) {
      try {
        request = JSON.parse(body.toString('utf8'));
      } catch {
        refuse(400, 'ERR_INVALID_REQUEST', 'The request body is not JSON.');
      }
      if (typeof request !== 'object' || request === null || Array.isArray(request))
        refuse(400, 'ERR_INVALID_REQUEST', 'The request body must be an object.');
      if (request.offset_token !== undefined && typeof request.offset_token !== 'string') {
        refuse(400, 'ERR_INVALID_REQUEST', 'offset_token must be a string.');
      }
    }
    const key = channelKey(ref);
    if (!channels.has(key)) {
      channels.set(key, {
        ref,
        clientSequencer: 0,
        rowSequencer: 0,
        status: 'ACTIVE',
        committedOffsetToken: undefined,
        rowsInserted: 0,
        rowsParsed: 0,
        appends: 0,
        createdOnMs: now(),
        lastAppendAtMs: undefined,
        queue: Promise.resolve(),
        commits: Promise.resolve(),
      });
    }
    return serially(key, async () => {
      const channel = channels.get(key)!;
      // What was accepted before the reopen is committed (or dropped, if its commit fails) before the offset is read.
      await channel.commits;
      if (typeof request.offset_token === 'string') await options.sink.append(ref, [], request.offset_token);
      channel.committedOffsetToken = await options.sink.committedOffset(ref);
      // "If the channel already exists, Snowflake bumps the client sequencer of the channel": older tokens go stale.
      channel.clientSequencer = ++clientSequencers;
      channel.rowSequencer = 0;
      channel.status = 'ACTIVE';
      return { status: 200, body: { next_continuation_token: continuationToken(channel), channel_status: statusOf(channel) } };
    });
  };

  const append = async (
    ref: ChannelRef,
    query: URLSearchParams,
    headers: http.IncomingHttpHeaders,
    body: Buffer,
    fault: StreamingFault | undefined,
  ): Promise<Reply> => {
    if (!/^application\/x-ndjson\b/.test(headers['content-type'] ?? '')) {
      refuse(415, 'ERR_UNSUPPORTED_CONTENT_TYPE', 'Append Rows takes Content-Type: application/x-ndjson.');
    }
    const token = query.get('continuationToken');
    if (!token) refuse(400, 'ERR_MISSING_CONTINUATION_TOKEN', 'continuationToken is required.');
    let parsed: { e?: unknown; c?: unknown; r?: unknown } = {};
    try {
      parsed = JSON.parse(Buffer.from(token!, 'base64url').toString('utf8'));
    } catch {}
    const stale = () =>
      refuse(400, 'STALE_CONTINUATION_TOKEN_SEQUENCER', 'Channel sequencer in the continuation token is stale. Please reopen the channel');
    // A token from before a restart: the channel exists (its offset is in the sink), this sequencer does not.
    if (parsed.e !== epoch || typeof parsed.c !== 'number') stale();
    const key = channelKey(ref);
    if (!channels.has(key))
      refuse(404, 'ERR_CHANNEL_DOES_NOT_EXIST_OR_IS_NOT_AUTHORIZED', `Channel ${ref.channel} does not exist or is not authorized.`);
    return serially(key, async () => {
      const channel = channels.get(key);
      if (!channel)
        return refuse(
          404,
          'ERR_CHANNEL_DOES_NOT_EXIST_OR_IS_NOT_AUTHORIZED',
          `Channel ${ref.channel} does not exist or is not authorized.`,
        );
      if ((parsed.c as number) < channel.clientSequencer) stale();
      if (channel.status === 'INVALID') refuse(409, 'ERR_CHANNEL_MUST_BE_REOPENED', 'The channel must be reopened.');
      // A token already used (an append resent after its answer was lost) is refused: rows are never applied twice (chosen code and status).
      if (parsed.c !== channel.clientSequencer || parsed.r !== channel.rowSequencer) {
        refuse(
          400,
          'ERR_CHANNEL_HAS_INVALID_ROW_SEQUENCER',
          "The row sequencer in the continuation token is not the channel's. Please reopen the channel",
        );
      }
      const rows = parseRows(body, headers['content-encoding'], limits);
      const offsetToken = query.get('offsetToken') ?? undefined;
      if (fault && !fault.afterApply && !fault.failCommit) return faultReply(fault);
      const sequencer = channel.clientSequencer;
      const commit = async () => {
        if (fault?.failCommit) throw new Error('injected commit failure');
        await options.sink.append(ref, rows, offsetToken);
        channel.rowsInserted += rows.length;
        if (offsetToken !== undefined) channel.committedOffsetToken = offsetToken;
      };
      if (commitDelayMs === 0 && !fault?.failCommit) {
        // Committed before the sequencer moves: a sink that fails leaves the token usable for the resend.
        await commit();
      } else {
        channel.commits = channel.commits.then(async () => {
          await sleep(commitDelayMs);
          // Invalidated (a failed commit before this one, or `invalidate`) or reopened by a newer sequencer: dropped.
          if (closed || channel.status !== 'ACTIVE' || channel.clientSequencer !== sequencer) return;
          await commit().catch(() => {
            channel.status = 'INVALID';
          });
        });
      }
      channel.rowSequencer++;
      channel.rowsParsed += rows.length;
      channel.appends++;
      channel.lastAppendAtMs = now();
      if (fault && !fault.failCommit) return faultReply(fault);
      return { status: 200, body: { next_continuation_token: continuationToken(channel) } };
    });
  };

  const faultReply = (fault: StreamingFault): Reply =>
    fault.reset
      ? { status: 0, reset: true }
      : {
          status: fault.status ?? 503,
          body: { code: fault.code ?? 'ERR_SERVICE_UNAVAILABLE', message: 'Injected fault.' },
          ...(fault.retryAfterSeconds !== undefined ? { headers: { 'Retry-After': String(fault.retryAfterSeconds) } } : {}),
        };

  /** The fault for this channel request, if any: a queued one, a 429 or a random failure. */
  const pickFault = (kind: NonNullable<StreamingFault['on']>): StreamingFault | undefined => {
    const index = faults.findIndex((fault) => fault.on === undefined || fault.on === kind);
    if (index >= 0) return faults.splice(index, 1)[0];
    if (options.throttleRate && random() < options.throttleRate) {
      return { status: 429, code: 'ERR_TOO_MANY_REQUESTS', retryAfterSeconds: options.retryAfterSeconds ?? 1 };
    }
    if (failureRate > 0 && random() < failureRate) return random() < 0.5 ? { status: 503 } : { reset: true, afterApply: true };
    return undefined;
  };

  /** "Content-Type (required when the request has a body) … application/json for open-channel, drop-channel, and bulk channel-status bodies" (REST reference). */
  const jsonBody = (headers: http.IncomingHttpHeaders, body: Buffer) => {
    if (body.length > 0 && !/^application\/json\b/.test(headers['content-type'] ?? '')) {
      refuse(415, 'ERR_UNSUPPORTED_CONTENT_TYPE', 'A JSON body takes Content-Type: application/json.');
    }
  };

  const route = async (req: http.IncomingMessage, url: URL, body: Buffer): Promise<Reply> => {
    const method = req.method ?? 'GET';
    if (method === 'GET' && url.pathname === '/v2/streaming/hostname') {
      checkJwt(req.headers.authorization);
      return { status: 200, body: hostname, contentType: 'text/plain' };
    }
    if (method === 'POST' && url.pathname === '/oauth/token') {
      checkJwt(req.headers.authorization);
      if (!/^application\/x-www-form-urlencoded\b/.test(req.headers['content-type'] ?? '')) {
        refuse(400, 'ERR_INVALID_REQUEST', 'The token exchange takes Content-Type: application/x-www-form-urlencoded.');
      }
      const form = new URLSearchParams(body.toString('utf8'));
      if (form.get('grant_type') !== JWT_BEARER_GRANT_TYPE)
        refuse(400, 'ERR_INVALID_GRANT_TYPE', `grant_type must be ${JWT_BEARER_GRANT_TYPE}.`);
      if (form.get('scope') !== hostname)
        refuse(400, 'ERR_INVALID_SCOPE', 'scope must be the ingest host that /v2/streaming/hostname answers.');
      const token = randomBytes(24).toString('base64url');
      scopedTokens.set(token, now() + ttlMs);
      return { status: 200, body: token, contentType: 'text/plain' };
    }
    const channelMatch = CHANNEL_PATH.exec(url.pathname);
    const statusMatch = STATUS_PATH.exec(url.pathname);
    if (!channelMatch && !statusMatch) refuse(404, 'ERR_NOT_FOUND', `No such endpoint: ${method} ${url.pathname}`);
    checkScoped(req.headers.authorization);
    if (statusMatch) {
      if (method !== 'POST') refuse(405, 'ERR_METHOD_NOT_ALLOWED', 'Bulk channel status takes POST.');
      const pipe = pipeOf(statusMatch[1]!, statusMatch[2]!, statusMatch[3]!);
      jsonBody(req.headers, body);
      const fault = pickFault('status');
      if (fault && !fault.afterApply) return faultReply(fault);
      let names: unknown;
      try {
        names = JSON.parse(body.toString('utf8')).channel_names;
      } catch {}
      if (!Array.isArray(names) || !names.every((name) => typeof name === 'string')) {
        refuse(400, 'ERR_INVALID_REQUEST', 'channel_names must be an array of strings.');
      }
      const statuses: Record<string, unknown> = {};
      for (const name of names as string[]) {
        const channel = channels.get(channelKey({ ...pipe, channel: name }));
        // "If no requested channel is found in the service, the response payload doesn't have an entry for that channel."
        if (channel) statuses[name] = statusOf(channel);
      }
      return fault ? faultReply(fault) : { status: 200, body: { channel_statuses: statuses } };
    }
    const [, data, database, schema, pipeName, channelName, rows] = channelMatch!;
    const ref: ChannelRef = { ...pipeOf(database!, schema!, pipeName!), channel: decodeURIComponent(channelName!) };
    if (data && rows && method === 'POST') {
      const fault = pickFault('rows');
      return append(ref, url.searchParams, req.headers, body, fault);
    }
    if (!data && !rows && method === 'PUT') {
      const fault = pickFault('open');
      if (fault && !fault.afterApply) return faultReply(fault);
      jsonBody(req.headers, body);
      const reply = await open(ref, body);
      return fault ? faultReply(fault) : reply;
    }
    if (!data && !rows && method === 'DELETE') {
      const fault = pickFault('drop');
      if (fault && !fault.afterApply) return faultReply(fault);
      const key = channelKey(ref);
      await serially(key, async () => {
        channels.delete(key);
        await options.sink.drop?.(ref);
      });
      return fault ? faultReply(fault) : { status: 200, body: {} };
    }
    return refuse(405, 'ERR_METHOD_NOT_ALLOWED', `${method} is not allowed on ${url.pathname}`);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let tooLarge = false;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      // Over the wire limit: stop keeping it (the answer is 413 whatever follows).
      if (size > limits.maxRequestWireBytes) tooLarge = true;
      else chunks.push(chunk);
    });
    req.on('end', async () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      let reply: Reply;
      try {
        if (tooLarge) refuse(413, 'ERR_REQUEST_TOO_LARGE', `The request is over ${limits.maxRequestWireBytes} bytes on the wire.`);
        reply = await route(req, url, Buffer.concat(chunks));
      } catch (error) {
        reply =
          error instanceof Refusal
            ? { status: error.status, body: { code: error.code, message: error.message } }
            : { status: 500, body: { code: 'ERR_INTERNAL_ERROR', message: `Internal error: ${String(error)}` } };
      }
      const code = (reply.body as { code?: string } | undefined)?.code;
      requests.push({
        method: req.method ?? 'GET',
        path: url.pathname,
        query: Object.fromEntries(url.searchParams),
        headers: req.headers,
        status: reply.reset ? 'reset' : reply.status,
        code,
      });
      if (reply.reset) {
        res.socket?.destroy();
        return;
      }
      const text = typeof reply.body === 'string' ? reply.body : JSON.stringify(reply.body ?? {});
      res.writeHead(reply.status, { 'Content-Type': reply.contentType ?? 'application/json', ...reply.headers });
      res.end(text);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  hostname = `${options.host ?? '127.0.0.1'}:${port}`;

  return {
    url: `http://${hostname}`,
    hostname,
    requests,
    channels: () =>
      [...channels.values()].map((channel) => ({
        ...channel.ref,
        status: channel.status,
        committedOffsetToken: channel.committedOffsetToken,
        rowsInserted: channel.rowsInserted,
        appends: channel.appends,
        createdOnMs: channel.createdOnMs,
        lastAppendAtMs: channel.lastAppendAtMs,
      })),
    injectFault: (fault) => faults.push(fault),
    setFailureRate: (rate) => {
      failureRate = rate;
    },
    invalidate: (ref) => {
      const channel = channels.get(channelKey(ref));
      if (channel) channel.status = 'INVALID';
    },
    close: async () => {
      closed = true;
      await new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
      // No commit runs against the sink once close has returned (the twin closes DuckDB next).
      await Promise.all([...channels.values()].map((channel) => channel.commits));
    },
  };
}

/**
 * The NDJSON body: gzip or none (chosen: zstd, which Snowflake also takes, is refused here), at most the
 * uncompressed limit, every line one JSON object (RFC 8259) followed by `\n` (`\r\n` allowed), each within
 * the row limit. Malformed NDJSON refuses the request (chosen: Snowflake, ON_ERROR = CONTINUE, would count row errors).
 */
function parseRows(body: Buffer, encoding: string | undefined, limits: StreamingEndpointLimits): StreamedRow[] {
  let text: Buffer;
  if (!encoding || encoding === 'identity') text = body;
  else if (encoding === 'gzip') {
    try {
      text = gunzipSync(body, { maxOutputLength: limits.maxRequestUncompressedBytes + 1 });
    } catch (error) {
      if ((error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        return refuse(413, 'ERR_REQUEST_TOO_LARGE', `The rows are over ${limits.maxRequestUncompressedBytes} bytes uncompressed.`);
      }
      return refuse(400, 'ERR_INVALID_COMPRESSION', 'The body is not valid gzip.');
    }
  } else return refuse(415, 'ERR_UNSUPPORTED_CONTENT_ENCODING', `Content-Encoding ${encoding} is not supported here; use gzip.`);
  if (text.length > limits.maxRequestUncompressedBytes) {
    refuse(413, 'ERR_REQUEST_TOO_LARGE', `The rows are over ${limits.maxRequestUncompressedBytes} bytes uncompressed.`);
  }
  const ndjson = text.toString('utf8');
  if (ndjson.length === 0) refuse(400, 'ERR_EMPTY_ROWS', 'No rows in the request.');
  if (!ndjson.endsWith('\n')) refuse(400, 'ERR_INVALID_NDJSON', 'Each JSON text must be followed by a newline (\\n).');
  const lines = ndjson.slice(0, -1).split('\n');
  return lines.map((line, index) => {
    if (Buffer.byteLength(line) + 1 > limits.maxRowBytes)
      refuse(400, 'ERR_ROW_TOO_LARGE', `Row ${index} is over ${limits.maxRowBytes} bytes.`);
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    let row: unknown;
    try {
      row = JSON.parse(text);
    } catch {
      return refuse(400, 'ERR_INVALID_NDJSON', `Row ${index} is not JSON.`);
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row))
      refuse(400, 'ERR_INVALID_NDJSON', `Row ${index} is not a JSON object.`);
    return { text, value: row as Record<string, unknown> };
  });
}

/** A sink in memory, for tests: rows and offsets per channel, swapped in together. */
export class InMemoryStreamingSink implements StreamingSink {
  readonly #rows = new Map<string, StreamedRow[]>();
  readonly #offsets = new Map<string, string>();

  async append(channel: ChannelRef, rows: StreamedRow[], offsetToken: string | undefined): Promise<void> {
    const key = channelKey(channel);
    this.#rows.set(key, [...(this.#rows.get(key) ?? []), ...rows]);
    if (offsetToken !== undefined) this.#offsets.set(key, offsetToken);
  }

  async committedOffset(channel: ChannelRef): Promise<string | undefined> {
    return this.#offsets.get(channelKey(channel));
  }

  async drop(channel: ChannelRef): Promise<void> {
    this.#offsets.delete(channelKey(channel));
  }

  /** Every row committed on the channel (or on every channel), in order, parsed. */
  rows(channel?: ChannelRef): Record<string, unknown>[] {
    return this.#streamed(channel).map((row) => row.value);
  }

  /** The same rows as the text of their NDJSON lines, as they arrived. */
  lines(channel?: ChannelRef): string[] {
    return this.#streamed(channel).map((row) => row.text);
  }

  #streamed(channel?: ChannelRef): StreamedRow[] {
    if (channel) return [...(this.#rows.get(channelKey(channel)) ?? [])];
    return [...this.#rows.values()].flat();
  }
}
