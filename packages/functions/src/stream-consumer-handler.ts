import type { KinesisStreamBatchResponse, KinesisStreamEvent } from 'aws-lambda';
import type { StreamDelivery, StreamInputRecord } from './stream-delivery';

/**
 * The streaming consumer's handler: reads the event source mapping's batch, delivers it
 * (`stream-delivery.ts`), and answers with ReportBatchItemFailures: the first record not known to be
 * committed, from which Lambda retries in order (nothing before it is read again, nothing after it is lost).
 */
export function createStreamConsumerHandler(delivery: StreamDelivery) {
  return async (event: KinesisStreamEvent): Promise<KinesisStreamBatchResponse> => {
    const records: StreamInputRecord[] = event.Records.map((r) => ({
      // eventID is `<shardId>:<sequenceNumber>`.
      shardId: r.eventID.slice(0, r.eventID.lastIndexOf(':')),
      sequenceNumber: r.kinesis.sequenceNumber,
      data: Buffer.from(r.kinesis.data, 'base64').toString('utf8'),
    }));
    const { failedFrom } = await delivery.deliver(records);
    return { batchItemFailures: failedFrom === undefined ? [] : [{ itemIdentifier: failedFrom }] };
  };
}
