// The delivery thread: the local Firehose and the local Snowpipe, with the DuckDB
// warehouse they load. On the API's event loop they queued behind a saturated
// ingest path (every await waited its turn among 64 connections' requests) and
// fell further behind the longer the load lasted; on a thread of their own the OS
// shares the cores between taking events and delivering them.
import { parentPort, workerData } from 'node:worker_threads';
import { createClients } from '@snowgate/functions/clients';
import { injectS3Faults } from './faults';
import { LocalFirehose } from './firehose';
import type { PipelineConfig, PipelineReply, PipelineRequest, PipelineSnapshot } from './pipeline';
import { LocalSnowpipe } from './snowpipe';
import { startStreaming } from './streaming';
import { openWarehouse, readOnlyQuery } from './warehouse';

const config = (workerData as { data: PipelineConfig }).data;
const port = parentPort!;
const log = (message: string, extra?: Record<string, unknown>) => port.postMessage({ type: 'log', message, extra } satisfies PipelineReply);

const clientSettings = { region: 'us-east-1', kinesisEndpoint: config.kinesisEndpoint, s3Endpoint: config.s3Endpoint };
const pipeClients = createClients(clientSettings, config.credentials);
const firehoseClients = createClients(clientSettings, config.credentials);
injectS3Faults(firehoseClients.s3, config.s3FailureRate);

const warehouse = await openWarehouse(config.warehousePath);
const queryConnection = await warehouse.instance.connect();
const snowpipe = new LocalSnowpipe({
  s3: pipeClients.s3,
  connection: warehouse.connection,
  bucket: config.landingBucket,
  prefix: config.prefix,
  log,
});
const firehose = new LocalFirehose({
  kinesis: firehoseClients.kinesis,
  s3: firehoseClients.s3,
  streamName: config.streamName,
  deliveryStreamName: config.deliveryStreamName,
  bucket: config.landingBucket,
  prefix: config.prefix,
  bufferSizeBytes: config.bufferSizeBytes,
  bufferIntervalMs: config.bufferIntervalMs,
  compression: config.compression,
  stateDir: config.firehoseStateDir,
  log,
});

// In `streaming` the rows come through the streaming endpoint: the landing files are the archive, and the
// local Snowpipe, like the auto-ingest pipe of a streaming stage, does not load them.
const streamingClients = config.streaming ? createClients(clientSettings, config.credentials) : undefined;
const streamingConnection = config.streaming ? await warehouse.instance.connect() : undefined;
const streaming =
  config.streaming && streamingClients && streamingConnection
    ? await startStreaming({
        kinesis: streamingClients.kinesis,
        streamName: config.streamName,
        connection: streamingConnection,
        config: config.streaming,
        ...(config.failpoint === 'stream-checkpoint' ? { failpoint: holdAtFailpoint } : {}),
        log,
      })
    : undefined;

const snapshot = (): PipelineSnapshot => ({
  firehose: firehose.snapshot(),
  snowpipe: snowpipe.snapshot(),
  ...(streaming ? { streaming: streaming.snapshot() } : {}),
});

/** `stream-checkpoint`: the consumer has appended and the checkpoint is not yet written; said, then held for good, for a test to kill the twin here. */
function holdAtFailpoint(): void {
  port.postMessage({ type: 'failpoint', name: 'stream-checkpoint' } satisfies PipelineReply);
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0);
}

port.on('message', async (request: PipelineRequest) => {
  switch (request.type) {
    case 'notify':
      if (!streaming) snowpipe.notify(request.key);
      break;
    case 'query':
      try {
        port.postMessage({
          type: 'answer',
          id: request.id,
          result: await readOnlyQuery(queryConnection, request.sql),
        } satisfies PipelineReply);
      } catch (error) {
        port.postMessage({ type: 'answer', id: request.id, error: (error as Error).message } satisfies PipelineReply);
      }
      break;
    case 'stop':
      clearInterval(ticker);
      // Everything on the stream is delivered, and everything delivered is loaded.
      await firehose.drain();
      await streaming?.stop();
      if (!streaming) await snowpipe.refresh();
      await snowpipe.idle();
      snowpipe.close();
      queryConnection.closeSync();
      streamingConnection?.closeSync();
      warehouse.connection.closeSync();
      warehouse.instance.closeSync();
      for (const c of [pipeClients, firehoseClients, ...(streamingClients ? [streamingClients] : [])]) {
        c.kinesis.destroy();
        c.s3.destroy();
      }
      port.postMessage({ type: 'stopped', snapshot: snapshot() } satisfies PipelineReply);
      break;
  }
});

// Firehose settles what it was delivering when the twin stopped (committed if whole, deleted if not) before
// Snowpipe looks: then files that landed while nothing listened (a crash between PUT and notification) load.
await firehose.start();
if (!streaming) await snowpipe.refresh();
const ticker = setInterval(() => port.postMessage({ type: 'snapshot', snapshot: snapshot() } satisfies PipelineReply), 250);
port.postMessage({ type: 'ready', snapshot: snapshot() } satisfies PipelineReply);
