import { createAuthorizer, type Authorizer } from './auth.js';
import { SnowgateRequestError } from './errors.js';
import type { GzipSettings } from './options.js';
import { parseRetryAfter } from './retry.js';
import type { Answer, Auth, FetchLike } from './types.js';
import { CLIENT_VERSION } from './version.js';

/** A batch's body as it goes on the wire: prepared once, and re-sent byte for byte on each retry. */
export interface Body {
  payload: string | Uint8Array;
  /** `content-encoding` when the payload is compressed. */
  headers: Record<string, string>;
  /** Bytes on the wire (compressed when gzip applied). */
  wireBytes: number;
  /** Bytes of the JSON array before compression. */
  rawBytes: number;
}

/** The URL of `POST /events`: the endpoint itself when it ends in /events, else the endpoint with /events appended. */
export function eventsUrl(endpoint: string): URL {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw new TypeError(`endpoint ${JSON.stringify(endpoint)} is not a URL`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`endpoint ${endpoint}: use http: or https:`);
  if (!/\/events\/?$/.test(url.pathname)) url.pathname = `${url.pathname.replace(/\/+$/, '')}/events`;
  return url;
}

type GzipFn = (input: string, level: number) => Promise<Uint8Array>;
let gzipModule: Promise<GzipFn> | undefined;
/** node:zlib, loaded the first time a body is compressed: without gzip, the client needs nothing from Node. */
function loadGzip(): Promise<GzipFn> {
  gzipModule ??= import('node:zlib').then(
    (zlib) => (input, level) =>
      new Promise<Uint8Array>((resolve, reject) =>
        zlib.gzip(input, { level }, (error, result) => (error ? reject(error) : resolve(result))),
      ),
  );
  return gzipModule;
}

/**
 * The body for a JSON array of `rawBytes` bytes: gzipped when gzip is on and
 * the body is at least `minBytes`, unless it compresses too well.
 */
export async function encodeBody(json: string, rawBytes: number, gzip: GzipSettings): Promise<Body> {
  if (gzip && rawBytes >= gzip.minBytes) {
    const compressed = await (await loadGzip())(json, gzip.level);
    // Too compressible looks like a decompression bomb to the server: send those as they are.
    if (compressed.byteLength * gzip.maxRatio >= rawBytes) {
      return { payload: compressed, headers: { 'content-encoding': 'gzip' }, wireBytes: compressed.byteLength, rawBytes };
    }
  }
  return { payload: json, headers: {}, wireBytes: rawBytes, rawBytes };
}

export interface TransportOptions {
  url: URL;
  auth: Auth | undefined;
  fetch: FetchLike | undefined;
  /** Extra headers on every request (any case). */
  headers: Record<string, string> | undefined;
  requestTimeoutMs: number;
  /** Aborted by `close()`: an attempt in flight then ends as `aborted`. */
  signal: AbortSignal;
  /** Called as each request goes out (after it is authorized), so the client can count requests and bytes. */
  onRequest: (body: Body) => void;
}

/** Sends one batch's body with one `POST`; the client's retry loop calls it once per attempt. */
export class Transport {
  private readonly authorize: Authorizer;
  private readonly fetch: FetchLike;
  private readonly baseHeaders: Record<string, string>;

  constructor(private readonly options: TransportOptions) {
    this.authorize = createAuthorizer(options.auth ?? { type: 'none' });
    const fetchImpl = options.fetch ?? (globalThis.fetch as unknown as FetchLike | undefined);
    if (typeof fetchImpl !== 'function') throw new TypeError('no global fetch: pass options.fetch');
    this.fetch = fetchImpl;
    const runtime = (globalThis as { process?: { version?: string } }).process?.version;
    this.baseHeaders = {
      'user-agent': `snowgate-client/${CLIENT_VERSION}${runtime ? ` node/${runtime}` : ''}`,
      ...Object.fromEntries(Object.entries(options.headers ?? {}).map(([k, v]) => [k.toLowerCase(), v])),
      'content-type': 'application/json',
    };
  }

  /** One request: its answer, or why there was none. Never throws. */
  async post(body: Body): Promise<Answer | SnowgateRequestError> {
    const { url, signal: closed, requestTimeoutMs } = this.options;
    const headers = { ...this.baseHeaders, ...body.headers };
    let authHeaders: Record<string, string>;
    try {
      // Before every attempt: tokens are asked afresh and signatures cover this attempt's time.
      authHeaders = await this.authorize({ url, method: 'POST', headers, body: body.payload });
    } catch (cause) {
      return new SnowgateRequestError(`could not authorize the request: ${(cause as Error)?.message ?? String(cause)}`, 'network', {
        cause,
      });
    }
    const timeout = AbortSignal.timeout(requestTimeoutMs);
    const signal = AbortSignal.any([closed, timeout]);
    this.options.onRequest(body);
    try {
      const response = await this.fetch(url.href, { method: 'POST', headers: { ...headers, ...authHeaders }, body: body.payload, signal });
      const text = await response.text();
      const requestId = response.headers.get('apigw-requestid') ?? undefined;
      return { status: response.status, requestId, retryAfterMs: parseRetryAfter(response.headers.get('retry-after')), text };
    } catch (cause) {
      return whyNoAnswer(cause, closed.aborted, timeout.aborted, requestTimeoutMs);
    }
  }
}

/** Names why `fetch` failed: `close()`, the per-attempt timeout, or the network (with its error code when Node gives one). */
function whyNoAnswer(cause: unknown, closed: boolean, timedOut: boolean, requestTimeoutMs: number): SnowgateRequestError {
  if (closed) return new SnowgateRequestError('aborted by close()', 'aborted', { cause });
  if (timedOut) return new SnowgateRequestError(`no answer within requestTimeoutMs (${requestTimeoutMs} ms)`, 'timeout', { cause });
  const code = (cause as { cause?: { code?: string } })?.cause?.code ?? (cause as { code?: string })?.code;
  return new SnowgateRequestError(`network error${code ? ` ${code}` : ''}: ${(cause as Error)?.message ?? String(cause)}`, 'network', {
    cause,
  });
}
