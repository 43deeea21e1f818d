// kinesalite's GetShardIterator of type AT_TIMESTAMP, answered as Kinesis answers it.
//
// kinesalite looks for the shard's first record at or after the timestamp and
// answers with an iterator there; when the shard holds no such record (an empty
// shard, or only older records) it never answers at all, and the caller waits
// forever. Kinesis answers with an iterator at the shard's tip: GetRecords then
// returns what arrives from then on. `pnpm replay` asks for AT_TIMESTAMP on every
// shard when it recovers an interrupted run, and with a request's events packed
// into few records a shard with nothing recent is common.
//
// Imported for its effect before kinesalite itself (see emulator-worker.mjs): it
// replaces the action in Node's module cache, where kinesalite's index takes it from.
// Every other case (other iterator types, bad input, unknown streams) is kinesalite's own.
// Plain JavaScript: the emulator worker loads it without the TypeScript loader.
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);
const requireKinesalite = createRequire(requireHere.resolve('kinesalite'));
const actionPath = requireKinesalite.resolve('./actions/getShardIterator.js');
const original = requireKinesalite(actionPath);
const db = requireKinesalite('./db/index.js');

/**
 * The first record of the shard at or after `data.Timestamp` (seconds), or, when
 * there is none, kinesalite's own LATEST iterator.
 *
 * @example
 * // an empty shard: { ShardIterator: <at the tip> } instead of no answer
 */
export function getShardIteratorAtTimestamp(store, data, cb) {
  if (data.ShardIteratorType !== 'AT_TIMESTAMP' || data.Timestamp == null || data.Timestamp * 1000 > Date.now()) {
    return original(store, data, cb);
  }
  let shard;
  try {
    shard = db.resolveShardId(data.ShardId);
  } catch {
    return original(store, data, cb);
  }
  store.getStream(data.StreamName, (err, stream) => {
    if (err || shard.shardIx >= stream.Shards.length) return original(store, data, cb);
    let answered = false;
    const answer = (error, result) => {
      if (answered) return;
      answered = true;
      cb(error, result);
    };
    const records = store.getStreamDb(data.StreamName).createReadStream({
      gt: db.shardIxToHex(shard.shardIx),
      lt: db.shardIxToHex(shard.shardIx + 1),
    });
    records.on('data', (item) => {
      if (answered || item.value.ApproximateArrivalTimestamp < data.Timestamp) return;
      answer(null, { ShardIterator: db.createShardIterator(data.StreamName, shard.shardId, item.key.split('/')[1]) });
      records.destroy();
    });
    records.on('error', (error) => answer(error));
    records.on('end', () => {
      if (!answered) {
        answered = true;
        original(store, { ...data, ShardIteratorType: 'LATEST', Timestamp: undefined }, cb);
      }
    });
  });
}

requireKinesalite.cache[actionPath].exports = getShardIteratorAtTimestamp;
