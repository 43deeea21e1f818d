import { Worker } from 'node:worker_threads';

export interface S3Event {
  eventName: string;
  s3: { bucket: { name: string }; object: { key: string; size: number } };
}

export interface RunningEmulators {
  kinesisEndpoint: string;
  s3Endpoint: string;
  /** Subscribes to the S3 emulator's event notifications (ObjectCreated and others). */
  onS3Event(listener: (event: S3Event) => void): void;
  stop(): Promise<void>;
}

interface EmulatorMessage {
  type: 'ready' | 's3event' | 'log' | 'failpoint' | 'stopped';
  records?: S3Event[];
  kinesisEndpoint?: string;
  s3Endpoint?: string;
  message?: string;
  name?: string;
  key?: string;
}

/**
 * kinesalite (Kinesis, on leveldown) and s3rver (S3, on the file system), both
 * persisted under the data dir, on loopback ports, in a worker thread: they get
 * the second core, and die with the process (no orphan holds the data dir).
 */
/** Only the profiler's flags (`pnpm bench --profile`), so that the thread profiles like the main one. */
export function profilerFlags(): string[] {
  return process.execArgv.filter((arg, i, all) => arg.startsWith('--cpu-prof') || all[i - 1] === '--cpu-prof-dir');
}

/** Test-only points where the twin stops so that a test can kill it there (`SNOWGATE_TWIN_FAILPOINT`). */
export type Failpoint = 'landing-write';

export interface EmulatorOptions {
  host?: string;
  /** `landing-write`: the first landing object's write stops half way and is announced on stderr (see emulator-worker.mjs). */
  failpoint?: Failpoint | undefined;
  log?: (message: string) => void;
}

/** The buckets are created if missing; the first is the landing bucket. */
export async function startEmulators(dataDir: string, buckets: string[], options: EmulatorOptions = {}): Promise<RunningEmulators> {
  const { host = '127.0.0.1', failpoint, log } = options;
  const worker = new Worker(new URL('./emulator-worker.mjs', import.meta.url), {
    workerData: { dataDir, buckets, host, failpoint },
    execArgv: profilerFlags(),
  });
  const listeners: ((event: S3Event) => void)[] = [];
  const ready = await new Promise<{ kinesisEndpoint: string; s3Endpoint: string }>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (message: EmulatorMessage) => {
      if (message.type === 'log') log?.(message.message!);
      // Said whether or not the twin is quiet: the test waiting for it kills the process on this line.
      if (message.type === 'failpoint') console.error(`twin: failpoint ${message.name} reached (${message.key})`);
      if (message.type === 'ready') resolve({ kinesisEndpoint: message.kinesisEndpoint!, s3Endpoint: message.s3Endpoint! });
      if (message.type === 's3event') for (const record of message.records ?? []) for (const l of listeners) l(record);
    });
  });
  worker.on('error', (error) => console.error('twin: emulator thread failed:', error));
  return {
    ...ready,
    onS3Event(listener) {
      listeners.push(listener);
    },
    async stop() {
      // The worker closes its servers (flushing leveldown); if it has died or hangs, terminate it after 5 s.
      const stopped = new Promise<void>((resolve) => {
        worker.on('message', (m: { type: string }) => m.type === 'stopped' && resolve());
        worker.once('exit', () => resolve());
        setTimeout(resolve, 5_000).unref();
      });
      worker.postMessage({ type: 'stop' });
      await stopped;
      await worker.terminate();
    },
  };
}
