import { Logger } from '@aws-lambda-powertools/logger';
import { CreateStreamCommand, DescribeStreamSummaryCommand, type KinesisClient } from '@aws-sdk/client-kinesis';
import { cachedApiKeyStore } from '@snowgate/core';
import { endpointsFile as endpointsFileIn, parseIngestSettings, type StageConfig } from '@snowgate/config';
import { loadContracts } from '@snowgate/contracts';
import { createApiKeyAuthorizer } from '@snowgate/functions/api-key-authorizer';
import { createClients, LOCAL_CREDENTIALS } from '@snowgate/functions/clients';
import { handler as health } from '@snowgate/functions/health';
import { createIngestHandler } from '@snowgate/functions/ingest-handler';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApiServer } from './api';
import { fileApiKeyStore, withLambdaAuthorizer } from './api-keys';
import { removeFile, writeJsonDurably } from './durable-file';
import { coalescePutRecords } from './coalesce';
import { createDashboard } from './dashboard';
import { startEmulators } from './emulators';
import { injectKinesisFaults, injectS3Faults } from './faults';
import type { FirehoseStats } from './firehose';
import { resolveTwinOptions, type TwinOptionsInput } from './options';
import { startPipeline } from './pipeline';
import type { SnowpipeStats } from './snowpipe';


export interface Endpoints {
  api: string;
  kinesis: string;
  s3: string;
  stream: string;
  deliveryStream: string;
  buckets: { landing: string; errors: string };
  warehouse: string;
}

export interface TwinStatus {
  api: {
    accepted: number;
    quarantinedRecords: number;
    /** Contract mode `warn`: accepted records that `enforce` would have rejected. */
    schemaWarnings: number;
    requests: Record<string, number>;
  };
  /** The schema contracts in force. */
  contracts: { mode: string; schemas: string[] };
  /** `replayedRecords`: records `pnpm replay` sent to the stream, which the API never saw; `api.accepted` + it = what gets loaded. */
  firehose: FirehoseStats;
  snowpipe: SnowpipeStats;
  /** Records read from the stream but not yet in a landing file, and files not yet loaded. */
  lag: { bufferedRecords: number; oldestBufferedMs: number; filesWaiting: number };
  /** Set when the delivery thread has failed. */
  deliveryFailed?: string;
}

export interface Twin {
  endpoints: Endpoints;
  /** The stage config's auth settings: only `apiKey` is enforced by the twin (iam and jwt are not checked). */
  auth: StageConfig['auth'];
  /** Where it keeps its state (absolute). */
  dataDir: string;
  status(): TwinStatus;
  /** Stops taking requests, delivers and loads everything accepted, then shuts down. */
  stop(): Promise<void>;
}

const NAMES = { stream: 'snowgate-local-events', deliveryStream: 'snowgate-local-to-landing', landing: 'snowgate-local-landing', errors: 'snowgate-local-errors' };

/**
 * Starts the whole pipeline on this machine: the unchanged ingest handler behind
 * an API Gateway-shaped HTTP server, kinesalite and s3rver, a local Firehose and
 * a local Snowpipe loading DuckDB. State lives in the data dir and survives restarts.
 */
export async function startTwin(input: TwinOptionsInput, stage?: StageConfig): Promise<Twin> {
  const options = resolveTwinOptions(input, stage);
  const { dataDir } = options;
  mkdirSync(dataDir, { recursive: true });
  const log = (message: string, extra?: Record<string, unknown>) => {
    if (process.env.SNOWGATE_TWIN_QUIET !== '1') console.error(`twin: ${message}${extra ? ` ${JSON.stringify(extra)}` : ''}`);
  };

  // Compiled first, before anything starts: a bad schema stops the twin at once, as it stops a cold start.
  const compiled = loadContracts(options.stage.contracts, options.schemasDir);
  const emulators = await startEmulators(dataDir, [NAMES.landing, NAMES.errors], options.host);
  const settings = parseIngestSettings({
    streamName: NAMES.stream,
    errorBucket: NAMES.errors,
    errorPrefix: options.stage.buckets.errorPrefix,
    region: 'us-east-1',
    kinesisEndpoint: emulators.kinesisEndpoint,
    s3Endpoint: emulators.s3Endpoint,
    limits: options.stage.ingest.limits,
    write: options.stage.ingest.write,
    contracts: options.stage.contracts,
    schemasDir: options.schemasDir,
  });

  // The handler's clients, with the injected faults producers should see.
  const ingestClients = createClients(settings, LOCAL_CREDENTIALS);
  // The handler's PutRecords calls are merged and sent by a client of their own, where faults are injected.
  const streamWriter = createClients(settings, LOCAL_CREDENTIALS).kinesis;
  injectKinesisFaults(streamWriter, options.kinesisFailureRate);
  coalescePutRecords(ingestClients.kinesis, streamWriter);
  injectS3Faults(ingestClients.s3, options.s3FailureRate);
  await ensureStream(ingestClients.kinesis, NAMES.stream, options.shards);

  const ingest = createIngestHandler({
    settings,
    contracts: compiled,
    kinesis: ingestClients.kinesis,
    s3: ingestClients.s3,
    logger: new Logger({ serviceName: 'snowgate-ingest', logLevel: (process.env.POWERTOOLS_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN' }),
  });

  // Auth mode apiKey: the production authorizer, in front of the handler as API Gateway puts it, over the twin's key files.
  const auth = options.stage.auth;
  const events =
    auth.mode === 'apiKey'
      ? withLambdaAuthorizer(
          ingest,
          auth.header,
          createApiKeyAuthorizer({
            store: cachedApiKeyStore(fileApiKeyStore(dataDir), 1_000),
            header: auth.header,
            logger: new Logger({ serviceName: 'snowgate-authorizer', logLevel: (process.env.POWERTOOLS_LOG_LEVEL as 'WARN' | undefined) ?? 'WARN' }),
          }),
        )
      : ingest;

  const warehousePath = join(dataDir, 'warehouse.duckdb');
  // Listen before the delivery thread starts: a file it writes while we wait for 'ready' is announced too.
  let notify: ((key: string) => void) | undefined;
  const early: string[] = [];
  emulators.onS3Event((event) => {
    // s3rver reports the key as stored (not URL-encoded, unlike S3's own notifications).
    if (event.s3.bucket.name !== NAMES.landing || !event.eventName.startsWith('ObjectCreated')) return;
    if (notify) notify(event.s3.object.key);
    else early.push(event.s3.object.key);
  });
  // Firehose, Snowpipe and the warehouse run on a thread of their own (see pipeline-worker.ts).
  const pipeline = await startPipeline(
    {
      kinesisEndpoint: emulators.kinesisEndpoint,
      s3Endpoint: emulators.s3Endpoint,
      credentials: LOCAL_CREDENTIALS,
      streamName: NAMES.stream,
      deliveryStreamName: NAMES.deliveryStream,
      landingBucket: NAMES.landing,
      prefix: options.stage.firehose.prefix,
      bufferSizeBytes: options.stage.firehose.bufferSizeMiB * 1_048_576,
      bufferIntervalMs: options.stage.firehose.bufferIntervalSeconds * 1_000,
      firehoseStateDir: join(dataDir, 'firehose'),
      warehousePath,
      s3FailureRate: options.s3FailureRate,
    },
    log,
  );
  notify = (key) => pipeline.notify(key);
  for (const key of early.splice(0)) notify(key);

  const counters = { accepted: 0, quarantinedRecords: 0, schemaWarnings: 0, requests: {} as Record<string, number> };
  const contracts = { mode: settings.contracts.mode, schemas: (compiled?.schemas ?? []).map((s) => `${s.type}/${s.version}`) };
  const status = (): TwinStatus => {
    const { firehose: f, snowpipe: s } = pipeline.snapshot();
    const failed = pipeline.failure();
    return {
      api: counters,
      contracts,
      firehose: f,
      snowpipe: s,
      lag: { bufferedRecords: f.bufferedRecords, oldestBufferedMs: f.oldestBufferedMs, filesWaiting: s.queued },
      ...(failed ? { deliveryFailed: `${failed.message}: nothing is delivered or loaded until the twin restarts (nothing acknowledged is lost)` } : {}),
    };
  };
  // The dashboard reads the error bucket with a client of its own: no injected faults on what the operator looks at.
  const dashboardS3 = createClients(settings, LOCAL_CREDENTIALS).s3;
  const dashboard = createDashboard({
    status,
    query: (sql) => pipeline.query(sql),
    s3: dashboardS3,
    errorsBucket: NAMES.errors,
    errorPrefix: settings.errorPrefix,
  });
  emulators.onS3Event((event) => {
    if (event.s3.bucket.name === NAMES.errors && event.eventName.startsWith('ObjectCreated')) dashboard.quarantined(event.s3.object.key);
  });
  const api = createApiServer(
    {
      'POST /events': events,
      'GET /health': health,
      'GET /status': status,
      // Read statements only: the delivery thread checks each with DuckDB's own parser (warehouse.ts readOnlyQuery).
      'POST /query': (sql) => pipeline.query(sql),
      dashboard: (req, res) => dashboard.handle(req, res),
    },
    { timeoutMs: options.stage.lambda.timeoutSeconds * 1_000 },
  );
  api.onResponse((route, code, body) => {
    if (route !== 'POST /events') return;
    counters.requests[code] = (counters.requests[code] ?? 0) + 1;
    if (code < 500 && body) {
      const answer = JSON.parse(body) as { accepted?: number; rejected?: number; warnings?: unknown[] };
      // 401 and 403 (API keys) carry API Gateway's `{"message": …}`, no counts.
      counters.accepted += answer.accepted ?? 0;
      counters.quarantinedRecords += answer.rejected ?? 0;
      counters.schemaWarnings += answer.warnings?.length ?? 0;
    }
  });
  await new Promise<void>((resolve, reject) => {
    api.server.once('error', reject);
    api.server.listen(options.port, options.host, () => resolve());
  });

  const endpoints: Endpoints = {
    api: `http://${options.host}:${(api.server.address() as AddressInfo).port}`,
    kinesis: emulators.kinesisEndpoint,
    s3: emulators.s3Endpoint,
    stream: NAMES.stream,
    deliveryStream: NAMES.deliveryStream,
    buckets: { landing: NAMES.landing, errors: NAMES.errors },
    warehouse: warehousePath,
  };
  const endpointsFile = endpointsFileIn(dataDir);
  // Atomically (written aside, then renamed): whoever waits for the file never reads half of it.
  writeJsonDurably(endpointsFile, endpoints, 2);

  let stopping: Promise<void> | undefined;
  return {
    endpoints,
    auth,
    dataDir,
    status,
    stop() {
      stopping ??= (async () => {
        removeFile(endpointsFile);
        const closed = new Promise<void>((resolve) => api.server.close(() => resolve()));
        await api.drain();
        await closed;
        try {
          await pipeline.stop();
        } finally {
          dashboard.stop();
          dashboardS3.destroy();
          streamWriter.destroy();
          ingestClients.kinesis.destroy();
          ingestClients.s3.destroy();
          await emulators.stop();
        }
      })();
      return stopping;
    },
  };
}

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
