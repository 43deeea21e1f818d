import { Logger } from '@aws-lambda-powertools/logger';
import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, S3Client, type PutObjectCommandInput } from '@aws-sdk/client-s3';
import type { Contracts } from '@snowgate/core';
import { parseIngestSettings, type IngestSettingsInput } from '@snowgate/config';
import { loadContracts } from '@snowgate/contracts';
import type { IngestMetrics } from '@snowgate/functions/metrics';
import { createIngestHandler } from '@snowgate/functions/ingest-handler';
import { mockClient } from 'aws-sdk-client-mock';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** The real handler (middy chain included) over SDK clients whose transport is replaced by aws-sdk-client-mock. */
export function mockedHandler(
  overrides: Partial<IngestSettingsInput> = {},
  logger = new Logger({ serviceName: 'test', logLevel: 'SILENT' }),
  contracts?: Contracts,
  metrics?: IngestMetrics,
) {
  const settings = parseIngestSettings({
    streamName: 'snowgate-events',
    errorBucket: 'snowgate-errors',
    write: { budgetMs: 400, baseDelayMs: 5, maxDelayMs: 40, retryAfterSeconds: 3 },
    ...overrides,
  });
  const kinesis = new KinesisClient({ region: 'us-east-1', credentials });
  const s3 = new S3Client({ region: 'us-east-1', credentials });
  const kinesisMock = mockClient(kinesis);
  const s3Mock = mockClient(s3);
  kinesisMock.on(PutRecordsCommand).callsFake(async (input: PutRecordsCommandInput) => allStored(input));
  s3Mock.on(PutObjectCommand).resolves({ ETag: '"etag"' });
  // As the Lambda's entry does, but compiled here: the repository's schemas, when the settings turn contracts on.
  const compiled = contracts ?? loadContracts(settings.contracts, settings.schemasDir ?? 'schemas');
  const handler = createIngestHandler({ settings, kinesis, s3, logger, metrics, contracts: compiled });
  return {
    handler,
    settings,
    kinesisMock,
    s3Mock,
    /** Every PutRecords call's entries (Kinesis records: several envelopes each when packed), decoded. */
    putRecordsCalls: () => putRecordsCalls(kinesisMock),
    /** The envelopes of every Kinesis record put, in order: one per line of each record, as Firehose lands them. */
    envelopes: () =>
      putRecordsCalls(kinesisMock)
        .flat()
        .flatMap((e) => e.data.split('\n')),
    /** Every object written to the error bucket, parsed. */
    quarantined: () =>
      s3Mock.commandCalls(PutObjectCommand).map((c) => {
        const input = c.args[0].input as PutObjectCommandInput;
        return { bucket: input.Bucket!, key: input.Key!, ifNoneMatch: input.IfNoneMatch, object: JSON.parse(String(input.Body)) };
      }),
  };
}

function putRecordsCalls(kinesisMock: ReturnType<typeof mockClient>) {
  return kinesisMock.commandCalls(PutRecordsCommand).map((c) =>
    ((c.args[0].input as PutRecordsCommandInput).Records ?? []).map((r) => ({
      key: r.PartitionKey!,
      data: Buffer.from(r.Data!).toString('utf8'),
    })),
  );
}

let sequence = 0;
export function allStored(input: PutRecordsCommandInput) {
  return {
    FailedRecordCount: 0,
    Records: (input.Records ?? []).map(() => ({ ShardId: 'shardId-000000000000', SequenceNumber: String(++sequence) })),
  };
}

export function parseBody(response: { body?: string | undefined }) {
  return JSON.parse(response.body ?? 'null');
}
