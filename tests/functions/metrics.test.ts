import { Logger } from '@aws-lambda-powertools/logger';
import { AccessDeniedException, PutRecordsCommand } from '@aws-sdk/client-kinesis';
import { createEmfMetrics, METRIC } from '@snowgate/functions/metrics';
import { describe, expect, it, vi } from 'vitest';
import { apiEvent, lambdaContext } from '../support/events';
import { allStored, mockedHandler } from './support';

/** An EMF document as Powertools writes it: the `_aws` metadata, then the dimensions and the metric values as top-level fields. */
interface EmfDocument {
  _aws: {
    Timestamp: number;
    CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit?: string }[] }[];
  };
  [field: string]: unknown;
}

/** Runs `work` with stdout captured, and returns the EMF documents written there. */
async function emf(work: (metrics: ReturnType<typeof createEmfMetrics>) => Promise<void>) {
  const lines: string[] = [];
  const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    lines.push(String(chunk));
    return true;
  });
  try {
    // Powertools binds its console to stdout when the instance is made: make it inside the capture.
    await work(createEmfMetrics('dev'));
  } finally {
    spy.mockRestore();
  }
  return lines
    .flatMap((l) => l.split('\n'))
    .filter((l) => l.includes('"_aws"'))
    .map((l) => JSON.parse(l) as EmfDocument);
}

const value = (docs: EmfDocument[], name: string) => docs.filter((d) => name in d).map((d) => d[name]);

describe('ingest metrics (Powertools EMF)', () => {
  it('emits accepted events, stream records, rejected, batch size, retries and per-reason counts for each request, with the stage as a dimension', async () => {
    const docs = await emf(async (metrics) => {
      const m = mockedHandler({}, new Logger({ serviceName: 't', logLevel: 'SILENT' }), undefined, metrics);
      // One throttled entry, retried: a retry is counted.
      let first = true;
      m.kinesisMock.on(PutRecordsCommand).callsFake(async (input) => {
        if (!first) return allStored(input);
        first = false;
        const out = allStored(input);
        out.Records[0] = { ErrorCode: 'ProvisionedThroughputExceededException' } as never;
        return { ...out, FailedRecordCount: 1 };
      });
      await m.handler(apiEvent({ body: '[{"id":"m-1"},{"id":"m-2"},{"no":"id"},{"id":""}]' }), lambdaContext());
      await m.handler(apiEvent({ body: '{"id":' }), lambdaContext());
      const single = mockedHandler(
        { packing: { mode: 'single' } },
        new Logger({ serviceName: 't', logLevel: 'SILENT' }),
        undefined,
        metrics,
      );
      await single.handler(apiEvent({ body: '[{"id":"s-1"},{"id":"s-2"},{"id":"s-3"}]' }), lambdaContext());
    });
    const main = docs.filter((d) => METRIC.accepted in d);
    expect(main).toHaveLength(3);
    expect(main[0]!._aws.CloudWatchMetrics[0]).toMatchObject({ Namespace: 'Snowgate', Dimensions: [['service', 'stage']] });
    expect(main[0]).toMatchObject({
      service: 'snowgate-ingest',
      stage: 'dev',
      AcceptedRecords: 2,
      // Packed: the two accepted events went in one Kinesis record (the retry resent it whole).
      StreamRecords: 1,
      RejectedRecords: 2,
      BatchSize: 4,
      PutRecordsRetries: 1,
      DownstreamUnavailable: 0,
    });
    expect(main[1]).toMatchObject({ AcceptedRecords: 0, StreamRecords: 0, RejectedRecords: 1, BatchSize: 1 });
    expect(main[2]).toMatchObject({ AcceptedRecords: 3, StreamRecords: 3 });
    const byReason = docs
      .filter((d) => METRIC.rejectedByReason in d)
      .map((d) => [d.Reason, d.RejectedRecordsByReason, d._aws.CloudWatchMetrics[0]!.Dimensions[0]]);
    expect(byReason).toEqual([
      ['missing_id', 1, ['service', 'stage', 'Reason']],
      ['invalid_id', 1, ['service', 'stage', 'Reason']],
      ['malformed_json', 1, ['service', 'stage', 'Reason']],
    ]);
  });

  it('counts a 503 as DownstreamUnavailable', async () => {
    const docs = await emf(async (metrics) => {
      const m = mockedHandler(
        { write: { budgetMs: 100, baseDelayMs: 5, maxDelayMs: 10, retryAfterSeconds: 1 } },
        undefined,
        undefined,
        metrics,
      );
      m.kinesisMock.on(PutRecordsCommand).rejects(Object.assign(new Error('down'), { name: 'InternalFailure' }));
      const response = await m.handler(apiEvent({ body: '{"id":"x"}' }), lambdaContext());
      expect(response.statusCode).toBe(503);
    });
    expect(value(docs, METRIC.downstreamUnavailable)).toEqual([1]);
    expect(value(docs, METRIC.accepted)).toEqual([0]);
  });

  it('counts a 500 as InternalErrors (the alarm reads it), and a request answered otherwise as 0', async () => {
    const docs = await emf(async (metrics) => {
      const m = mockedHandler({}, undefined, undefined, metrics);
      m.kinesisMock
        .on(PutRecordsCommand)
        .rejectsOnce(new AccessDeniedException({ message: 'not authorized', $metadata: { httpStatusCode: 400 } }));
      expect((await m.handler(apiEvent({ body: '{"id":"x"}' }), lambdaContext())).statusCode).toBe(500);
      m.kinesisMock.on(PutRecordsCommand).callsFake(async (input) => allStored(input));
      expect((await m.handler(apiEvent({ body: '{"id":"y"}' }), lambdaContext())).statusCode).toBe(202);
    });
    expect(value(docs, METRIC.internalErrors)).toEqual([1, 0]);
    expect(value(docs, METRIC.downstreamUnavailable)).toEqual([0, 0]);
    // A 500 has no verdict on its records: no batch size.
    expect(value(docs, METRIC.batchSize)).toEqual([1]);
  });
});
