import { KinesisClient } from '@aws-sdk/client-kinesis';
import { ingestFunctionEnv } from '@snowgate/config';
import { kinesisClientOptions, s3ClientOptions } from './client-options';
import { loadCompiledContracts } from './contracts-runtime';
import { createIngestHandler } from './ingest-handler';
import { createEmfMetrics } from './metrics';

/** Lambda entry point. Settings are read and validated once, at init: a bad one fails the cold start loudly. */
const { settings, stage } = ingestFunctionEnv();
const kinesis = new KinesisClient(kinesisClientOptions(settings));
// Most requests quarantine nothing: the S3 SDK is loaded, and its client built, by the first one that does,
// which keeps both out of the cold start (docs/decisions/012-lean-ingest-lambda.md).
const s3 = async () => new (await import('./s3')).S3Client(s3ClientOptions(settings));

// The standalone validators synth generated from schemas/ (none when contracts are off).
const contracts = await loadCompiledContracts(settings);

// The stage names the metrics' dimension (SNOWGATE_STAGE is set by the stack).
export const handler = createIngestHandler({ settings, kinesis, s3, contracts, metrics: createEmfMetrics(stage) });
