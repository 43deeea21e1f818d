// The emulators' thread: kinesalite and s3rver run here, on the other core,
// so that the API, the handler, Firehose and Snowpipe keep the main event loop.
// Plain JavaScript: a worker must load without the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import kinesalite from 'kinesalite';
import { speedUpKinesalite } from './kinesalite-sequences.mjs';
import S3rver from 's3rver';

const { dataDir, buckets, host } = workerData;
const kinesisDir = join(dataDir, 'kinesis');
const s3Dir = join(dataDir, 's3');
mkdirSync(kinesisDir, { recursive: true });
mkdirSync(s3Dir, { recursive: true });

speedUpKinesalite();
const kinesisServer = kinesalite({ path: kinesisDir, createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 });
await new Promise((resolve) => kinesisServer.listen(0, host, resolve));
const s3Server = new S3rver({ port: 0, address: host, silent: true, directory: s3Dir, configureBuckets: buckets.map((name) => ({ name })) });
const { port } = await s3Server.run();
s3Server.on('event', (notification) => {
  // Structured-clone a plain copy: the event object carries class instances.
  parentPort.postMessage({ type: 's3event', records: JSON.parse(JSON.stringify(notification.Records ?? [])) });
});

parentPort.on('message', async (message) => {
  if (message.type !== 'stop') return;
  await s3Server.close();
  await new Promise((resolve) => kinesisServer.close(resolve));
  parentPort.postMessage({ type: 'stopped' });
});

parentPort.postMessage({ type: 'ready', kinesisEndpoint: `http://${host}:${kinesisServer.address().port}`, s3Endpoint: `http://${host}:${port}` });
