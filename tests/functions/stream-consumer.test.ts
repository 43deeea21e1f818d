/**
 * The stream consumer's handler, as Lambda's event source mapping calls it, on the real REST client against
 * the twin's emulated Snowpipe Streaming endpoint (an in-memory sink): the row it appends, a retried batch
 * skipped where the channel committed, and each failure answered as ReportBatchItemFailures from the first
 * record not committed. The events are real envelopes, packed as the ingest handler packs them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { assessRequest, limitsSchema, packingSchema, packRecords } from '@snowgate/core';
import { createStreamConsumerHandler } from '@snowgate/functions/stream-consumer-handler';
import { createStreamDelivery } from '@snowgate/functions/stream-delivery';
import { JwtSource, SnowpipeStreamingClient } from '@snowgate/snowflake-api';
import {
  InMemoryStreamingSink,
  type SnowpipeStreamingEndpoint,
  type SnowpipeStreamingEndpointOptions,
  startSnowpipeStreamingEndpoint,
} from '@snowgate/twin/snowpipe-streaming';
import type { KinesisStreamEvent } from 'aws-lambda';
import { afterEach, describe, expect, it } from 'vitest';

const key = generateKeyPairSync('rsa', { modulusLength: 2048 });
const PIPE = { database: 'SNOWGATE', schema: 'RAW', pipe: 'RAW_EVENTS_STREAMING_PIPE' };
const SHARD = 'shardId-000000000003';
const CHANNEL = { ...PIPE, channel: `snowgate-test-${SHARD}` };

let endpoint: SnowpipeStreamingEndpoint | undefined;
afterEach(async () => {
  await endpoint?.close();
  endpoint = undefined;
});

async function consumer(options: Partial<SnowpipeStreamingEndpointOptions> = {}, commitTimeoutMs = 2_000) {
  const sink = new InMemoryStreamingSink();
  endpoint = await startSnowpipeStreamingEndpoint({
    account: 'MYORG-TEST',
    user: 'LOADER',
    publicKey: key.publicKey,
    pipes: [PIPE],
    sink,
    ...options,
  });
  const client = new SnowpipeStreamingClient({
    baseUrl: endpoint.url,
    auth: new JwtSource({
      account: 'myorg-test',
      user: 'loader',
      privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    }),
    ...PIPE,
    // Failures answered at once: the backoff is the client's own tests' business.
    backoff: { baseMs: 1, maxMs: 1, budgetMs: 50 },
  });
  const logs: string[] = [];
  const handler = createStreamConsumerHandler(
    createStreamDelivery({ channels: client, channelPrefix: 'snowgate-test', commitTimeoutMs, log: (m) => logs.push(m) }),
  );
  return { sink, handler, logs, endpoint };
}

/** A Kinesis event of `records` packed records, each of `perRecord` events, with increasing sequence numbers from `first`. */
function kinesisEvent(first: bigint, records: number, perRecord: number, name = 'e'): KinesisStreamEvent {
  return {
    Records: Array.from({ length: records }, (_, r) => {
      const { accepted } = assessRequest(
        {
          requestId: `req-${name}-${r}`,
          receivedAt: new Date('2026-12-07T10:00:00.000Z'),
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify(Array.from({ length: perRecord }, (_, i) => ({ id: `${name}-${r}-${i}` }))),
          isBase64Encoded: false,
        },
        limitsSchema.parse({}),
      );
      const [pack] = packRecords(accepted, packingSchema.parse({}), `req-${name}-${r}`);
      const sequenceNumber = String(first + BigInt(r) * 1_000_000_000_000_000_000n);
      return {
        eventID: `${SHARD}:${sequenceNumber}`,
        eventName: 'aws:kinesis:record',
        eventSource: 'aws:kinesis',
        eventSourceARN: 'arn:aws:kinesis:us-east-1:000000000000:stream/s',
        eventVersion: '1.0',
        awsRegion: 'us-east-1',
        invokeIdentityArn: 'arn:aws:iam::000000000000:role/r',
        kinesis: {
          kinesisSchemaVersion: '1.0',
          partitionKey: pack!.partitionKey,
          sequenceNumber,
          data: Buffer.from(pack!.data).toString('base64'),
          approximateArrivalTimestamp: 1_796_637_600,
        },
      };
    }),
  };
}

const FIRST = 49_000_000_000_000_000_000_000_000n;
const seq = (event: KinesisStreamEvent, i: number) => event.Records[i]!.kinesis.sequenceNumber;
const ids = (sink: InMemoryStreamingSink) => sink.rows().map((r) => (r.record as { id: string }).id);

describe('the stream consumer', () => {
  it("appends every event as the streaming pipe's row, through one channel per shard, with the last sequence number committed", async () => {
    const { sink, handler, endpoint } = await consumer();
    const event = kinesisEvent(FIRST, 3, 2);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const rows = sink.rows(CHANNEL);
    expect(ids(sink)).toEqual(['e-0-0', 'e-0-1', 'e-1-0', 'e-1-1', 'e-2-0', 'e-2-1']);
    expect(rows[3]).toMatchObject({
      received_at: '2026-12-07T10:00:00.000Z',
      request_id: 'req-e-1',
      record: { id: 'e-1-1' },
      source_file: `kinesis:${SHARD}:${seq(event, 1)}`,
      file_row_number: 2,
    });
    expect(Date.parse(rows[0]!.loaded_at as string)).toBeGreaterThan(Date.parse('2026-12-07T10:00:00.000Z'));
    expect(await sink.committedOffset(CHANNEL)).toBe(seq(event, 2));
    expect(endpoint.channels().map((c) => c.channel)).toEqual([CHANNEL.channel]);
  });

  it('skips what the channel committed when a batch comes again (a retry, or a consumer that died before its checkpoint)', async () => {
    const { sink, handler } = await consumer();
    const first = kinesisEvent(FIRST, 2, 3);
    expect(await handler(first)).toEqual({ batchItemFailures: [] });
    // The event source gives the same records again, and one more.
    const again = kinesisEvent(FIRST, 3, 3);
    expect(await handler(again)).toEqual({ batchItemFailures: [] });
    expect(ids(sink)).toEqual(['e-0-0', 'e-0-1', 'e-0-2', 'e-1-0', 'e-1-1', 'e-1-2', 'e-2-0', 'e-2-1', 'e-2-2']);

    // A new container (a cold start) reads the committed offset when it opens the channel.
    const cold = createStreamConsumerHandler(
      createStreamDelivery({
        channels: new SnowpipeStreamingClient({
          baseUrl: endpoint!.url,
          auth: new JwtSource({
            account: 'myorg-test',
            user: 'loader',
            privateKey: key.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
          }),
          ...PIPE,
        }),
        channelPrefix: 'snowgate-test',
      }),
    );
    expect(await cold(again)).toEqual({ batchItemFailures: [] });
    expect(sink.rows()).toHaveLength(9);
  });

  it('gives the batch back from its first record when an append fails for good, and appends it once when retried', async () => {
    const { sink, handler, endpoint, logs } = await consumer();
    const event = kinesisEvent(FIRST, 3, 1);
    // An answer the client does not retry (not a 429, a 5xx or a channel to reopen).
    endpoint.injectFault({ on: 'rows', status: 400, code: 'ERR_INVALID_REQUEST' });
    const failed = await handler(event);
    expect(failed).toEqual({ batchItemFailures: [{ itemIdentifier: seq(event, 0) }] });
    expect(logs.some((l) => l.includes('delivery failed'))).toBe(true);
    expect(sink.rows()).toEqual([]);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    expect(ids(sink)).toEqual(['e-0-0', 'e-1-0', 'e-2-0']);
  });

  it('resumes after what the channel committed when its answer was lost, and loads nothing twice', async () => {
    const { sink, handler, endpoint } = await consumer();
    const event = kinesisEvent(FIRST, 2, 2);
    // Applied, then the connection reset: the client's resend is refused, the channel reopened.
    endpoint.injectFault({ on: 'rows', reset: true, afterApply: true });
    const answer = await handler(event);
    const again = await handler(kinesisEvent(FIRST, 2, 2));
    expect([answer, again]).toContainEqual({ batchItemFailures: [] });
    expect(ids(sink)).toEqual(['e-0-0', 'e-0-1', 'e-1-0', 'e-1-1']);
  });

  it('answers a batch not committed in time with its first record not committed, and stops waiting on a channel that failed its commit', async () => {
    const { sink, handler, endpoint } = await consumer({ commitDelayMs: 20 }, 10_000);
    const event = kinesisEvent(FIRST, 2, 1);
    expect(await handler(event)).toEqual({ batchItemFailures: [] });
    const next = kinesisEvent(FIRST, 4, 1);
    endpoint.injectFault({ on: 'rows', failCommit: true });
    const started = Date.now();
    // The commit fails and invalidates the channel: the batch is given back from its first uncommitted record at once.
    expect(await handler(next)).toEqual({ batchItemFailures: [{ itemIdentifier: seq(next, 2) }] });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await handler(next)).toEqual({ batchItemFailures: [] });
    expect(ids(sink)).toEqual(['e-0-0', 'e-1-0', 'e-2-0', 'e-3-0']);
  });
});
