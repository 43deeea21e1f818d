import kinesalite from 'kinesalite';
import { mkdirSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import S3rver from 's3rver';

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

/**
 * kinesalite (Kinesis, on leveldown) and s3rver (S3, on the file system), both
 * persisted under the data dir, on loopback ports.
 */
export async function startEmulators(dataDir: string, buckets: string[], host = '127.0.0.1'): Promise<RunningEmulators> {
  const kinesisDir = join(dataDir, 'kinesis');
  const s3Dir = join(dataDir, 's3');
  mkdirSync(kinesisDir, { recursive: true });
  mkdirSync(s3Dir, { recursive: true });

  const kinesisServer = kinesalite({ path: kinesisDir, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
  await new Promise<void>((resolve) => kinesisServer.listen(0, host, () => resolve()));
  const s3Server = new S3rver({ port: 0, address: host, silent: true, directory: s3Dir, configureBuckets: buckets.map((name) => ({ name })) });
  const { port } = (await s3Server.run()) as AddressInfo;

  return {
    kinesisEndpoint: `http://${host}:${(kinesisServer.address() as AddressInfo).port}`,
    s3Endpoint: `http://${host}:${port}`,
    onS3Event(listener) {
      (s3Server as unknown as NodeJS.EventEmitter).on('event', (notification: { Records: S3Event[] }) => {
        for (const record of notification.Records ?? []) listener(record);
      });
    },
    async stop() {
      await s3Server.close();
      await new Promise<void>((resolve) => kinesisServer.close(() => resolve()));
    },
  };
}
