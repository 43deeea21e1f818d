import { SEGMENT_METRICS_ROUTE_KEY, SEGMENT_ROUTE_KEYS, SEGMENT_SETTINGS_ROUTE_KEY } from '@snowgate/core';
import { endpointsFile, parseIngestSettings, stageCors, type IngestSettings, type StageConfig } from '@snowgate/config';
import { loadContracts } from '@snowgate/contracts';
import { createClients, LOCAL_CREDENTIALS } from '@snowgate/functions/clients';
import { mkdirSync } from 'node:fs';
import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { createApiGateway } from './api-gateway';
import { createDashboard } from './dashboard';
import { removeFile, writeJsonDurably } from './durable-file';
import { startEmulators, type RunningEmulators } from './emulators';
import { wireLambdas } from './lambda';
import { resolveTwinOptions, type ResolvedTwinOptions, type TwinOptionsInput } from './options';
import { startPipeline, type Pipeline } from './pipeline';
import { twinRoutes } from './routes';
import { createApiCounters, twinStatus, type TwinStatus } from './status';
import type { StreamingConfig } from './streaming';

export interface Endpoints {
  api: string;
  kinesis: string;
  s3: string;
  stream: string;
  deliveryStream: string;
  buckets: { landing: string; errors: string };
  warehouse: string;
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

/** The twin's stream and buckets, the same on every run (the data dir keeps their contents). */
export const TWIN_NAMES = {
  stream: 'snowgate-local-events',
  deliveryStream: 'snowgate-local-to-landing',
  landing: 'snowgate-local-landing',
  errors: 'snowgate-local-errors',
};
const NAMES = TWIN_NAMES;

type Log = (message: string, extra?: Record<string, unknown>) => void;

/**
 * Starts the whole pipeline on this machine: the unchanged ingest handler behind
 * an API Gateway-shaped HTTP server, kinesalite and s3rver, a local Firehose and
 * a local Snowpipe loading DuckDB. State lives in the data dir and survives restarts.
 *
 * The parts, each in its module: the emulators (`emulators.ts`), the production
 * handler and authorizer on their SDK clients (`lambda.ts`), the delivery thread
 * (`pipeline.ts`), the API Gateway emulation (`api-gateway.ts`), the twin's own
 * routes and dashboard (`routes.ts`, `dashboard.ts`) and the counters (`status.ts`).
 */
export async function startTwin(input: TwinOptionsInput, stage?: StageConfig): Promise<Twin> {
  const options = resolveTwinOptions(input, stage);
  const { dataDir } = options;
  mkdirSync(dataDir, { recursive: true });
  const log: Log = options.quiet
    ? () => undefined
    : (message, extra) => console.error(`twin: ${message}${extra ? ` ${JSON.stringify(extra)}` : ''}`);

  // Compiled first, before anything starts: a bad schema stops the twin at once, as it stops a cold start.
  const compiled = loadContracts(options.stage.contracts, options.schemasDir);
  const emulators = await startEmulators(dataDir, [NAMES.landing, NAMES.errors], {
    host: options.host,
    failpoint: options.failpoint === 'landing-write' ? options.failpoint : undefined,
    log,
  });
  const settings = localIngestSettings(options, emulators);
  const counters = createApiCounters();
  const lambdas = await wireLambdas({
    settings,
    contracts: compiled,
    auth: options.stage.auth,
    dataDir,
    shards: options.shards,
    kinesisFailureRate: options.kinesisFailureRate,
    s3FailureRate: options.s3FailureRate,
    logLevel: options.logLevel,
    metrics: counters.metrics,
  });
  const pipeline = await startDelivery(options, emulators, log);

  const contracts = { mode: settings.contracts.mode, schemas: (compiled?.schemas ?? []).map((s) => `${s.type}/${s.version}`) };
  const status = () => twinStatus(counters.counts, contracts, pipeline);
  const query = (sql: string) => pipeline.query(sql);
  const dashboard = startDashboard(settings, emulators, status, query);
  const gateway = createApiGateway({
    routes: {
      'POST /events': { handler: lambdas.ingest, ...(lambdas.authorizer ? { authorizer: lambdas.authorizer } : {}) },
      // The SDK routes (Segment's tracking API, analytics.js's and RudderStack's browser routes), on the same
      // handler; in auth mode apiKey it checks their write key itself, wherever the SDK puts it.
      ...Object.fromEntries(Object.keys(SEGMENT_ROUTE_KEYS).map((routeKey) => [routeKey, { handler: lambdas.sdkIngest }])),
      [SEGMENT_METRICS_ROUTE_KEY]: { handler: lambdas.sdkMetrics },
      [SEGMENT_SETTINGS_ROUTE_KEY]: { handler: lambdas.sdkSettings },
      'GET /health': { handler: lambdas.health },
    },
    cors: stageCors(options.stage),
    timeoutMs: options.stage.lambda.timeoutSeconds * 1_000,
    unrouted: twinRoutes({ status, query, dashboard: dashboard.handle }),
  });
  gateway.onResponse((routeKey, code) => {
    if (routeKey === 'POST /events' || routeKey in SEGMENT_ROUTE_KEYS) counters.answered(code);
  });
  await listen(gateway.server, options.port, options.host);

  const endpoints: Endpoints = {
    api: `http://${options.host}:${(gateway.server.address() as AddressInfo).port}`,
    kinesis: emulators.kinesisEndpoint,
    s3: emulators.s3Endpoint,
    stream: NAMES.stream,
    deliveryStream: NAMES.deliveryStream,
    buckets: { landing: NAMES.landing, errors: NAMES.errors },
    warehouse: join(dataDir, 'warehouse.duckdb'),
  };
  const endpointsPath = endpointsFile(dataDir);
  // Atomically (written aside, then renamed): whoever waits for the file never reads half of it.
  writeJsonDurably(endpointsPath, endpoints, 2);

  let stopping: Promise<void> | undefined;
  return {
    endpoints,
    auth: options.stage.auth,
    dataDir,
    status,
    stop() {
      stopping ??= (async () => {
        removeFile(endpointsPath);
        const closed = new Promise<void>((resolve) => gateway.server.close(() => resolve()));
        await gateway.drain();
        await closed;
        try {
          await pipeline.stop();
        } finally {
          dashboard.stop();
          lambdas.destroy();
          await emulators.stop();
        }
      })();
      return stopping;
    },
  };
}

/** The handler's settings in the twin: the stage's limits, write budget, packing and contracts, on the emulators. */
function localIngestSettings(options: ResolvedTwinOptions, emulators: RunningEmulators): IngestSettings {
  return parseIngestSettings({
    streamName: NAMES.stream,
    errorBucket: NAMES.errors,
    errorPrefix: options.stage.buckets.errorPrefix,
    region: 'us-east-1',
    kinesisEndpoint: emulators.kinesisEndpoint,
    s3Endpoint: emulators.s3Endpoint,
    limits: options.stage.ingest.limits,
    write: options.stage.ingest.write,
    packing: options.stage.ingest.packing,
    contracts: options.stage.contracts,
    schemasDir: options.schemasDir,
  });
}

/** Firehose, Snowpipe and the warehouse, on a thread of their own (see pipeline-worker.ts), told of each landing file. */
async function startDelivery(options: ResolvedTwinOptions, emulators: RunningEmulators, log: Log): Promise<Pipeline> {
  // Listen before the delivery thread starts: a file it writes while we wait for 'ready' is announced too.
  let notify: ((key: string) => void) | undefined;
  const early: string[] = [];
  emulators.onS3Event((event) => {
    // s3rver reports the key as stored (not URL-encoded, unlike S3's own notifications).
    if (event.s3.bucket.name !== NAMES.landing || !event.eventName.startsWith('ObjectCreated')) return;
    if (notify) notify(event.s3.object.key);
    else early.push(event.s3.object.key);
  });
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
      compression: options.stage.firehose.compression,
      firehoseStateDir: join(options.dataDir, 'firehose'),
      warehousePath: join(options.dataDir, 'warehouse.duckdb'),
      s3FailureRate: options.s3FailureRate,
      streaming: streamingConfig(options),
      failpoint: options.failpoint === 'stream-checkpoint' ? options.failpoint : undefined,
    },
    log,
  );
  notify = (key) => pipeline.notify(key);
  for (const key of early.splice(0)) notify(key);
  return pipeline;
}

/** In delivery mode `streaming`: the consumer's event source mapping and channels, as the stage config sets them for a deployed stage. */
function streamingConfig(options: ResolvedTwinOptions): StreamingConfig | undefined {
  const { mode, streaming } = options.stage.delivery;
  if (mode !== 'streaming') return undefined;
  return {
    batchSize: streaming.batchSize,
    batchingWindowMs: streaming.batchWindowSeconds * 1_000,
    channelPrefix: streaming.channelPrefix ?? 'snowgate-local',
    stateDir: join(options.dataDir, 'stream-consumer'),
    failureRate: options.streamingFailureRate,
  };
}

/** The dashboard, told of each quarantine object; it reads the error bucket with a client of its own: no injected faults on what the operator looks at. */
function startDashboard(
  settings: IngestSettings,
  emulators: RunningEmulators,
  status: () => TwinStatus,
  query: (sql: string) => Promise<unknown>,
) {
  const s3 = createClients(settings, LOCAL_CREDENTIALS).s3;
  const dashboard = createDashboard({ status, query, s3, errorsBucket: NAMES.errors, errorPrefix: settings.errorPrefix });
  emulators.onS3Event((event) => {
    if (event.s3.bucket.name === NAMES.errors && event.eventName.startsWith('ObjectCreated')) dashboard.quarantined(event.s3.object.key);
  });
  return {
    handle: (req: http.IncomingMessage, res: http.ServerResponse) => dashboard.handle(req, res),
    stop() {
      dashboard.stop();
      s3.destroy();
    },
  };
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}
