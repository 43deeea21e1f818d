import { RequestRejectedError } from './errors';
import type { Limits } from './settings';

/** A request as the ingest domain sees it: no API Gateway or Lambda types here. */
export interface IncomingRequest {
  requestId: string;
  receivedAt: Date;
  /** Header names lower-cased; repeated headers joined by commas (API Gateway's payload 2.0 does both). */
  headers: Readonly<Record<string, string | undefined>>;
  body: string | undefined;
  isBase64Encoded: boolean;
  sourceIp?: string | undefined;
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
  for (const value of contentType.split(',').map((v) => v.trim().toLowerCase()).filter((v) => v !== '')) {
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

/** Compressed bodies are refused rather than inflated (no decompression bombs, no hidden size). */
export function assertIdentityEncoding(contentEncoding: string | undefined): void {
  if (contentEncoding === undefined) return;
  const codings = contentEncoding.split(',').map((c) => c.trim().toLowerCase()).filter((c) => c !== '');
  if (codings.every((c) => c === 'identity')) return;
  throw new RequestRejectedError('unsupported_encoding', 415, `Content-Encoding ${contentEncoding} is not supported: send the body uncompressed`);
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
