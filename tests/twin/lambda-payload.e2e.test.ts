import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { createClient } from '@snowgate/client';
import { parseStageConfig } from '@snowgate/config';
import { DEFAULT_LIMITS, MAX_SAFE_BODY_BYTES } from '@snowgate/core';
import { createClients } from '@snowgate/functions/clients';
import { describe, expect, it, vi } from 'vitest';
import { webhookBatch } from '../support/events';
import { useTwin } from './use-twin';

const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } });

/**
 * Lambda's 6 MB invoke payload, as the twin applies it: the body is measured as
 * API Gateway's event carries it (escaped as a JSON string), not as sent.
 */
describe("bodies and Lambda's 6 MB payload, through the twin", () => {
  const running = useTwin(stage);
  const post = async (body: string) => {
    const response = await fetch(`${running.twin.endpoints.api}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  };
  const quarantined = async () => {
    const { s3 } = createClients(
      { region: 'us-east-1', s3Endpoint: running.twin.endpoints.s3 },
      { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    );
    try {
      return (await s3.send(new ListObjectsV2Command({ Bucket: running.twin.endpoints.buckets.errors }))).KeyCount ?? 0;
    } finally {
      s3.destroy();
    }
  };

  it('500 webhook records (4,075,281 bytes, a 6.38 MB event) are refused before the function runs: 500 Internal Server Error, nothing taken, nothing quarantined', async () => {
    const logged = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const answer = await post(webhookBatch());
      expect(answer).toEqual({ status: 500, body: { message: 'Internal Server Error' } });
    } finally {
      logged.mockRestore();
    }
    expect(running.twin.status().api.accepted).toBe(0);
    expect(await quarantined()).toBe(0);
  });

  it('a body of the default maxBodyBytes reaches the function whatever its bytes (control characters grow sixfold), and so does one byte more, to be refused and quarantined', async () => {
    expect(DEFAULT_LIMITS.maxBodyBytes).toBe(MAX_SAFE_BODY_BYTES);
    const worst = '\u0001'.repeat(DEFAULT_LIMITS.maxBodyBytes);
    const malformed = await post(worst);
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ errors: [{ index: null, reason: 'malformed_json' }] });
    const over = await post(`${worst}\u0001`);
    expect(over.status).toBe(413);
    expect(over.body).toMatchObject({ errors: [{ index: null, reason: 'body_too_large' }] });
    expect(await quarantined()).toBe(2);
  });

  it('@snowgate/client delivers the 500 webhook records, even set for a body larger than the stage takes: sized for Lambda, split on a 413', async () => {
    const client = createClient({ endpoint: running.twin.endpoints.api, maxBatchBytes: 4 * 1_048_576, retryBaseDelayMs: 10 });
    const statuses: number[] = [];
    const records = JSON.parse(webhookBatch()) as { id: string }[];
    const outcomes = records.map((r) => client.send(r));
    const settled = await client.close();
    for (const o of await Promise.all(outcomes)) {
      if (o.httpStatus !== undefined) statuses.push(o.httpStatus);
    }
    expect(settled).toEqual({ delivered: 500, rejected: 0, failed: 0 });
    expect(new Set(statuses)).toEqual(new Set([202]));
    // Under Lambda's payload by the client's own sizing, then split on the stage's 413s (body_too_large) down to its maxBodyBytes.
    expect(client.stats().requests).toBeGreaterThan(4);
    expect(running.twin.status().api.accepted).toBe(500);
  });
});
