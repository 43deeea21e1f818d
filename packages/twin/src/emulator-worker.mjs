// The emulators' thread: kinesalite and s3rver run here, on the other core,
// so that the API, the handler, Firehose and Snowpipe keep the main event loop.
// Plain JavaScript: a worker must load without the TypeScript loader.
import { parentPort, workerData } from 'node:worker_threads';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
// Before kinesalite: it replaces one of its actions in the module cache, where kinesalite takes them from.
import './kinesalite-at-timestamp.mjs';
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
const s3Server = new S3rver({
  port: 0,
  address: host,
  silent: true,
  directory: s3Dir,
  configureBuckets: buckets.map((name) => ({ name })),
});
// S3 honours `If-None-Match: *` on PutObject (a conditional write: 412 when the key exists); s3rver ignores it.
// The quarantine writer and the replay ledger rely on it, so the twin does it: before s3rver's router,
// one conditional write per key at a time, so that two racing writers cannot both see "absent".
const conditional = new Map();
s3Server.middleware.splice(2, 0, async (ctx, next) => {
  if (
    ctx.method !== 'PUT' ||
    ctx.get('if-none-match') !== '*' ||
    Object.keys(ctx.query).some((k) => k !== 'x-id') ||
    ctx.get('x-amz-copy-source')
  )
    return next();
  const [, bucket, ...rest] = ctx.path.split('/');
  const key = rest.map(decodeURIComponent).join('/');
  const id = `${bucket}/${key}`;
  const previous = conditional.get(id) ?? Promise.resolve();
  let release;
  const mine = new Promise((resolve) => (release = resolve));
  const tail = previous.then(() => mine);
  conditional.set(id, tail);
  await previous;
  try {
    if (await s3Server.store.existsObject(decodeURIComponent(bucket), key)) {
      ctx.status = 412;
      ctx.type = 'application/xml';
      ctx.body =
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>PreconditionFailed</Code><Message>At least one of the pre-conditions you specified did not hold</Message><Condition>If-None-Match</Condition></Error>';
      return;
    }
    await next();
  } finally {
    release();
    if (conditional.get(id) === tail) conditional.delete(id);
  }
});
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

parentPort.postMessage({
  type: 'ready',
  kinesisEndpoint: `http://${host}:${kinesisServer.address().port}`,
  s3Endpoint: `http://${host}:${port}`,
});
