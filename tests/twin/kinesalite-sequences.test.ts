import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  originals,
  parseSequence,
  partitionKeyToHashKey,
  stringifySequence,
  type SequenceFields,
} from '../../packages/twin/src/kinesalite-sequences.mjs';

// The twin swaps kinesalite's bignumber.js arithmetic for BigInt: every result
// must be exactly kinesalite's own, or the emulator would change behaviour.

const outcome = (f: () => unknown) => {
  try {
    return { value: f() };
  } catch (error) {
    return { error: (error as Error).message };
  }
};

const fields: fc.Arbitrary<SequenceFields> = fc.record(
  {
    // Shard creation times as kinesalite makes them (whole seconds, ms units), up to its limit.
    shardCreateTime: fc.integer({ min: 0, max: 16_025_174_999 }).map((s) => s * 1000),
    shardIx: fc.integer({ min: 0, max: 2 ** 32 - 1 }),
    seqIx: fc.oneof(fc.nat(), fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), fc.bigInt({ min: 0n, max: 2n ** 64n }).map(String)),
    seqTime: fc.integer({ min: 1, max: 16_025_174_999 }).map((s) => s * 1000 + (s % 997)),
    byte1: fc.constantFrom('00', '01', 'ff'),
    version: fc.constantFrom(undefined, 2),
  },
  { requiredKeys: ['shardCreateTime'] },
);

/** 47 hex digits shaped like a version-2 sequence number, every field random (valid or not), as decimal. */
const v2Shaped = fc
  .tuple(fc.constantFrom('1', '2', '3'), fc.stringMatching(/^[0-9a-f]{45}$/), fc.constantFrom('0', '1', '2', 'f'))
  .map(([first, middle, last]) => BigInt(`0x${first}${middle}${last}`).toString());

describe('kinesalite sequence numbers on BigInt', () => {
  it("replaces kinesalite's own functions (and the tests compare against the originals, not themselves)", () => {
    expect(originals.parseSequence).not.toBe(parseSequence);
    expect(originals.stringifySequence).not.toBe(stringifySequence);
    expect(originals.partitionKeyToHashKey).not.toBe(partitionKeyToHashKey);
  });

  it('encodes every version-2 sequence exactly as kinesalite does', () => {
    fc.assert(
      fc.property(fields, (f) => {
        expect(stringifySequence(f)).toBe(originals.stringifySequence(f));
      }),
      { numRuns: 2_000 },
    );
  });

  it('decodes every sequence kinesalite writes exactly as kinesalite does', () => {
    fc.assert(
      fc.property(fields, (f) => {
        const seq = originals.stringifySequence(f);
        // Out-of-range fields (seqIx ≥ 2^63, shardIx ≥ 2^31) make kinesalite throw: so must we, alike.
        expect(outcome(() => parseSequence(seq))).toEqual(outcome(() => originals.parseSequence(seq)));
      }),
      { numRuns: 2_000 },
    );
  });

  it('matches kinesalite on anything else: other versions, garbage, out-of-range fields, errors included', () => {
    const inputs = fc.oneof(
      v2Shaped,
      fc.bigInt({ min: 0n, max: 2n ** 190n }).map(String),
      fc.string(),
      fc.constantFrom('', '0', '-1', '1e5', ' 12', '0x1f', '49590338271490256608559692538361571095921575989136588898'),
    );
    fc.assert(
      fc.property(inputs, (seq) => {
        expect(outcome(() => parseSequence(seq))).toEqual(outcome(() => originals.parseSequence(seq)));
      }),
      { numRuns: 5_000 },
    );
    for (const f of [
      { shardCreateTime: 1_700_000_000_000, version: 1 },
      { shardCreateTime: 1_700_000_000_000, version: 0 },
      { shardCreateTime: Number.NaN },
      { shardCreateTime: 1_700_000_000_000, shardIx: -1 },
      { shardCreateTime: 1_700_000_000_000, seqIx: -3 },
    ]) {
      expect(outcome(() => stringifySequence(f))).toEqual(outcome(() => originals.stringifySequence(f)));
    }
  });

  it('derives the same 128-bit hash key from any partition key', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme', maxLength: 256 }), (key) => {
        const fast = partitionKeyToHashKey(key);
        const slow = originals.partitionKeyToHashKey(key);
        expect(fast.toFixed()).toBe(slow.toFixed());
        expect(fast.comparedTo(slow.toFixed())).toBe(0);
      }),
      { numRuns: 2_000 },
    );
  });
});

describe('kinesalite as the twin runs it: no record shares a shard start position', () => {
  it("numbers every shard group's first record above index 0, also after a split, so an empty read never skips one", async () => {
    const { startEmulators, createStream } = await import('../support/emulators');
    const {
      GetShardIteratorCommand,
      GetRecordsCommand,
      PutRecordsCommand,
      ListShardsCommand,
      SplitShardCommand,
      DescribeStreamSummaryCommand,
    } = await import('@aws-sdk/client-kinesis');
    const emulators = await startEmulators();
    try {
      // Seven shards: two groups of five, both starting fresh.
      await createStream(emulators.kinesis, 'fresh', 7);
      const keys = Array.from({ length: 200 }, (_, i) => `k-${i}`);
      const put = await emulators.kinesis.send(
        new PutRecordsCommand({ StreamName: 'fresh', Records: keys.map((k) => ({ PartitionKey: k, Data: new TextEncoder().encode(k) })) }),
      );
      const indexes = (put.Records ?? []).map((r) => BigInt(parseSequence(r.SequenceNumber!).seqIx as string | number));
      expect(new Set((put.Records ?? []).map((r) => r.ShardId)).size).toBe(7);
      expect(indexes.every((ix) => ix >= 1n)).toBe(true);
      // An empty read's iterator (index 0, the time now) then sorts below every record: all are read.
      const shards = (await emulators.kinesis.send(new ListShardsCommand({ StreamName: 'fresh' }))).Shards ?? [];
      let read = 0;
      for (const shard of shards) {
        const { ShardIterator } = await emulators.kinesis.send(
          new GetShardIteratorCommand({ StreamName: 'fresh', ShardId: shard.ShardId!, ShardIteratorType: 'TRIM_HORIZON' }),
        );
        read += (await emulators.kinesis.send(new GetRecordsCommand({ ShardIterator }))).Records?.length ?? 0;
      }
      expect(read).toBe(200);
      // A split adds shards: the new group starts above 0 too.
      const first = shards[0]!;
      const middle = ((BigInt(first.HashKeyRange!.StartingHashKey!) + BigInt(first.HashKeyRange!.EndingHashKey!)) / 2n).toString();
      await emulators.kinesis.send(
        new SplitShardCommand({ StreamName: 'fresh', ShardToSplit: first.ShardId!, NewStartingHashKey: middle }),
      );
      for (let i = 0; i < 50; i++) {
        const s = await emulators.kinesis.send(new DescribeStreamSummaryCommand({ StreamName: 'fresh' }));
        if (s.StreamDescriptionSummary?.StreamStatus === 'ACTIVE') break;
        await new Promise((r) => setTimeout(r, 20));
      }
      const after = await emulators.kinesis.send(
        new PutRecordsCommand({ StreamName: 'fresh', Records: keys.map((k) => ({ PartitionKey: k, Data: new TextEncoder().encode(k) })) }),
      );
      expect((after.Records ?? []).every((r) => BigInt(parseSequence(r.SequenceNumber!).seqIx as string | number) >= 1n)).toBe(true);
    } finally {
      await emulators.stop();
    }
  });
});
