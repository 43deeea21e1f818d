import { brotliDecompressSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib';
import type { AuthKind } from './envelope';
import { RequestRejectedError } from './errors';
import type { Limits } from './limits';

/** A request as the ingest domain sees it: no API Gateway or Lambda types here. */
export interface IncomingRequest {
  requestId: string;
  receivedAt: Date;
  /** Header names lower-cased; repeated headers joined by commas (API Gateway's payload 2.0 does both). */
  headers: Readonly<Record<string, string | undefined>>;
  body: string | undefined;
  isBase64Encoded: boolean;
  sourceIp?: string | undefined;
  /** How API Gateway authenticated the caller (none when the stage checks nobody). */
  auth?: AuthKind | undefined;
  /** The caller, in `auth`'s terms: the API key's producer, the IAM ARN, or the JWT's `sub`. */
  producer?: string | undefined;
}

export type BodyFormat = 'json' | 'ndjson';

const NDJSON_TYPES = new Set(['application/x-ndjson', 'application/ndjson', 'application/jsonl', 'application/x-jsonlines']);

/**
 * Reads `Content-Type` into the body format. Repeated headers (joined by commas)
 * are accepted only when they agree. Only UTF-8 is read.
 *
 * @example
 * bodyFormat('application/json; charset=utf-8') // → 'json'
 * bodyFormat('application/x-ndjson')            // → 'ndjson'
 */
export function bodyFormat(contentType: string | undefined): BodyFormat {
  if (contentType === undefined || contentType.trim() === '') {
    throw new RequestRejectedError('unsupported_media_type', 415, 'Content-Type is required: application/json or application/x-ndjson');
  }
  // Repeated headers arrive joined by commas; each value is checked, and they must name one media type.
  const mediaTypes = new Set<string>();
  for (const value of contentType
    .split(',')
    .map((v) => v.trim().toLowerCase())
    .filter((v) => v !== '')) {
    const [type = '', ...params] = value.split(';').map((p) => p.trim());
    for (const param of params) {
      const [name = '', raw = ''] = param.split('=').map((p) => p.trim());
      if (name !== 'charset') continue;
      const charset = raw.replace(/^"|"$/g, '');
      if (charset !== 'utf-8' && charset !== 'utf8') {
        throw new RequestRejectedError('unsupported_encoding', 415, `charset ${charset} is not supported: send UTF-8`);
      }
    }
    mediaTypes.add(type);
  }
  if (mediaTypes.size !== 1) {
    throw new RequestRejectedError('unsupported_media_type', 415, 'conflicting Content-Type headers');
  }
  const [mediaType] = mediaTypes as unknown as [string];
  if (mediaType === 'application/json' || /^application\/[a-z0-9.+-]+\+json$/.test(mediaType)) return 'json';
  if (NDJSON_TYPES.has(mediaType)) return 'ndjson';
  throw new RequestRejectedError(
    'unsupported_media_type',
    415,
    `Content-Type ${mediaType || contentType} is not supported: use application/json or application/x-ndjson`,
  );
}

/** The content codings a body may arrive in (RFC 9110 §8.4.1); `x-gzip` is gzip's old name. */
export const CONTENT_CODINGS = ['gzip', 'x-gzip', 'deflate', 'br'] as const;

/**
 * Decompresses a body sent with `Content-Encoding: gzip`, `deflate` or `br`,
 * bounded: the output may not exceed `maxBodyBytes` (zlib stops there, so a
 * decompression bomb costs at most that much memory), nor `maxInflateRatio` times
 * the compressed size. Identity bodies come back as they are.
 *
 * @example
 * decodeContentEncoding(gzipSync('{"id":1}'), 'gzip', limits) // → Buffer of '{"id":1}'
 */
export function decodeContentEncoding(body: ReceivedBody, contentEncoding: string | undefined, limits: Limits): ReceivedBody {
  if (contentEncoding === undefined) return body;
  const codings = contentEncoding
    .split(',')
    .map((c) => c.trim().toLowerCase())
    .filter((c) => c !== '' && c !== 'identity');
  if (codings.length === 0) return body;
  const unknown = codings.find((c) => !(CONTENT_CODINGS as readonly string[]).includes(c));
  if (unknown !== undefined) {
    throw new RequestRejectedError(
      'unsupported_encoding',
      415,
      `Content-Encoding ${unknown} is not supported: send gzip, deflate, br or an uncompressed body`,
    );
  }
  if (codings.length > 1)
    throw new RequestRejectedError('unsupported_encoding', 415, `Content-Encoding ${contentEncoding}: one coding at a time, please`);
  // A compressed body reaches us as bytes (base64 from API Gateway); a string can only be bytes that happened to be UTF-8.
  const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  if (bytes.byteLength > limits.maxBodyBytes) {
    throw new RequestRejectedError(
      'body_too_large',
      413,
      `compressed body is ${bytes.byteLength} bytes; the limit is ${limits.maxBodyBytes}`,
    );
  }
  const options = { maxOutputLength: limits.maxBodyBytes };
  const coding = codings[0]!;
  let output: Buffer;
  try {
    if (coding === 'br') output = brotliDecompressSync(bytes, options);
    else if (coding === 'deflate') {
      // HTTP's deflate is zlib-wrapped (RFC 1950); some clients send raw deflate (RFC 1951): both are read.
      try {
        output = inflateSync(bytes, options);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'Z_DATA_ERROR') throw error;
        output = inflateRawSync(bytes, options);
      }
    } else output = gunzipSync(bytes, options);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') {
      throw new RequestRejectedError('body_too_large', 413, `body decompresses to more than ${limits.maxBodyBytes} bytes, the limit`, {
        cause,
      });
    }
    throw new RequestRejectedError('invalid_compression', 400, `body is not valid ${coding} data (${(cause as Error).message})`, { cause });
  }
  if (bytes.byteLength > 0 && output.byteLength / bytes.byteLength > limits.maxInflateRatio) {
    throw new RequestRejectedError(
      'body_too_large',
      413,
      `body decompresses ${Math.round(output.byteLength / bytes.byteLength)} times its compressed size (${bytes.byteLength} → ${output.byteLength} bytes); the limit is ${limits.maxInflateRatio}`,
    );
  }
  return output;
}

/** The body exactly as received: bytes when API Gateway base64-encoded it, otherwise its string. */
export type ReceivedBody = Uint8Array | string;

export function receivedBody(request: IncomingRequest): ReceivedBody {
  if (request.body === undefined) return '';
  return request.isBase64Encoded ? Buffer.from(request.body, 'base64') : request.body;
}

export function byteLength(body: ReceivedBody): number {
  return typeof body === 'string' ? Buffer.byteLength(body, 'utf8') : body.byteLength;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns the received body into text: checks its size, that it is UTF-8 (a
 * leading BOM is dropped), and that it is not empty.
 *
 * @example
 * decodeBody(Buffer.from('{"id":1}'), limits) // → '{"id":1}'
 */
export function decodeBody(body: ReceivedBody, limits: Limits): string {
  const size = byteLength(body);
  if (size > limits.maxBodyBytes) {
    throw new RequestRejectedError('body_too_large', 413, `body is ${size} bytes; the limit is ${limits.maxBodyBytes}`);
  }
  let text: string;
  if (typeof body === 'string') {
    if (!body.isWellFormed()) throw new RequestRejectedError('invalid_utf8', 400, 'body is not valid UTF-8 (lone surrogate)');
    text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  } else {
    try {
      text = utf8.decode(body);
    } catch (cause) {
      throw new RequestRejectedError('invalid_utf8', 400, 'body is not valid UTF-8', { cause });
    }
  }
  if (text.trim() === '') throw new RequestRejectedError('empty_body', 400, 'body is empty');
  return text;
}
