import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { landingText, quarantineObjectSchema } from '@snowgate/core';
import { parseStageConfig } from '@snowgate/config';
import { createClients } from '@snowgate/functions/clients';
import { fileApiKeyStore } from '@snowgate/twin';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTwin } from './use-twin';

const root = new URL('../../', import.meta.url).pathname;
const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 }, auth: { mode: 'apiKey' } });

describe('API keys on the twin: the production authorizer in front of the handler, keys from pnpm keys', () => {
  const running = useTwin(stage);
  const keys = (args: string[]) =>
    promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'cli/keys.ts'), '--data-dir', running.dataDir, ...args], {
      cwd: root,
      env: { ...process.env, NODE_NO_WARNINGS: '1' },
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code: number; stdout: string; stderr: string }) => e,
    );
  const post = async (body: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${running.twin.endpoints.api}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };

  it('401 without a key, 403 with a wrong one, 2xx with a valid one; the producer is in the envelope and the quarantine, the key nowhere', async () => {
    const created = await keys(['create', '--producer', 'acme-web']);
    expect(created.code).toBe(0);
    const key = created.stdout.trim();
    expect(key).toMatch(/^sg_[a-z0-9]{12}_/);

    expect(await post('{"id":"k-0"}')).toEqual({ status: 401, body: { message: 'Unauthorized' } });
    expect(await post('{"id":"k-0"}', { 'x-api-key': 'not-a-key' })).toEqual({ status: 403, body: { message: 'Forbidden' } });
    expect((await post('{"id":"k-0"}', { 'x-api-key': `${key.slice(0, 16)}${'B'.repeat(43)}` })).status).toBe(403);
    expect((await fetch(`${running.twin.endpoints.api}/health`)).status).toBe(200);
    const ok = await post('[{"id":"k-1"},{"nope":1}]', { 'x-api-key': key });
    expect(ok.status).toBe(207);

    const { s3 } = createClients(
      { region: 'us-east-1', s3Endpoint: running.twin.endpoints.s3 },
      { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    );
    try {
      const read = async (bucket: string, prefix: string) => {
        for (let i = 0; i < 100; i++) {
          const keysFound = ((await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }))).Contents ?? []).map(
            (o) => o.Key!,
          );
          if (keysFound.length > 0)
            return Promise.all(
              keysFound.map(async (k) =>
                landingText(await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: k }))).Body!.transformToByteArray()),
              ),
            );
          await new Promise((r) => setTimeout(r, 100));
        }
        throw new Error(`nothing under s3://${bucket}/${prefix}`);
      };
      // Only the authorized request was quarantined (API Gateway refuses the others before any handler runs).
      const [quarantined, ...more] = await read(running.twin.endpoints.buckets.errors, 'errors/');
      expect(more).toEqual([]);
      const q = quarantineObjectSchema.parse(JSON.parse(quarantined!));
      expect(q.producer).toBe('acme-web');
      expect(quarantined).not.toContain(key.slice(16));
      const landed = (await read(running.twin.endpoints.buckets.landing, 'events/')).join('\n');
      expect(landed).toMatch(/"auth":"apiKey","producer":"acme-web","record":\{"id":"k-1"\}/);
      expect(landed).not.toContain(key.slice(16));
    } finally {
      s3.destroy();
    }

    const listed = await keys(['list', '--json']);
    const [record] = JSON.parse(listed.stdout) as { key_id: string; enabled: boolean; sha256?: string }[];
    expect(record).toMatchObject({ enabled: true });
    expect(record!.sha256).toBeUndefined();
    expect((await keys(['revoke', '--key', key])).code).toBe(0);
    // The twin's authorizer keeps a record for a second.
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await post('{"id":"k-2"}', { 'x-api-key': key })).status).toBe(403);
    expect((await fileApiKeyStore(running.dataDir).list())[0]).toMatchObject({ enabled: false, revoked_at: expect.any(String) });
    // Enabled again, it works again.
    expect((await keys(['enable', '--key-id', record!.key_id])).code).toBe(0);
    await new Promise((r) => setTimeout(r, 1_100));
    expect((await post('{"id":"k-3"}', { 'x-api-key': key })).status).toBe(202);
    const usage = await keys(['create']);
    expect([usage.code, usage.stderr]).toEqual([2, expect.stringContaining('--producer <name> is required')]);
  }, 120_000); // five runs of pnpm keys (tsx compiles it each time): seconds apiece on a busy machine, as in keys-cli.test.ts
});
