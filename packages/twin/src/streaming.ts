import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { DuckDBConnection } from '@duckdb/node-api';
import { createStreamConsumerHandler } from '@snowgate/functions/stream-consumer-handler';
import { createStreamDelivery } from '@snowgate/functions/stream-delivery';
import { type EventSourceStats, LocalEventSource } from './event-source';
import { connectStreamingEndpoint, type StreamingEndpoint } from './streaming-endpoint';
import { type ChannelState, DuckDbStreamingSink } from './streaming-sink';

/** What the delivery thread needs to run the streaming delivery (`delivery.mode` `streaming`). */
export interface StreamingConfig {
  /** The event source mapping's batch size and batching window. */
  batchSize: number;
  batchingWindowMs: number;
  /** Channels are `<channelPrefix>-<shardId>`. */
  channelPrefix: string;
  /** The event source's checkpoints. */
  stateDir: string;
  /** Share of the emulated endpoint's answers that are injected failures (5xx or 429). */
  failureRate: number;
}

/** The streaming delivery as `/status` and the dashboard show it: the consumer's shards and the channels' committed offsets. */
export interface StreamingSnapshot {
  consumer: EventSourceStats;
  channels: ChannelState[];
  /** Requests the emulated endpoint answered with an error or not at all (`--streaming-failure-rate` makes some). */
  endpointErrors: number;
  /** Of those, appends whose rows were committed and whose answer was lost: each one a retry that must not duplicate. */
  lostAppendAnswers: number;
}

/**
 * The twin's streaming delivery, as a deployed stage has it: the event source mapping (`event-source.ts`)
 * reading kinesalite and invoking the real consumer (`@snowgate/functions/stream-consumer-handler`), whose
 * REST client appends to the emulated Snowpipe Streaming endpoint, whose sink writes the rows and each
 * channel's offset into the warehouse in one transaction (`streaming-sink.ts`).
 */
export async function startStreaming(options: {
  kinesis: KinesisClient;
  streamName: string;
  connection: DuckDBConnection;
  config: StreamingConfig;
  failpoint?: () => void;
  log: (message: string, extra?: Record<string, unknown>) => void;
}) {
  const { config, log } = options;
  const sink = new DuckDbStreamingSink(options.connection);
  await sink.load();
  const endpoint: StreamingEndpoint = await connectStreamingEndpoint({ sink, failureRate: config.failureRate });
  const delivery = createStreamDelivery({ channels: endpoint.channels, channelPrefix: config.channelPrefix, log });
  const eventSource = new LocalEventSource({
    kinesis: options.kinesis,
    streamName: options.streamName,
    invoke: createStreamConsumerHandler(delivery),
    batchSize: config.batchSize,
    batchingWindowMs: config.batchingWindowMs,
    stateDir: config.stateDir,
    ...(options.failpoint ? { failpoint: options.failpoint } : {}),
    log,
  });
  await eventSource.start();
  return {
    snapshot: (): StreamingSnapshot => ({
      consumer: eventSource.snapshot(),
      channels: sink.snapshot(),
      endpointErrors: endpoint.errorAnswers(),
      lostAppendAnswers: endpoint.lostAppendAnswers(),
    }),
    /** Delivers everything on the stream, then closes the endpoint. */
    async stop(): Promise<void> {
      await eventSource.drain();
      await endpoint.close();
    },
  };
}
