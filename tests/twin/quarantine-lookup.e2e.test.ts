import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { QuarantineObject } from '@snowgate/core';
import { parseStageConfig } from '@snowgate/config';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { post } from './support';
import { useTwin } from './use-twin';

const root = new URL('../../', import.meta.url).pathname;
const stage = parseStageConfig({ snowflake: { externalId: 'local' } });

describe('finding the quarantine object of an answer by its requestId, on the twin', () => {
  const state = useTwin(stage);
  const replayCli = (args: string[]) =>
    promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', join(root, 'cli/replay.ts'), '--data-dir', state.dataDir, '--json', ...args],
      {
        cwd: root,
        env: { ...process.env, NODE_NO_WARNINGS: '1' },
      },
    );
  const found = async (requestId: string) =>
    (JSON.parse((await replayCli(['--request-id', requestId])).stdout) as { objects: { key: string }[] }).objects.map((o) => o.key);

  it('pnpm replay --request-id <requestId> names its object, whose key carries the id with + as - and / as _', async () => {
    const answers = [
      await post(state.twin.endpoints.api, '[{"id":"ok-1"},{"no":"id"}]'),
      await post(state.twin.endpoints.api, '{"no":"id"}'),
    ];
    expect(answers.map((a) => a.status)).toEqual([207, 422]);
    for (const { body } of answers) {
      const keys = await found(body.requestId);
      expect(keys).toHaveLength(1);
      // The documented mapping, by hand.
      expect(keys[0]).toContain(`-${body.requestId.replaceAll('+', '-').replaceAll('/', '_')}-`);
      expect(keys[0]).toMatch(/^errors\/dt=\d{4}-\d{2}-\d{2}\/hour=\d{2}\/[^/]+\.json$/);
    }
  });

  it('finds an object stored under the older key format (+, / and = as _) too, and only the one of that id', async () => {
    const s3 = new S3Client({
      endpoint: state.twin.endpoints.s3,
      region: 'us-east-1',
      forcePathStyle: true,
      credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    });
    const receivedAt = new Date().toISOString();
    const object = (requestId: string): QuarantineObject => ({
      schema: 'snowgate.quarantine/v1',
      request_id: requestId,
      received_at: receivedAt,
      status: 422,
      reasons: ['missing_id'],
      headers: {},
      accepted: 0,
      rejected: 1,
      records: [
        {
          index: 0,
          reason: 'missing_id',
          message: 'record 0 has no id',
          issues: [],
          input: { encoding: 'utf8', size: 2, truncated: false, data: '{}' },
        },
      ],
    });
    const stamp = receivedAt.replace(/[-:.]/g, '');
    const folder = `errors/dt=${receivedAt.slice(0, 10)}/hour=${receivedAt.slice(11, 13)}/`;
    // Two ids that the older format wrote alike.
    const keys = ['Ab+c/d9XYZ0123Q=', 'Ab/c+d9XYZ0123Q='].map(
      (_id, i) => `${folder}${stamp}-Ab_c_d9XYZ0123Q_-0000000${i}-0000-4000-8000-000000000000.json`,
    );
    for (const [i, id] of ['Ab+c/d9XYZ0123Q=', 'Ab/c+d9XYZ0123Q='].entries()) {
      await s3.send(
        new PutObjectCommand({
          Bucket: state.twin.endpoints.buckets.errors,
          Key: keys[i],
          Body: JSON.stringify(object(id)),
          ContentType: 'application/json',
        }),
      );
    }
    s3.destroy();
    expect(await found('Ab+c/d9XYZ0123Q=')).toEqual([keys[0]]);
    expect(await found('Ab/c+d9XYZ0123Q=')).toEqual([keys[1]]);
  });
});
