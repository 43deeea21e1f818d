import type { KinesisClient, PutRecordsCommandInput, PutRecordsCommandOutput, PutRecordsResultEntry } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';

/**
 * Fault injection for the twin, because the emulators never fail on their own.
 * Faults are injected in the SDK's middleware stack, before the request leaves:
 * a failed PutRecords entry is really not sent (so it is not stored, as with a
 * throttled entry in Kinesis), and a failed PutObject never reaches S3.
 */
export function injectKinesisFaults(client: KinesisClient, rate: number, random: () => number = Math.random): void {
  if (rate <= 0) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'PutRecordsCommand') return next(args);
      const input = args.input as PutRecordsCommandInput;
      const records = input.Records ?? [];
      const failed = records.map(() => random() < rate);
      if (!failed.includes(true)) return next(args);
      const kept = records.filter((_, i) => !failed[i]);
      let output: PutRecordsCommandOutput = { Records: [], FailedRecordCount: 0, $metadata: {} };
      let response: unknown;
      if (kept.length > 0) {
        const result = await next({ ...args, input: { ...input, Records: kept } });
        output = result.output as PutRecordsCommandOutput;
        response = result.response;
      }
      const keptResults = [...(output.Records ?? [])];
      const merged: PutRecordsResultEntry[] = failed.map((f) =>
        f
          ? { ErrorCode: 'ProvisionedThroughputExceededException', ErrorMessage: 'Rate exceeded for shard (injected by the local twin)' }
          : keptResults.shift()!,
      );
      return {
        output: { ...output, Records: merged, FailedRecordCount: merged.filter((r) => r.ErrorCode).length },
        response,
      } as Awaited<ReturnType<typeof next>>;
    },
    { step: 'initialize', name: 'snowgateTwinKinesisFaults' },
  );
}

export function injectS3Faults(client: S3Client, rate: number, random: () => number = Math.random): void {
  if (rate <= 0) return;
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'PutObjectCommand' && random() < rate) {
        throw Object.assign(new Error('Please reduce your request rate. (injected by the local twin)'), {
          name: 'SlowDown',
          $fault: 'server',
          $metadata: { httpStatusCode: 503 },
        });
      }
      return next(args);
    },
    { step: 'initialize', name: 'snowgateTwinS3Faults' },
  );
}
