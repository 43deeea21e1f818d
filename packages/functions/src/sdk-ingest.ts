import { KinesisClient } from '@aws-sdk/client-kinesis';
import { SSMClient } from '@aws-sdk/client-ssm';
import { ingestFunctionEnv, writeKeySettingsFromEnv } from '@snowgate/config';
import { cachedApiKeyStore } from '@snowgate/core';
import { ssmApiKeyStore } from './api-key-store';
import { kinesisClientOptions, s3ClientOptions } from './client-options';
import { loadCompiledContracts } from './contracts-runtime';
import { createIngestHandler } from './ingest-handler';
import { createEmfMetrics } from './metrics';
import { withWriteKey } from './write-key';

/**
 * Lambda entry point of the SDK routes in auth mode `apiKey`: the ingest handler, behind the write-key check
 * that looks where browsers put the key (`write-key.ts`). A function of its own, so that `POST /events` keeps a
 * function that reads no key store. Settings are read and validated once, at init.
 */
const { settings, stage } = ingestFunctionEnv();
const keys = writeKeySettingsFromEnv();
const kinesis = new KinesisClient(kinesisClientOptions(settings));
const s3 = async () => new (await import('./s3')).S3Client(s3ClientOptions(settings));
const contracts = await loadCompiledContracts(settings);

const store = cachedApiKeyStore(
  ssmApiKeyStore(new SSMClient({}), keys.SNOWGATE_API_KEYS_PREFIX),
  keys.SNOWGATE_API_KEYS_CACHE_SECONDS * 1_000,
);
export const handler = withWriteKey(createIngestHandler({ settings, kinesis, s3, contracts, metrics: createEmfMetrics(stage) }), { store });
