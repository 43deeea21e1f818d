import type { LandingCompression } from '@snowgate/core';
import { Worker } from 'node:worker_threads';
import { profilerFlags } from './emulators';
import type { FirehoseStats } from './firehose';
import type { SnowpipeStats } from './snowpipe';
import type { StreamingConfig, StreamingSnapshot } from './streaming';

/** What the delivery thread needs to run Firehose and Snowpipe. */
export interface PipelineConfig {
  kinesisEndpoint: string;
  s3Endpoint: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  streamName: string;
  deliveryStreamName: string;
  landingBucket: string;
  prefix: string;
  bufferSizeBytes: number;
  bufferIntervalMs: number;
  compression: LandingCompression;
  firehoseStateDir: string;
  warehousePath: string;
  s3FailureRate: number;
  /** Set in delivery mode `streaming`: the consumer appends the rows, and Snowpipe does not load the landing files. */
  streaming?: StreamingConfig | undefined;
  failpoint?: 'stream-checkpoint' | undefined;
}

export interface PipelineSnapshot {
  firehose: FirehoseStats;
  snowpipe: SnowpipeStats;
  streaming?: StreamingSnapshot;
}

export type PipelineRequest = { type: 'notify'; key: string } | { type: 'query'; id: number; sql: string } | { type: 'stop' };
export type PipelineReply =
  | { type: 'ready' | 'snapshot' | 'stopped'; snapshot: PipelineSnapshot }
  | { type: 'answer'; id: number; result?: unknown; error?: string }
  | { type: 'log'; message: string; extra?: Record<string, unknown> }
  | { type: 'failpoint'; name: string };

export interface Pipeline {
  /** An ObjectCreated notification for the landing bucket. */
  notify(key: string): void;
  /** The latest counters (at most 250 ms old). */
  snapshot(): PipelineSnapshot;
  /** Why the delivery thread stopped working, if it did. */
  failure(): Error | undefined;
  /** Runs a read query on the warehouse. */
  query(sql: string): Promise<unknown>;
  /** Delivers and loads everything on the stream, closes the warehouse, ends the thread. */
  stop(): Promise<void>;
}

/**
 * Starts the local Firehose and Snowpipe on a thread of their own (`pipeline-worker.ts`),
 * and resolves once both have recovered their state (pending delivery, unloaded files).
 * The worker is TypeScript: a small boot file registers tsx in the thread first.
 */
export async function startPipeline(
  config: PipelineConfig,
  log: (message: string, extra?: Record<string, unknown>) => void,
): Promise<Pipeline> {
  const worker = new Worker(new URL('./worker-boot.mjs', import.meta.url), {
    execArgv: profilerFlags(),
    workerData: { entry: new URL('./pipeline-worker.ts', import.meta.url).href, data: config },
    // The AWS SDK warns about old Node versions once per thread that loads it; the main thread has
    // said it already. AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED is the SDK's own switch.
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
  let latest: PipelineSnapshot | undefined;
  let failure: Error | undefined;
  const answers = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  let nextId = 0;
  let stopped: (() => void) | undefined;
  let ending = false;

  const ready = new Promise<void>((resolve, reject) => {
    worker.on('message', (reply: PipelineReply) => {
      if (reply.type === 'log') return log(reply.message, reply.extra);
      // Said whether or not the twin is quiet: the test waiting for it kills the process on this line.
      if (reply.type === 'failpoint') return console.error(`twin: failpoint ${reply.name} reached`);
      if (reply.type === 'answer') {
        const waiting = answers.get(reply.id);
        answers.delete(reply.id);
        if (reply.error !== undefined) waiting?.reject(new Error(reply.error));
        else waiting?.resolve(reply.result);
        return;
      }
      latest = reply.snapshot;
      if (reply.type === 'ready') resolve();
      if (reply.type === 'stopped') stopped?.();
    });
    const fail = (error: Error) => {
      if (failure) return;
      // Nothing acknowledged is lost (the stream and the files are durable), but nothing moves: say so loudly.
      failure = error;
      log('delivery thread failed; restart the twin to resume delivery', { error: String(error) });
      reject(error);
      for (const waiting of answers.values()) waiting.reject(error);
      answers.clear();
      stopped?.();
    };
    worker.on('error', fail);
    // An exit nobody asked for (stop() waits for 'stopped' first) is a failure too.
    worker.on('exit', (code) => {
      if (!ending) fail(new Error(`the delivery thread exited (code ${code})`));
    });
  });
  await ready;

  return {
    notify: (key) => worker.postMessage({ type: 'notify', key } satisfies PipelineRequest),
    snapshot: () => latest!,
    failure: () => failure,
    query(sql) {
      if (failure) return Promise.reject(failure);
      const id = nextId++;
      return new Promise((resolve, reject) => {
        answers.set(id, { resolve, reject });
        worker.postMessage({ type: 'query', id, sql } satisfies PipelineRequest);
      });
    },
    async stop() {
      if (!failure) {
        const done = new Promise<void>((resolve) => (stopped = resolve));
        worker.postMessage({ type: 'stop' } satisfies PipelineRequest);
        await done;
      }
      const error = failure;
      ending = true; // the exit that follows is expected
      await worker.terminate();
      if (error) throw error;
    },
  };
}
