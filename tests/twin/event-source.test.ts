// The twin's event source mapping, as Lambda's for Kinesis: per-shard order, batches, retries from the
// record a ReportBatchItemFailures names, checkpoints only after success, and a restart resuming there.
import { PutRecordsCommand } from '@aws-sdk/client-kinesis';
import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalEventSource } from '../../packages/twin/src/event-source';
import { createStream, type Emulators, startEmulators } from '../support/emulators';
import { removeDir, tempDataDir } from './support';

let emulators: Emulators;
beforeAll(async () => {
  emulators = await startEmulators();
});
afterAll(async () => {
  await emulators?.stop();
});

async function put(stream: string, ids: string[]): Promise<void> {
  const r = await emulators.kinesis.send(
    new PutRecordsCommand({ StreamName: stream, Records: ids.map((id) => ({ PartitionKey: id, Data: Buffer.from(id) })) }),
  );
  expect(r.FailedRecordCount).toBe(0);
}

const dataOf = (event: KinesisStreamEvent) => event.Records.map((r) => Buffer.from(r.kinesis.data, 'base64').toString());

async function until(check: () => boolean, ms = 15_000): Promise<void> {
  for (const end = Date.now() + ms; !check(); ) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('the local event source mapping', () => {
  it('invokes per shard in order, retries from the failed record after a backoff, checkpoints only what succeeded, and resumes there', async () => {
    const stream = 'event-source-order';
    await createStream(emulators.kinesis, stream, 2);
    const ids = Array.from({ length: 60 }, (_, i) => `e${i}`);
    await put(stream, ids);
    const stateDir = tempDataDir();
    try {
      const seen: string[][] = [];
      const done: string[] = [];
      let failOnce = 'e17';
      const invoke = async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
        const data = dataOf(event);
        seen.push(data);
        expect(new Set(event.Records.map((r) => r.eventID.split(':')[0])).size).toBe(1);
        const at = data.indexOf(failOnce);
        if (at >= 0) {
          failOnce = '';
          done.push(...data.slice(0, at));
          return { batchItemFailures: [{ itemIdentifier: event.Records[at]!.kinesis.sequenceNumber }] };
        }
        done.push(...data);
        return { batchItemFailures: [] };
      };
      const source = new LocalEventSource({
        kinesis: emulators.kinesis,
        streamName: stream,
        invoke,
        batchSize: 7,
        batchingWindowMs: 0,
        stateDir,
      });
      await source.start();
      await until(() => done.length === ids.length);
      await source.drain();

      // Every record once, the failed one and those after it in its shard given again, nothing before it.
      expect([...done].sort()).toEqual([...ids].sort());
      expect(seen.every((batch) => batch.length <= 7)).toBe(true);
      const retried = seen.findIndex((batch) => batch[0] === 'e17');
      expect(retried).toBeGreaterThan(0);
      const snapshot = source.snapshot();
      expect(snapshot.shards).toHaveLength(2);
      expect(snapshot.failedInvocations).toBe(1);
      expect(snapshot.shards.every((s) => s.checkpoint !== undefined && s.pendingRecords === 0)).toBe(true);

      // A new event source on the same state reads only what came after the checkpoints.
      await put(stream, ['late-1', 'late-2']);
      const again: string[] = [];
      const second = new LocalEventSource({
        kinesis: emulators.kinesis,
        streamName: stream,
        invoke: async (event) => {
          again.push(...dataOf(event));
          return { batchItemFailures: [] };
        },
        batchSize: 100,
        batchingWindowMs: 0,
        stateDir,
      });
      await second.start();
      await until(() => again.length >= 2);
      await second.drain();
      expect(again.sort()).toEqual(['late-1', 'late-2']);
    } finally {
      removeDir(stateDir);
    }
  }, 30_000);

  it('keeps a shard in order: a record after a failed one is never invoked before it succeeds', async () => {
    const stream = 'event-source-single';
    await createStream(emulators.kinesis, stream, 1);
    await put(stream, ['a', 'b', 'c', 'd']);
    const stateDir = tempDataDir();
    try {
      const order: string[] = [];
      let failures = 2;
      const source = new LocalEventSource({
        kinesis: emulators.kinesis,
        streamName: stream,
        invoke: async (event) => {
          const data = dataOf(event);
          if (failures > 0 && data.includes('b')) {
            failures--;
            // A thrown error fails the whole batch.
            throw new Error('consumer down');
          }
          order.push(...data);
          return { batchItemFailures: [] };
        },
        batchSize: 2,
        batchingWindowMs: 0,
        stateDir,
      });
      await source.start();
      await until(() => order.length === 4);
      await source.drain();
      expect(order).toEqual(['a', 'b', 'c', 'd']);
      expect(source.snapshot().failedInvocations).toBe(2);
    } finally {
      removeDir(stateDir);
    }
  }, 30_000);
});
