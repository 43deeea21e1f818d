import {
  assessRequest,
  buildQuarantineObject,
  limitsSchema,
  replayCandidates,
  responseOf,
  statusOf,
  type IncomingRequest,
} from '@snowgate/core';
import fc from 'fast-check';
import { brotliCompressSync, deflateRawSync, deflateSync, gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const limits = limitsSchema.parse({});

function request(bytes: Uint8Array | string, encoding: string | undefined, contentType = 'application/json'): IncomingRequest {
  const isBase64Encoded = typeof bytes !== 'string';
  return {
    requestId: 'req-z',
    receivedAt: new Date('2026-12-03T08:00:00.000Z'),
    headers: { 'content-type': contentType, ...(encoding === undefined ? {} : { 'content-encoding': encoding }) },
    body: isBase64Encoded ? Buffer.from(bytes).toString('base64') : bytes,
    isBase64Encoded,
  };
}
const outcome = (req: IncomingRequest, custom = limits) => {
  const a = assessRequest(req, custom);
  return { status: statusOf(a), reasons: a.requestRejection ? [a.requestRejection.reason] : a.rejected.map((r) => r.reason), a };
};

const batch = '[{"id":"z-1","type":"page_view","n":12345678901234567890},\n {"type":"no id"}, {"id":"z-3"}]';

describe('compressed bodies', () => {
  it.each([
    ['gzip', gzipSync(batch)],
    ['x-gzip', gzipSync(batch)],
    ['GZIP', gzipSync(batch)],
    ['deflate', deflateSync(batch)],
    ['deflate (raw, as some clients send it)', deflateRawSync(batch)],
    ['br', brotliCompressSync(batch)],
    ['gzip, identity', gzipSync(batch)],
  ])('%s: decoded and assessed like the plain body, records kept exactly', (name, bytes) => {
    const { status, a } = outcome(request(bytes, name.split(' (')[0]!));
    const plain = outcome(request(batch, undefined)).a;
    expect(status).toBe(207);
    expect(a.accepted.map((r) => r.data)).toEqual(plain.accepted.map((r) => r.data));
    expect(a.accepted[0]!.data).toContain('12345678901234567890');
    expect(responseOf(a).errors).toEqual(responseOf(plain).errors);
  });

  it('keeps a rejected record as decompressed text, and a body refused whole as the compressed bytes (base64)', () => {
    const mixed = outcome(request(gzipSync(batch), 'gzip')).a;
    const q1 = buildQuarantineObject(mixed, {
      status: 207,
      headers: { 'content-encoding': 'gzip' },
      maxInputBytes: limits.quarantineMaxInputBytes,
    });
    expect(q1.records[0]!.input).toMatchObject({ encoding: 'utf8', data: '{"type":"no id"}' });
    expect(q1.headers['content-encoding']).toBe('gzip');

    const torn = gzipSync('{"id":"a", "x":');
    const refused = outcome(request(torn, 'gzip')).a;
    expect(statusOf(refused)).toBe(400);
    const q2 = buildQuarantineObject(refused, {
      status: 400,
      headers: { 'content-encoding': 'gzip' },
      maxInputBytes: limits.quarantineMaxInputBytes,
    });
    expect(q2.body).toEqual({ encoding: 'base64', size: torn.byteLength, truncated: false, data: torn.toString('base64') });
    // And replay reads it back through the same decoder.
    expect(replayCandidates(q2)).toEqual([{ index: 0, reason: 'malformed_json', raw: '{"id":"a", "x":' }]);
  });

  it.each([
    ['truncated gzip', request(gzipSync(batch).subarray(0, 20), 'gzip'), 400, 'invalid_compression', /not valid gzip data/],
    ['a plain body labelled gzip', request(Buffer.from(batch), 'gzip'), 400, 'invalid_compression', /not valid gzip data/],
    ['gzip labelled br', request(gzipSync(batch), 'br'), 400, 'invalid_compression', /not valid br data/],
    ['an unknown coding', request(gzipSync(batch), 'compress'), 415, 'unsupported_encoding', /compress is not supported/],
    ['zstd', request(gzipSync(batch), 'zstd'), 415, 'unsupported_encoding', /zstd is not supported/],
    ['two codings', request(gzipSync(gzipSync(batch)), 'gzip, gzip'), 415, 'unsupported_encoding', /one coding at a time/],
    ['an empty gzip stream', request(gzipSync(''), 'gzip'), 400, 'empty_body', /empty/],
  ])('%s → %s %s', (_, req, status, reason, message) => {
    const { a } = outcome(req);
    expect(statusOf(a)).toBe(status);
    expect(a.requestRejection?.reason).toBe(reason);
    expect(a.requestRejection?.message).toMatch(message);
  });

  it('stops a decompression bomb at maxBodyBytes, without inflating it whole', () => {
    // 64 MiB of zeros in about 64 KB: it would blow the body limit sixty times over.
    const bomb = gzipSync(Buffer.alloc(64 * 1_048_576), { level: 9 });
    const { a } = outcome(request(bomb, 'gzip'));
    expect([statusOf(a), a.requestRejection?.reason]).toEqual([413, 'body_too_large']);
    expect(a.requestRejection?.message).toMatch(`decompresses to more than ${limits.maxBodyBytes} bytes`);
  });

  it('refuses a ratio over maxInflateRatio even under the size limit', () => {
    const padded = JSON.stringify({ id: 'r', pad: ' '.repeat(200_000) });
    const bytes = gzipSync(padded, { level: 9 });
    expect(padded.length / bytes.length).toBeGreaterThan(200);
    const { a } = outcome(request(bytes, 'gzip'));
    expect([statusOf(a), a.requestRejection?.reason]).toEqual([413, 'body_too_large']);
    expect(a.requestRejection?.message).toMatch(/times its compressed size .* the limit is 200/);
    expect(statusOf(outcome(request(bytes, 'gzip'), limitsSchema.parse({ maxInflateRatio: 1_100 })).a)).toBe(202);
  });

  it('counts the decompressed size against maxBodyBytes, and the compressed one too', () => {
    const body = JSON.stringify({ id: 'big', pad: 'x'.repeat(5_000) });
    expect(statusOf(outcome(request(gzipSync(body), 'gzip'), limitsSchema.parse({ maxBodyBytes: 4_096 })).a)).toBe(413);
    expect(statusOf(outcome(request(gzipSync(body), 'gzip'), limitsSchema.parse({ maxBodyBytes: 8_192 })).a)).toBe(202);
  });

  it('property: any bytes under any coding are assessed, never thrown', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 200 }),
          fc.jsonValue().map((v) => gzipSync(JSON.stringify(v))),
          fc.jsonValue().map((v) => brotliCompressSync(JSON.stringify(v))),
          fc.tuple(fc.jsonValue(), fc.nat(40)).map(([v, n]) => gzipSync(JSON.stringify(v)).subarray(0, n)),
        ),
        fc.constantFrom('gzip', 'deflate', 'br', 'identity', 'gzip, br', 'compress', ''),
        (bytes, encoding) => {
          const a = assessRequest(request(bytes, encoding), limits);
          expect([202, 207, 400, 413, 415, 422]).toContain(statusOf(a));
        },
      ),
      { numRuns: 500 },
    );
  });
});
