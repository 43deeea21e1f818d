import {
  assessRequest,
  DEFAULT_PACKED_RECORD_BYTES,
  envelopesOf,
  FIREHOSE_RECORD_MAX_BYTES,
  KINESIS_PARTITION_KEY_MAX_CHARS,
  KINESIS_RECORD_MAX_BYTES,
  limitsSchema,
  packingSchema,
  packPartitionKey,
  packRecords,
  type AcceptedRecord,
  type PackingSettings,
} from '@snowgate/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const limits = limitsSchema.parse({});

/** A request of `records` as a JSON array, assessed as the handler does: the envelopes are the real ones. */
function accepted(requestId: string, records: unknown[]): AcceptedRecord[] {
  const a = assessRequest(
    {
      requestId,
      receivedAt: new Date('2026-12-04T01:02:03.456Z'),
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(records),
      isBase64Encoded: false,
    },
    limits,
  );
  return a.accepted;
}

/** What Firehose with `AppendDelimiterToRecord` makes of records read in this order, split into a landing file's lines. */
function landingLines(records: readonly { data: string }[]): string[] {
  const file = records.map((r) => `${r.data}\n`).join('');
  return file.split('\n').slice(0, -1);
}

const bytesOf = (s: string) => Buffer.byteLength(s, 'utf8');

/** Records of every size from a few bytes to past the pack size, with text that is not ASCII. */
const recordArb = fc.record({
  id: fc.oneof(
    fc.string({ minLength: 1, maxLength: 40 }).filter((s) => s.trim() !== ''),
    fc.integer(),
  ),
  text: fc.oneof(fc.string({ maxLength: 50 }), fc.string({ unit: 'grapheme', maxLength: 400 }), fc.string({ maxLength: 4_000 })),
});
const requestArb = fc.record({
  requestId: fc.oneof(fc.uuid(), fc.string({ minLength: 1, maxLength: 300 })),
  records: fc.array(recordArb, { minLength: 1, maxLength: 60 }),
});
const settingsArb: fc.Arbitrary<PackingSettings> = fc.record({
  mode: fc.constantFrom('packed' as const, 'single' as const),
  maxRecordBytes: fc.oneof(fc.integer({ min: 1, max: 8_000 }), fc.constant(DEFAULT_PACKED_RECORD_BYTES)),
});

describe('packRecords', () => {
  it('property: every accepted envelope lands once, in order within its request, and no record exceeds the limits', () => {
    fc.assert(
      fc.property(fc.array(requestArb, { minLength: 1, maxLength: 4 }), settingsArb, fc.nat(), (requests, settings, seed) => {
        const perRequest = requests.map((r, n) => {
          const envelopes = accepted(`${n}-${r.requestId}`, r.records);
          return { envelopes, packs: packRecords(envelopes, settings, `${n}-${r.requestId}`) };
        });
        for (const { envelopes, packs } of perRequest) {
          // In order within the request: its packs' lines, pack by pack, are its envelopes.
          expect(landingLines(packs)).toEqual(envelopes.map((e) => e.data));
          expect(packs.flatMap((p) => p.records)).toEqual(envelopes);
          const keys = new Set<string>();
          for (const pack of packs) {
            expect(pack.bytes).toBe(bytesOf(pack.data) + bytesOf(pack.partitionKey));
            expect(envelopesOf(pack.data)).toEqual(pack.records.map((r) => r.data));
            expect(pack.partitionKey.length).toBeGreaterThan(0);
            expect(pack.partitionKey.length).toBeLessThanOrEqual(KINESIS_PARTITION_KEY_MAX_CHARS);
            expect(pack.bytes).toBeLessThanOrEqual(KINESIS_RECORD_MAX_BYTES);
            expect(bytesOf(pack.data) + 1).toBeLessThanOrEqual(FIREHOSE_RECORD_MAX_BYTES);
            if (settings.mode === 'single') {
              expect(pack.records).toHaveLength(1);
              expect(pack.partitionKey).toBe(pack.records[0]!.partitionKey);
            } else {
              // Within the pack size, unless one envelope alone is larger.
              if (pack.records.length > 1) expect(pack.bytes).toBeLessThanOrEqual(settings.maxRecordBytes);
              keys.add(pack.partitionKey);
            }
          }
          // A key of its own for each pack, so that a request's packs spread over the shards.
          if (settings.mode === 'packed') expect(keys.size).toBe(packs.length);
        }
        // Firehose reads the shards in any interleaving: each envelope still lands exactly once.
        const all = perRequest.flatMap((r) => r.packs);
        const shuffled = shuffle(all, seed);
        const lines = landingLines(shuffled);
        const expected = perRequest.flatMap((r) => r.envelopes.map((e) => e.data));
        expect([...lines].sort()).toEqual([...expected].sort());
        for (const line of lines) expect(JSON.parse(line).record).toBeTypeOf('object');
      }),
      { numRuns: 300 },
    );
  });

  it('fills each pack up to the size: the next envelope would not have fitted', () => {
    fc.assert(
      fc.property(requestArb, fc.integer({ min: 200, max: 30_000 }), (r, maxRecordBytes) => {
        const packs = packRecords(accepted('req', r.records), { mode: 'packed', maxRecordBytes }, 'req');
        for (const [i, pack] of packs.entries()) {
          const next = packs[i + 1]?.records[0];
          if (!next) continue;
          const nextBytes = next.bytes - bytesOf(next.partitionKey);
          expect(pack.bytes + 1 + nextBytes).toBeGreaterThan(maxRecordBytes);
        }
      }),
    );
  });

  it('puts 100 small events in one record by default, keyed by the request id and the pack index', () => {
    const records = Array.from({ length: 100 }, (_, i) => ({ id: `e${i}`, type: 'page_view', path: '/pricing' }));
    const packs = packRecords(accepted('req-1', records), packingSchema.parse({}), 'req-1');
    expect(packs.map((p) => p.partitionKey)).toEqual(['req-1:0']);
    expect(packs[0]!.records).toHaveLength(100);
    expect(packs[0]!.data.endsWith('\n')).toBe(false);
    expect(packs[0]!.data.split('\n')).toHaveLength(100);
  });

  it('in single mode, one record per event with its id as partition key', () => {
    const packs = packRecords(accepted('req-1', [{ id: 'a' }, { id: 7 }]), { mode: 'single', maxRecordBytes: 25_600 }, 'req-1');
    expect(packs.map((p) => [p.partitionKey, p.records.length])).toEqual([
      ['a', 1],
      ['7', 1],
    ]);
  });

  it('hashes a key longer than Kinesis allows', () => {
    expect(packPartitionKey('r', 3)).toBe('r:3');
    const long = packPartitionKey('x'.repeat(300), 0);
    expect(long).toMatch(/^[0-9a-f]{64}$/);
    expect(long).not.toBe(packPartitionKey('x'.repeat(300), 1));
  });

  it('defaults to packed records of 25,600 bytes and refuses sizes past Firehose', () => {
    expect(packingSchema.parse({})).toEqual({ mode: 'packed', maxRecordBytes: 25_600 });
    expect(packingSchema.safeParse({ maxRecordBytes: FIREHOSE_RECORD_MAX_BYTES }).success).toBe(false);
    expect(packingSchema.safeParse({ mode: 'lines' }).success).toBe(false);
  });
});

/** A deterministic shuffle (Fisher–Yates over a small LCG), so that a failure replays from fast-check's seed. */
function shuffle<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed >>> 0 || 1;
  for (let i = out.length - 1; i > 0; i--) {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
