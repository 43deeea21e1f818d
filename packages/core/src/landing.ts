import { gunzipSync } from 'node:zlib';

/** How Firehose stores landing files: gzip (the default) or as written. */
export type LandingCompression = 'GZIP' | 'UNCOMPRESSED';

/**
 * Firehose names a GZIP object with `.gz` after its generated name (its default file
 * extension for that compression format); an uncompressed one has no extension.
 * https://docs.aws.amazon.com/firehose/latest/dev/s3-object-name.html
 */
export const LANDING_EXTENSION: Record<LandingCompression, string> = { GZIP: '.gz', UNCOMPRESSED: '' };

/**
 * A landing file's NDJSON text, whether it was stored gzip or not: read by its content
 * (gzip's magic bytes), as Snowflake's `COMPRESSION = AUTO` does, so that a stage that
 * switched compression loads files of both kinds.
 *
 * @example
 * landingText(gzipSync('{"received_at":"…","request_id":"r","record":{"id":1}}\n')) // → '{"received_at":…}\n'
 */
export function landingText(bytes: Uint8Array): string {
  const gzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  return Buffer.from(gzip ? gunzipSync(bytes) : bytes).toString('utf8');
}
