import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  assessRequest,
  buildQuarantineObject,
  limitsSchema,
  keyRequestId,
  API_GATEWAY_EVENT_OVERHEAD_BYTES,
  LAMBDA_SYNC_PAYLOAD_MAX_BYTES,
  MAX_SAFE_BODY_BYTES,
  quarantineKey,
  quarantineKeyMatches,
  quarantineObjectSchema,
  quarantinedInput,
  statusOf,
} from '@snowgate/core';
import { ingestSettingsFromEnv } from '@snowgate/config';

describe('quarantinedInput', () => {
  it('keeps UTF-8 text as text and other bytes as base64', () => {
    expect(quarantinedInput('{"a":', 100)).toEqual({ encoding: 'utf8', size: 5, truncated: false, data: '{"a":' });
    expect(quarantinedInput(new Uint8Array([0xff, 0x00]), 100)).toEqual({ encoding: 'base64', size: 2, truncated: false, data: '/wA=' });
    // A byte-order mark is part of the input: kept (a UTF-8 decoder drops it by default). Found by the compressed-body property.
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]);
    expect(Buffer.from(quarantinedInput(bom, 100).data, 'utf8').equals(Buffer.from(bom))).toBe(true);
  });

  it('truncates with the true size, never inside a character', () => {
    const kept = quarantinedInput('ééé', 3);
    expect(kept).toEqual({ encoding: 'utf8', size: 6, truncated: true, data: 'é' });
  });
});

describe('quarantineKey', () => {
  it('is date-partitioned and carries a unique id', () => {
    expect(quarantineKey('errors/', '2026-11-22T04:05:06.789Z', 'Bk/Lw=', 'u-1')).toBe(
      'errors/dt=2026-11-22/hour=04/20261122T040506789Z-Bk_Lw=-u-1.json',
    );
  });

  it('carries the request id in base64url: + as -, / as _, = kept, so an id finds its key', () => {
    expect(keyRequestId('Ab+c/d9XYZ0123Q=')).toBe('Ab-c_d9XYZ0123Q=');
    expect(keyRequestId('LIxCyGd7SK4FjEg=')).toBe('LIxCyGd7SK4FjEg=');
    // Not an API Gateway id: still one path segment.
    expect(keyRequestId('a b/c?d')).toBe('a_b_c_d');
    const uuid = '5f0c5e8a-1b2c-4d3e-8f9a-0b1c2d3e4f5a';
    const key = quarantineKey('errors/', '2026-11-22T04:05:06.789Z', 'Ab+c/d9XYZ0123Q=', uuid);
    expect(key).toBe(`errors/dt=2026-11-22/hour=04/20261122T040506789Z-Ab-c_d9XYZ0123Q=-${uuid}.json`);
    expect(quarantineKeyMatches(key, 'Ab+c/d9XYZ0123Q=')).toBe(true);
    expect(quarantineKeyMatches(key, 'Ab+c/d9XYZ0123Q')).toBe(false);
    // Keys written before carried every +, / and = as _.
    expect(quarantineKeyMatches(`errors/dt=2026-11-22/hour=04/20261122T040506789Z-Ab_c_d9XYZ0123Q_-${uuid}.json`, 'Ab+c/d9XYZ0123Q=')).toBe(
      true,
    );
  });
});

describe('buildQuarantineObject', () => {
  it('keeps the input and the issues, and never a credential header', () => {
    const headers = {
      'content-type': 'application/json',
      authorization: 'Bearer secret',
      cookie: 'session=secret',
      'x-api-key': 'secret',
      'user-agent': 'test',
    };
    const assessment = assessRequest(
      { requestId: 'r', receivedAt: new Date('2026-11-22T00:00:00Z'), headers, body: '[{"id":1},{"id":""}]', isBase64Encoded: false },
      limitsSchema.parse({}),
    );
    const object = quarantineObjectSchema.parse(
      buildQuarantineObject(assessment, { status: statusOf(assessment), headers, maxInputBytes: 1024 }),
    );
    expect(object).toMatchObject({
      status: 207,
      reasons: ['invalid_id'],
      accepted: 1,
      rejected: 1,
      headers: { 'content-type': 'application/json', 'user-agent': 'test' },
    });
    expect(object.records[0]).toMatchObject({ index: 1, input: { data: '{"id":""}' }, issues: [{ path: ['id'] }] });
    expect(JSON.stringify(object)).not.toContain('secret');
  });
});

describe('ingestSettingsFromEnv', () => {
  it('reads, coerces and defaults', () => {
    const settings = ingestSettingsFromEnv({
      SNOWGATE_STREAM_NAME: 's',
      SNOWGATE_ERROR_BUCKET: 'bucket',
      SNOWGATE_MAX_DEPTH: '10',
      PATH: '/bin',
    });
    expect(settings).toMatchObject({
      streamName: 's',
      errorBucket: 'bucket',
      errorPrefix: 'errors/',
      limits: { maxDepth: 10, maxRecordsPerRequest: 500 },
      write: { budgetMs: 3_000 },
    });
  });

  it('fails loudly on a typo, a missing value or a limit above what AWS allows', () => {
    expect(() => ingestSettingsFromEnv({ SNOWGATE_STREAM_NAME: 's', SNOWGATE_ERROR_BUCKET: 'bucket', SNOWGATE_MAX_DEPHT: '10' })).toThrow(
      /SNOWGATE_MAX_DEPHT/,
    );
    expect(() => ingestSettingsFromEnv({ SNOWGATE_STREAM_NAME: 's' })).toThrow(ConfigError);
    expect(() =>
      ingestSettingsFromEnv({ SNOWGATE_STREAM_NAME: 's', SNOWGATE_ERROR_BUCKET: 'bucket', SNOWGATE_MAX_RECORD_BYTES: '2000000' }),
    ).toThrow(/limits.maxRecordBytes/);
    // Kinesis takes 1 MiB, but Firehose only 1,000 KiB: such a record would be acknowledged, then stuck.
    expect(() =>
      ingestSettingsFromEnv({ SNOWGATE_STREAM_NAME: 's', SNOWGATE_ERROR_BUCKET: 'bucket', SNOWGATE_MAX_RECORD_BYTES: '1048576' }),
    ).toThrow(/limits.maxRecordBytes/);
    expect(() =>
      ingestSettingsFromEnv({ SNOWGATE_STREAM_NAME: 's', SNOWGATE_ERROR_BUCKET: 'bucket', SNOWGATE_ERROR_PREFIX: 'no-slash' }),
    ).toThrow(/errorPrefix/);
  });

  it("refuses a body limit that API Gateway's event could push past Lambda's 6 MB: at most (6,291,456 − 65,536) / 6 bytes", () => {
    expect(MAX_SAFE_BODY_BYTES).toBe(1_037_653);
    expect(6 * MAX_SAFE_BODY_BYTES + API_GATEWAY_EVENT_OVERHEAD_BYTES).toBeLessThanOrEqual(LAMBDA_SYNC_PAYLOAD_MAX_BYTES);
    const env = { SNOWGATE_STREAM_NAME: 's', SNOWGATE_ERROR_BUCKET: 'bucket' };
    expect(ingestSettingsFromEnv(env).limits.maxBodyBytes).toBe(MAX_SAFE_BODY_BYTES);
    expect(ingestSettingsFromEnv({ ...env, SNOWGATE_MAX_BODY_BYTES: '1037653' }).limits.maxBodyBytes).toBe(1_037_653);
    // The former default: 4 MiB of quotes is 8 MiB in the event.
    expect(() => ingestSettingsFromEnv({ ...env, SNOWGATE_MAX_BODY_BYTES: '4194304' })).toThrow(
      /limits.maxBodyBytes.*at most 1037653.*Lambda's 6 MB payload/s,
    );
  });
});
