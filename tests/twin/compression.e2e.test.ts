import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { quarantineObjectSchema } from '@snowgate/core';
import { parseStageConfig } from '@snowgate/config';
import { createClients } from '@snowgate/functions/clients';
import { gzipSync, brotliCompressSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { useTwin } from './use-twin';

const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } });

describe('compressed bodies through the twin, over HTTP', () => {
  const running = useTwin(stage);

  const send = async (body: Uint8Array, encoding: string) => {
    const response = await fetch(`${running.twin.endpoints.api}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': encoding },
      body,
    });
    return { status: response.status, body: (await response.json()) as { requestId: string; accepted: number } };
  };

  it('loads gzip and br batches, and quarantines a torn gzip body as the bytes received', async () => {
    const batch = JSON.stringify(Array.from({ length: 50 }, (_, i) => ({ id: `gz-${i}`, type: 'compressed', n: i })));
    expect((await send(gzipSync(batch), 'gzip')).body.accepted).toBe(50);
    expect((await send(brotliCompressSync('{"id":"br-1"}'), 'br')).status).toBe(202);
    const torn = gzipSync(batch).subarray(0, 100);
    const refused = await send(torn, 'gzip');
    expect(refused.status).toBe(400);

    const { s3 } = createClients(
      { region: 'us-east-1', s3Endpoint: running.twin.endpoints.s3 },
      { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    );
    try {
      const [key] = ((await s3.send(new ListObjectsV2Command({ Bucket: running.twin.endpoints.buckets.errors }))).Contents ?? []).map(
        (o) => o.Key!,
      );
      const q = quarantineObjectSchema.parse(
        JSON.parse(
          await (
            await s3.send(new GetObjectCommand({ Bucket: running.twin.endpoints.buckets.errors, Key: key! }))
          ).Body!.transformToString(),
        ),
      );
      expect(q).toMatchObject({
        request_id: refused.body.requestId,
        reasons: ['invalid_compression'],
        headers: { 'content-encoding': 'gzip' },
      });
      expect(Buffer.from(q.body!.data, 'base64').equals(torn)).toBe(true);
    } finally {
      s3.destroy();
    }

    for (let i = 0; i < 100; i++) {
      const response = await fetch(`${running.twin.endpoints.api}/query`, {
        method: 'POST',
        body: `SELECT count(*) AS n FROM raw_events`,
        headers: { 'x-snowgate-query': '1' },
      });
      if (Number(((await response.json()) as { rows: { n: unknown }[] }).rows[0]!.n) === 51) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error('the compressed events did not reach raw_events');
  });
});
