import { ingestSettingsFromEnv } from '@snowgate/core';
import { createClients } from './clients';
import { createIngestHandler } from './ingest-handler';

/** Lambda entry point. Settings are read and validated once, at init: a bad one fails the cold start loudly. */
const settings = ingestSettingsFromEnv(process.env);
const { kinesis, s3 } = createClients(settings);

export const handler = createIngestHandler({ settings, kinesis, s3 });
