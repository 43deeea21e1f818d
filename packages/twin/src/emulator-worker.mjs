// The emulators' thread: kinesalite and s3rver run here, on the other core,
// so that the API, the handler, Firehose and Snowpipe keep the main event loop.
// Plain JavaScript: a worker must load without the TypeScript loader.
import { Transform } from 'node:stream';
import { parentPort, workerData } from 'node:worker_threads';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
// Before kinesalite: it replaces one of its actions in the module cache, where kinesalite takes them from.
import './kinesalite-at-timestamp.mjs';
import kinesalite from 'kinesalite';
import { speedUpKinesalite } from './kinesalite-sequences.mjs';
import S3rver from 's3rver';
import { makeWritesAtomic, sweepPartialWrites } from './s3rver-atomic.mjs';

const { dataDir, buckets, host, failpoint } = workerData;
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
// Objects appear whole or not at all, as on S3 (see s3rver-atomic.mjs); what a kill cut short is swept away.
makeWritesAtomic(s3Server.store);
const swept = await sweepPartialWrites(s3Dir);
if (swept > 0) parentPort.postMessage({ type: 'log', message: `s3: removed ${swept} object write(s) cut short by a kill` });
if (failpoint === 'landing-write') holdLandingWrite(s3Server.store, buckets[0]);
const { port } = await s3Server.run();
s3Server.on('event', (notification) => {
  // Structured-clone a plain copy: the event object carries class instances.
  parentPort.postMessage({ type: 's3event', records: JSON.parse(JSON.stringify(notification.Records ?? [])) });
});

/**
 * The `landing-write` failpoint (SNOWGATE_TWIN_FAILPOINT, tests only): the first object written to
 * the landing bucket stops half way, its first half on its way to the disk, and the twin says so on
 * stderr; the test then kills the process at that exact moment. Wrapped around whatever store
 * writes the object, so that the same test tells a store that shows half an object from one that does not.
 */
function holdLandingWrite(store, bucket) {
  const write = store.putObject.bind(store);
  let armed = true;
  store.putObject = (object) => {
    if (!armed || object.bucket !== bucket) return write(object);
    armed = false;
    const half = Math.floor(Number(object.metadata['content-length']) / 2);
    let passed = 0;
    const held = new Transform({
      transform(chunk, _encoding, callback) {
        const room = Math.max(0, half - passed);
        passed += chunk.length;
        if (room > 0) this.push(chunk.subarray(0, room));
        if (passed >= half && room > 0) {
          // Long enough for the file system to have the first half; then never the rest.
          setTimeout(() => parentPort.postMessage({ type: 'failpoint', name: 'landing-write', key: object.key }), 300);
        }
        callback();
      },
      flush() {
        // Never called back: the write stays open until the process is killed.
      },
    });
    object.content.pipe(held);
    object.content = held;
    return write(object);
  };
}

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
