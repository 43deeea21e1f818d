import { PutRecordsCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import {
  type AcceptedRecord,
  type Clock,
  type DeliveryStats,
  deliverWithRetry,
  isRetryableError,
  packRecords,
  systemClock,
} from '@snowgate/core';
import type { IngestSettings } from '@snowgate/config';

const encoder = new TextEncoder();

export interface StreamDelivery extends DeliveryStats {
  /** Kinesis records the envelopes went in (each acknowledged once; resends counted in `resent`). */
  streamRecords: number;
}

/**
 * Puts accepted records on the stream with PutRecords, packed as the settings
 * say (`packRecords`: several envelopes per Kinesis record keyed by
 * `<requestKey>:<n>`, or one per record keyed by its id), and retries only the
 * Kinesis records that failed (PutRecords is not atomic: the others are
 * already stored, and a packed record is stored whole or not at all).
 */
export function createKinesisWriter(
  kinesis: KinesisClient,
  settings: Pick<IngestSettings, 'streamName' | 'write' | 'packing'>,
  clock: Clock = systemClock,
) {
  return async function putRecords(
    records: readonly AcceptedRecord[],
    deadline: number,
    /** Names the packs' partition keys: the request id (the handler), or the replay run and object. */
    requestKey: string,
  ): Promise<StreamDelivery> {
    const packs = packRecords(records, settings.packing, requestKey);
    const stats = await deliverWithRetry(
      packs,
      async (chunk, abortSignal) => {
        const output = await kinesis.send(
          new PutRecordsCommand({
            StreamName: settings.streamName,
            Records: chunk.map((r) => ({ PartitionKey: r.partitionKey, Data: encoder.encode(r.data) })),
          }),
          { abortSignal },
        );
        const failed: number[] = [];
        const errorCodes: string[] = [];
        if ((output.FailedRecordCount ?? 0) > 0 || (output.Records?.length ?? 0) !== chunk.length) {
          chunk.forEach((_, i) => {
            const result = output.Records?.[i];
            if (!result || result.ErrorCode || !result.SequenceNumber) {
              failed.push(i);
              errorCodes.push(result?.ErrorCode ?? 'MissingResult');
            }
          });
        }
        return { failed, errorCodes };
      },
      {
        deadline,
        baseDelayMs: settings.write.baseDelayMs,
        maxDelayMs: settings.write.maxDelayMs,
        retryAfterSeconds: settings.write.retryAfterSeconds,
        // A missing stream, denied access, a disabled KMS key or a bug fails the request at once (500): see isRetryableError.
        isRetryable: isRetryableError,
      },
      clock,
    );
    return { ...stats, streamRecords: packs.length };
  };
}
