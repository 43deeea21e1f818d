import { Logger } from '@aws-lambda-powertools/logger';
import { KinesisClient, PutRecordsCommand, type PutRecordsCommandInput } from '@aws-sdk/client-kinesis';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { parseIngestSettings } from '@snowgate/config';
import { createIngestHandler } from '@snowgate/functions/ingest-handler';
import { mockClient } from 'aws-sdk-client-mock';
import { describe, expect, it, vi } from 'vitest';
import { apiEvent, lambdaContext } from '../support/events';
import { allStored, parseBody } from './support';

/** The handler as the Lambda's entry builds it: the S3 client given as a function that makes it. */
function lazyHandler(makeS3: () => Promise<S3Client>) {
  const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };
  const kinesis = new KinesisClient({ region: 'us-east-1', credentials });
  mockClient(kinesis)
    .on(PutRecordsCommand)
    .callsFake(async (input: PutRecordsCommandInput) => allStored(input));
  const settings = parseIngestSettings({
    streamName: 'snowgate-events',
    errorBucket: 'snowgate-errors',
    write: { budgetMs: 400, baseDelayMs: 5, maxDelayMs: 40 },
  });
  return createIngestHandler({ settings, kinesis, s3: makeS3, logger: new Logger({ serviceName: 'test', logLevel: 'SILENT' }) });
}

function mockedS3() {
  const s3 = new S3Client({ region: 'us-east-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  const mock = mockClient(s3);
  mock.on(PutObjectCommand).resolves({ ETag: '"etag"' });
  return { s3, mock };
}

describe('ingest handler: an S3 client made on first use (the Lambda entry)', () => {
  it('is made by the first request that quarantines, once, and not before', async () => {
    const { s3, mock } = mockedS3();
    const makeS3 = vi.fn(async () => s3);
    const handler = lazyHandler(makeS3);
    expect((await handler(apiEvent({ body: '{"id":"a"}' }), lambdaContext())).statusCode).toBe(202);
    expect(makeS3).not.toHaveBeenCalled();

    expect((await handler(apiEvent({ body: '{"id":"a"}{' }), lambdaContext())).statusCode).toBe(400);
    expect((await handler(apiEvent({ body: '[{"id":"b"},{"no":"id"}]' }), lambdaContext())).statusCode).toBe(207);
    expect(makeS3).toHaveBeenCalledTimes(1);
    expect(mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Bucket)).toEqual(['snowgate-errors', 'snowgate-errors']);
  });

  it('is made again by the next request when making it failed, which answered 500 with nothing acknowledged', async () => {
    const { s3, mock } = mockedS3();
    const makeS3 = vi.fn<() => Promise<S3Client>>().mockRejectedValueOnce(new Error('no client today')).mockResolvedValue(s3);
    const handler = lazyHandler(makeS3);
    const failed = await handler(apiEvent({ body: '{"no":"id"}' }), lambdaContext());
    expect(failed.statusCode).toBe(500);
    expect(parseBody(failed)).toMatchObject({ accepted: 0, rejected: 0, errors: [{ index: null, reason: 'internal_error' }] });
    expect((await handler(apiEvent({ body: '{"no":"id"}' }), lambdaContext())).statusCode).toBe(422);
    expect(makeS3).toHaveBeenCalledTimes(2);
    expect(mock.commandCalls(PutObjectCommand)).toHaveLength(1);
  });
});
