// kinesalite's sequence numbers and hash keys on native BigInt.
//
// kinesalite keeps Kinesis sequence numbers (up to 2^188) and partition-key hash
// keys (2^128) as bignumber.js values, and converts them between hexadecimal and
// decimal for every record it stores or reads: in a 500-record PutRecords that is
// about two thirds of its CPU time (docs/BENCHMARKS.md). Native BigInt does the
// same conversions an order of magnitude faster.
//
// The replacements return exactly what kinesalite's own functions return: the
// tests compare both over random inputs. Anything outside the common shape
// (legacy sequence versions, malformed input, error cases) goes to the original
// function, so error messages and edge cases stay kinesalite's.
//
// Plain JavaScript: the emulator worker loads it without the TypeScript loader.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const requireHere = createRequire(import.meta.url);
// Resolve from kinesalite itself, so that these are the very module instances
// (and the same bignumber.js) its actions use.
const requireKinesalite = createRequire(requireHere.resolve('kinesalite'));
const db = requireKinesalite('./db/index.js');
const BigNumber = requireKinesalite('bignumber.js');

/** kinesalite's own functions, as they were before `speedUpKinesalite()`. */
export const originals = Object.freeze({
  parseSequence: db.parseSequence,
  stringifySequence: db.stringifySequence,
  partitionKeyToHashKey: db.partitionKeyToHashKey,
});

// The bounds kinesalite uses to tell sequence-number versions apart.
const POW_2_124 = 1n << 124n;
const POW_2_124_NEXT = (1n << 125n) * 16n;
const POW_2_185 = 1n << 185n;
const POW_2_185_NEXT = (POW_2_185 * 3n) / 2n;
const DECIMAL = /^[0-9]{1,80}$/;
const HEX = /^[0-9a-f]+$/;
const UNSIGNED = /^[0-9]+$/;

/**
 * Decodes a version-2 sequence number (the only version kinesalite writes).
 * Example: `parseSequence(seq).shardIx` is the shard a stored record is on.
 */
export function parseSequence(seq) {
  if (typeof seq !== 'string' || !DECIMAL.test(seq)) return originals.parseSequence(seq);
  let value = BigInt(seq);
  if (value < POW_2_124) value += POW_2_124;
  if (!(value > POW_2_185 && value < POW_2_185_NEXT) || value < POW_2_124_NEXT) return originals.parseSequence(seq);
  const hex = value.toString(16);
  if (hex.at(-1) !== '2') return originals.parseSequence(seq);
  const seqIxHex = hex.slice(11, 27);
  const shardIxHex = hex.slice(38, 46);
  const shardCreateSecs = parseInt(hex.slice(1, 10), 16);
  // Out-of-range fields: kinesalite throws, with its own message.
  if (parseInt(seqIxHex[0], 16) > 7 || parseInt(shardIxHex[0], 16) > 7 || shardCreateSecs >= 16025175000) {
    return originals.parseSequence(seq);
  }
  return {
    shardCreateTime: shardCreateSecs * 1000,
    seqIx: BigInt(`0x${seqIxHex}`).toString(),
    byte1: hex.slice(27, 29),
    seqTime: parseInt(hex.slice(29, 38), 16) * 1000,
    shardIx: parseInt(shardIxHex, 16),
    version: 2,
  };
}

const pad = (text, width) => text.padStart(width, '0').slice(-width);

/**
 * Encodes a version-2 sequence number from its fields.
 * Example: `stringifySequence({ shardCreateTime, shardIx: 0, seqIx: 5, seqTime: Date.now() })`.
 */
export function stringifySequence(obj) {
  if (!(obj.version == null || obj.version === 2)) return originals.stringifySequence(obj);
  const seqIx = obj.seqIx || 0;
  const plainIndex =
    typeof seqIx === 'number' ? Number.isSafeInteger(seqIx) && seqIx >= 0 : typeof seqIx === 'string' && UNSIGNED.test(seqIx);
  if (!plainIndex) return originals.stringifySequence(obj);
  const shardIx = obj.shardIx || 0;
  const hex = [
    '2',
    pad(Math.floor(obj.shardCreateTime / 1000).toString(16), 9),
    shardIx.toString(16).slice(-1),
    pad(BigInt(seqIx).toString(16), 16),
    obj.byte1 || '00',
    pad(Math.floor((obj.seqTime || obj.shardCreateTime) / 1000).toString(16), 9),
    db.shardIxToHex(obj.shardIx),
    '2',
  ].join('');
  if (!HEX.test(hex)) return originals.stringifySequence(obj);
  return BigInt(`0x${hex}`).toString();
}

/** The 128-bit hash key Kinesis derives from a partition key (MD5), as kinesalite's BigNumber. */
export function partitionKeyToHashKey(partitionKey) {
  const hex = createHash('md5').update(partitionKey, 'utf8').digest('hex');
  // Decimal input is bignumber.js's cheap path; hexadecimal is its slow one.
  return new BigNumber(BigInt(`0x${hex}`).toString());
}

let installed = false;

/**
 * kinesalite numbers a shard group's first record with sequence index 0, the
 * index of every shard's starting position. An empty GetRecords returns an
 * iterator with that index and the current time; if it runs after such a record
 * was numbered but before it was written (puts write after numbering), the
 * iterator sorts above the record, and the reader never sees it: one record of a
 * fresh stream lost (seen once in `pnpm bench:client`; reproduced by delaying
 * that write). Starting every group's counter at 1 leaves index 0 to the shards'
 * starting positions, so that an empty read's iterator sorts below every record.
 */
function startSequenceIndexesAtOne(store) {
  const getStream = store.getStream;
  store.getStream = (name, cb) =>
    getStream(name, (error, stream) => {
      if (!error && stream && Array.isArray(stream.Shards)) {
        stream._seqIx ??= [];
        for (let group = 0; group < Math.ceil(stream.Shards.length / 5); group++) if (!stream._seqIx[group]) stream._seqIx[group] = 1;
      }
      cb(error, stream);
    });
  return store;
}

/**
 * Puts the BigInt versions in place of kinesalite's, and the sequence-index fix
 * above, for every kinesalite created after it in this thread. Idempotent.
 */
export function speedUpKinesalite() {
  if (installed) return;
  db.parseSequence = parseSequence;
  db.stringifySequence = stringifySequence;
  db.partitionKeyToHashKey = partitionKeyToHashKey;
  const create = db.create;
  db.create = (options) => startSequenceIndexesAtOne(create(options));
  installed = true;
}
