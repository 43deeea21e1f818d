import { Logger } from '@aws-lambda-powertools/logger';
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import type { IngestSettings, StageConfig } from '@snowgate/config';
import { cachedApiKeyStore, type Contracts } from '@snowgate/core';
import { createApiKeyAuthorizer } from '@snowgate/functions/api-key-authorizer';
import { createClients, LOCAL_CREDENTIALS } from '@snowgate/functions/clients';
import { handler as health } from '@snowgate/functions/health';
import { createIngestHandler } from '@snowgate/functions/ingest-handler';
import type { IngestMetrics } from '@snowgate/functions/metrics';
import { metrics as sdkMetrics, settings as sdkSettings } from '@snowgate/functions/sdk';
import { withWriteKey } from '@snowgate/functions/write-key';
import type { Authorize, LambdaHandler } from './api-gateway';
import { fileApiKeyStore } from './api-keys';
import { coalescePutRecords } from './coalesce';
import { injectKinesisFaults, injectS3Faults } from './faults';

export interface LambdaWiring {
  settings: IngestSettings;
  /** Compiled schema contracts, when the stage's mode is not `off`. */
  contracts: Contracts | undefined;
  /** The stage's auth: only `apiKey` puts an authorizer in front of `POST /events`. */
  auth: StageConfig['auth'];
  /** Where the API key records are (`fileApiKeyStore`). */
  dataDir: string;
  /** Shards of the stream, when it is created. */
  shards: number;
  kinesisFailureRate: number;
  s3FailureRate: number;
  /** The Powertools log level of the handler and the authorizer. */
  logLevel: string;
  /** Where the handler reports each request's outcome. */
  metrics: IngestMetrics;
}

export interface TwinLambdas {
  /** The production ingest handler (`createIngestHandler`), on the emulators through the production SDK clients. */
  ingest: LambdaHandler;
  /** The SDK routes' function: the ingest handler, behind the write-key check in auth mode `apiKey` (as `sdk-ingest.ts`). */
  sdkIngest: LambdaHandler;
  /** analytics.js's settings and metrics (`sdk.ts`). */
  sdkSettings: LambdaHandler;
  sdkMetrics: LambdaHandler;
  health: LambdaHandler;
  /** Auth mode `apiKey`: the production authorizer over the twin's key files, and the header it reads. */
  authorizer?: { header: string; authorize: Authorize };
  /** Closes the SDK clients. */
  destroy(): void;
}

/**
 * The deployed functions, built as their Lambda entries build them, with the
 * local differences in the clients only: the emulators' endpoints, the faults
 * producers should see, and PutRecords calls merged across concurrent requests
 * (`coalesce.ts`). Creates the stream when it does not exist yet.
 */
export async function wireLambdas(w: LambdaWiring): Promise<TwinLambdas> {
  // The handler's clients, with the injected faults producers should see.
  const ingestClients = createClients(w.settings, LOCAL_CREDENTIALS);
  // The handler's PutRecords calls are merged and sent by a client of their own, where faults are injected.
  const streamWriter = createClients(w.settings, LOCAL_CREDENTIALS).kinesis;
  injectKinesisFaults(streamWriter, w.kinesisFailureRate);
  coalescePutRecords(ingestClients.kinesis, streamWriter);
  injectS3Faults(ingestClients.s3, w.s3FailureRate);
  await ensureStream(ingestClients.kinesis, w.settings.streamName, w.shards);

  const logLevel = w.logLevel as 'WARN';
  const ingest = createIngestHandler({
    settings: w.settings,
    contracts: w.contracts,
    kinesis: ingestClients.kinesis,
    s3: ingestClients.s3,
    logger: new Logger({ serviceName: 'snowgate-ingest', logLevel }),
    metrics: w.metrics,
  });
  const authorizer =
    w.auth.mode === 'apiKey'
      ? {
          header: w.auth.header,
          authorize: createApiKeyAuthorizer({
            store: cachedApiKeyStore(fileApiKeyStore(w.dataDir), 1_000),
            header: w.auth.header,
            logger: new Logger({ serviceName: 'snowgate-authorizer', logLevel }),
          }),
        }
      : undefined;

  const sdkIngest =
    w.auth.mode === 'apiKey'
      ? withWriteKey(ingest, {
          store: cachedApiKeyStore(fileApiKeyStore(w.dataDir), 1_000),
          logger: new Logger({ serviceName: 'snowgate-ingest', logLevel }),
        })
      : ingest;

  return {
    ingest,
    sdkIngest,
    sdkSettings: sdkSettings as LambdaHandler,
    sdkMetrics: sdkMetrics as LambdaHandler,
    health,
    ...(authorizer ? { authorizer } : {}),
    destroy() {
      streamWriter.destroy();
      ingestClients.kinesis.destroy();
      ingestClients.s3.destroy();
    },
  };
}

/** What the stack provisions in AWS: the stream, created once with its shards, then found on each start. */
async function ensureStream(kinesis: KinesisClient, name: string, shards: number): Promise<void> {
  try {
    await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    return;
  } catch (error) {
    if ((error as Error).name !== 'ResourceNotFoundException') throw error;
  }
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (let i = 0; i < 100; i++) {
    const d = await kinesis.send(new DescribeStreamSummaryCommand({ StreamName: name }));
    if (d.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`stream ${name} did not become ACTIVE`);
}
