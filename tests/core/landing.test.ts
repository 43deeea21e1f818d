import { LANDING_EXTENSION, landingText } from '@snowgate/core';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';

const ndjson = '{"received_at":"2026-12-07T00:00:00.000Z","request_id":"r","record":{"id":"é-1"}}\n';

describe('landingText', () => {
  it('reads a gzip landing file and an uncompressed one to the same text', () => {
    expect(landingText(gzipSync(ndjson))).toBe(ndjson);
    expect(landingText(Buffer.from(ndjson))).toBe(ndjson);
  });

  it('reads an empty file as empty, and a truncated gzip file as an error, not as text', () => {
    expect(landingText(new Uint8Array())).toBe('');
    expect(() => landingText(gzipSync(ndjson).subarray(0, 20))).toThrow();
  });

  it('names gzip objects .gz, as Firehose does', () => {
    expect(LANDING_EXTENSION).toEqual({ GZIP: '.gz', UNCOMPRESSED: '' });
  });
});
