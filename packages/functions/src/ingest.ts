import { ingestFunctionEnv } from '@snowgate/config';
import { createClients } from './clients';
import { loadCompiledContracts } from './contracts-runtime';
import { createIngestHandler } from './ingest-handler';
import { createEmfMetrics } from './metrics';

/** Lambda entry point. Settings are read and validated once, at init: a bad one fails the cold start loudly. */
const { settings, stage } = ingestFunctionEnv();
const { kinesis, s3 } = createClients(settings);

// The standalone validators synth generated from schemas/ (none when contracts are off).
const contracts = await loadCompiledContracts(settings);

// The stage names the metrics' dimension (SNOWGATE_STAGE is set by the stack).
export const handler = createIngestHandler({ settings, kinesis, s3, contracts, metrics: createEmfMetrics(stage) });
