import {
  CreateStreamCommand,
  DescribeStreamCommand,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type KinesisClient,
} from '@aws-sdk/client-kinesis';
import { CreateBucketCommand, GetObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createClients } from '@snowgate/functions/clients';
import kinesalite from 'kinesalite';
import { speedUpKinesalite } from '../../packages/twin/src/kinesalite-sequences.mjs';
import { makeWritesAtomic } from '../../packages/twin/src/s3rver-atomic.mjs';
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';

export interface Emulators {
  kinesisEndpoint: string;
  s3Endpoint: string;
  kinesis: KinesisClient;
  s3: S3Client;
  stop(): Promise<void>;
}

/**
 * Starts kinesalite and s3rver on free loopback ports: the real Kinesis and S3
 * wire protocols, reached through the same SDK clients as production.
 */
export async function startEmulators(): Promise<Emulators> {
  speedUpKinesalite(); // as the twin runs it
  const kinesisServer = kinesalite({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 50 });
  await new Promise<void>((resolve) => kinesisServer.listen(0, '127.0.0.1', () => resolve()));
  const kinesisEndpoint = `http://127.0.0.1:${(kinesisServer.address() as AddressInfo).port}`;

  const directory = mkdtempSync(join(tmpdir(), 'snowgate-s3-'));
  const s3Server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory });
  makeWritesAtomic((s3Server as unknown as { store: unknown }).store); // as the twin's store writes
  const { port } = (await s3Server.run()) as AddressInfo;
  const s3Endpoint = `http://127.0.0.1:${port}`;

  process.env.AWS_ACCESS_KEY_ID ??= 'S3RVER';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'S3RVER';
  const { kinesis, s3 } = createClients({ region: 'us-east-1', kinesisEndpoint, s3Endpoint });
  return {
    kinesisEndpoint,
    s3Endpoint,
    kinesis,
    s3,
    async stop() {
      kinesis.destroy();
      s3.destroy();
      await s3Server.close();
      await new Promise<void>((resolve) => kinesisServer.close(() => resolve()));
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

export async function createStream(kinesis: KinesisClient, name: string, shards = 2): Promise<void> {
  await kinesis.send(new CreateStreamCommand({ StreamName: name, ShardCount: shards }));
  for (let i = 0; i < 100; i++) {
    const d = await kinesis.send(new DescribeStreamCommand({ StreamName: name }));
    if (d.StreamDescription?.StreamStatus === 'ACTIVE') return;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`stream ${name} never became ACTIVE`);
}

export async function createBucket(s3: S3Client, name: string): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: name }));
}

export interface StreamRecord {
  shardId: string;
  partitionKey: string;
  data: string;
}

/** Everything on the stream, shard by shard, read with GetShardIterator / GetRecords. */
export async function readStream(kinesis: KinesisClient, name: string): Promise<StreamRecord[]> {
  const d = await kinesis.send(new DescribeStreamCommand({ StreamName: name }));
  const out: StreamRecord[] = [];
  for (const shard of d.StreamDescription?.Shards ?? []) {
    let { ShardIterator: iterator } = await kinesis.send(
      new GetShardIteratorCommand({ StreamName: name, ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
    );
    while (iterator) {
      const page = await kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
      for (const r of page.Records ?? [])
        out.push({ shardId: shard.ShardId!, partitionKey: r.PartitionKey!, data: Buffer.from(r.Data!).toString('utf8') });
      if ((page.Records ?? []).length === 0 || page.MillisBehindLatest === 0) break;
      iterator = page.NextShardIterator;
    }
  }
  return out;
}

/** Every object in a bucket, parsed as JSON, with its key. */
export async function readBucket(s3: S3Client, bucket: string, prefix = ''): Promise<{ key: string; body: unknown }[]> {
  const out: { key: string; body: unknown }[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      const got = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.Key! }));
      out.push({ key: o.Key!, body: JSON.parse(await got.Body!.transformToString()) });
    }
    token = page.NextContinuationToken;
  } while (token);
  return out;
}
