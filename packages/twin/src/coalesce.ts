import {
  PutRecordsCommand,
  type KinesisClient,
  type PutRecordsCommandInput,
  type PutRecordsCommandOutput,
  type PutRecordsRequestEntry,
} from '@aws-sdk/client-kinesis';
import { KINESIS_PUT_RECORDS_MAX_BYTES, KINESIS_PUT_RECORDS_MAX_RECORDS } from '@snowgate/core';

interface Waiting {
  records: PutRecordsRequestEntry[];
  bytes: number;
  resolve: (output: PutRecordsCommandOutput) => void;
  reject: (error: unknown) => void;
}

const entryBytes = (r: PutRecordsRequestEntry) => (r.Data?.byteLength ?? 0) + Buffer.byteLength(r.PartitionKey ?? '');

/**
 * Merges the PutRecords calls that concurrent requests make in the same turn of
 * the event loop into one call (within PutRecords' 500-record and 5 MiB
 * limits), and gives each caller back exactly its own entries' results, so that
 * no request is answered before its own records are stored.
 *
 * This is the twin's process layout, not the Lambda's: in AWS each invocation
 * is alone. The handler does not know: it still sends its own PutRecords and
 * reads per-entry results, partial failures included.
 *
 * The merged call goes out through `raw`, a client of its own, so that no
 * caller's abort signal or options apply to the others' records. A caller whose
 * deadline passes stops waiting (its handler answers 503); the merged call goes on.
 */
export function coalescePutRecords(client: KinesisClient, raw: KinesisClient): void {
  let queue: Waiting[] = [];
  let queuedRecords = 0;
  let queuedBytes = 0;
  let scheduled = false;

  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutRecordsCommand') return next(args);
      const input = args.input as PutRecordsCommandInput;
      const records = input.Records ?? [];
      const bytes = records.reduce((sum, r) => sum + entryBytes(r), 0);
      const output = await new Promise<PutRecordsCommandOutput>((resolve, reject) => {
        const send = (batch: Waiting[]) => {
          const merged = batch.flatMap((w) => w.records);
          raw.send(new PutRecordsCommand({ ...input, Records: merged })).then(
            (output) => {
              const all = output.Records ?? [];
              let offset = 0;
              for (const w of batch) {
                const mine = all.slice(offset, offset + w.records.length);
                offset += w.records.length;
                w.resolve({ ...output, Records: mine, FailedRecordCount: mine.filter((r) => r.ErrorCode).length });
              }
            },
            (error: unknown) => {
              for (const w of batch) w.reject(error);
            },
          );
        };
        const flush = () => {
          scheduled = false;
          const batch = queue;
          queue = [];
          queuedRecords = 0;
          queuedBytes = 0;
          if (batch.length > 0) send(batch);
        };
        if (queuedRecords + records.length > KINESIS_PUT_RECORDS_MAX_RECORDS || queuedBytes + bytes > KINESIS_PUT_RECORDS_MAX_BYTES)
          flush();
        queue.push({ records, bytes, resolve, reject });
        queuedRecords += records.length;
        queuedBytes += bytes;
        if (!scheduled) {
          scheduled = true;
          setImmediate(flush);
        }
      });
      return { output, response: undefined } as unknown as Awaited<ReturnType<typeof next>>;
    },
    { step: 'initialize', name: 'snowgateTwinCoalesce', priority: 'high' },
  );
}
