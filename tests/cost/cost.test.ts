import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_LIMITS } from '@snowgate/core';
import {
  ASSUMED_PARTITION_KEY_BYTES,
  DEFAULT_MAX_PACKED_RECORD_BYTES,
  ENVELOPE_OVERHEAD_BYTES,
  LANDING_GZIP_STORED_SHARE,
  PACKED_PARTITION_KEY_BYTES,
  STAGE_ALARMS,
  STREAMED_ROW_EXTRA_BYTES,
  apiRequestUnits,
  envelopesPerPackedRecord,
  expectedRequestRecords,
  largestSharedEventBytes,
  recordTotals,
  requestRecords,
  estimateMonthlyCost,
  firehoseFlushSeconds,
  landingFilesPerDay,
  lambdaBilledMs,
  provisionedShardsNeeded,
  requestBodyBytes,
  roundUpTo,
  stageAlarms,
  type CostEstimate,
  type CostInputRaw,
} from '@snowgate/cost';

const usdOf = (e: CostEstimate, item: string) => {
  const found = e.lines.filter((l) => l.item.startsWith(item));
  expect(found, `a line starting "${item}"`).toHaveLength(1);
  return found[0]!.usd;
};

describe('estimateMonthlyCost: hand-computed scenarios', () => {
  // 1,000 events/s of 500 B for 30 days = 2,592,000,000 events. Records: 500 + 84 (envelope) + 36 (partition key) = 620 B.
  // Landing files priced as stored uncompressed, as computed by hand here (gzip has its own test).
  const base = { eventsPerSecond: 1_000, eventBytes: 500, landingCompression: 'UNCOMPRESSED' } as const;

  it('1,000 events/s × 500 B, one event per request', () => {
    const e = estimateMonthlyCost({ ...base, batch: 1 });
    expect(ENVELOPE_OVERHEAD_BYTES).toBe(84);
    expect(e.derived.requestsPerMonth).toBe(2_592_000_000);
    // 300M at $1.00/M + 2,292M at $0.90/M.
    expect(e.byService['API Gateway']).toBeCloseTo(300 + 2_062.8, 2);
    // $0.20/M requests; ceil(20 ms + 0.2875 ms × 1769/1024) = 21 ms × 1 GB × 2.592e9 = 54,432,000 GB-s.
    expect(e.derived.lambdaBilledMs).toBe(21);
    expect(usdOf(e, 'invocations')).toBeCloseTo(518.4, 2);
    expect(usdOf(e, 'duration')).toBeCloseTo(54_432_000 * 0.0000133334, 2);
    // Kinesis on-demand: 720 h × $0.04; in: 620 B → 1,024 B, 2.592e9 KiB = 2,471.92 GiB × $0.08; out: 620 B unrounded × $0.04.
    expect(usdOf(e, 'on-demand stream-hours')).toBeCloseTo(28.8, 6);
    expect(usdOf(e, 'data in')).toBeCloseTo((2_592_000_000 / 1_048_576) * 0.08, 4);
    expect(usdOf(e, 'data retrieved')).toBeCloseTo(((2_592_000_000 * 620) / 2 ** 30) * 0.04, 4);
    // Firehose: 584 B → 5,120 B each: 12,359.6 GiB × $0.029.
    expect(e.byService.Firehose).toBeCloseTo(((2_592_000_000 * 5_120) / 2 ** 30) * 0.029, 4);
    expect(e.byService.Firehose).toBeCloseTo(358.43, 2);
    // Landing: 585 B lines, 585,000 B/s fill 1 MiB every 1.7924 s → 48,202.6 files/day.
    expect(e.derived.landingFilesPerDay).toBeCloseTo(86_400 / (1_048_576 / 585_000), 6);
    expect(usdOf(e, 'landing PUTs')).toBeCloseTo((e.derived.landingFilesPerDay * 30 * 0.005) / 1_000, 6);
    // Snowpipe: 585 B × 2.592e9 = 1,412.2 GiB × 0.0037 credits × $3.
    expect(e.byService.Snowpipe).toBeCloseTo(((585 * 2_592_000_000) / 2 ** 30) * 0.0037 * 3, 4);
    // CloudWatch: 12 alarm metrics (10 alarms, two reading 2 metrics) × $0.10 and one dashboard at $3.00.
    expect(usdOf(e, '10 alarms')).toBeCloseTo(1.2, 9);
    expect(usdOf(e, '1 dashboard')).toBeCloseTo(3, 9);
    // Retention, 72 h by default: 48 h beyond the included 24 hold 48/720 of the month's 2,471.92 GiB, at $0.10 per GB-month.
    expect(usdOf(e, 'retention 72 h')).toBeCloseTo((2_592_000_000 / 1_048_576) * (48 / 720) * 0.1, 4);
    expect(e.monthlyUsd).toBeCloseTo(5_759.97 + 16.48 + 0.4, 1);
  });

  it('the same load in batches of 100, one record per event: request-driven lines fall a hundredfold, the rest does not move', () => {
    const single = estimateMonthlyCost({ ...base, batch: 1, packing: 'single' });
    const batched = estimateMonthlyCost({ ...base, batch: 100, packing: 'single' });
    expect(batched.derived.requestsPerMonth).toBe(25_920_000);
    expect(batched.derived.requestBodyBytes).toBe(50_101);
    expect(batched.byService['API Gateway']).toBeCloseTo(25.92, 6);
    // ceil(20 + (0.28 + 0.75) × 1769/1024) = 22 ms.
    expect(batched.derived.lambdaBilledMs).toBe(22);
    expect(batched.byService.Lambda).toBeCloseTo(5.184 + 25_920_000 * 0.022 * 0.0000133334, 4);
    for (const service of ['Kinesis', 'Firehose', 'S3', 'Snowpipe'] as const) {
      expect(batched.byService[service]).toBeCloseTo(single.byService[service], 9);
    }
    expect(batched.monthlyUsd).toBeCloseTo(757.81 + 16.48 + 0.4, 1);
  });

  it('provisioned: shards for the load, shard-hours and 25 KB PUT payload units', () => {
    // 2,500 records/s of 620 B: 1.55 MB/s needs 2 shards by bytes, 3 by records.
    const e = estimateMonthlyCost({ eventsPerSecond: 2_500, eventBytes: 500, batch: 50, stream: 'provisioned', packing: 'single' });
    expect(e.derived.shards).toBe(3);
    expect(usdOf(e, '3 shard(s)')).toBeCloseTo(3 * 720 * 0.015, 9);
    expect(usdOf(e, 'PUT payload units')).toBeCloseTo(((2_500 * 2_592_000) / 1e6) * 0.014, 6);
    expect(e.lines.some((l) => l.item.includes('stream-hours'))).toBe(false);
    // A 30 KB event is two payload units.
    expect(
      estimateMonthlyCost({ eventsPerSecond: 1, eventBytes: 30_000, batch: 1, stream: 'provisioned' }).derived.putPayloadUnitsPerRecord,
    ).toBe(2);
  });

  it('an idle stage costs its stream-hours and alarms', () => {
    const idle = estimateMonthlyCost({ eventsPerSecond: 1e-6, eventBytes: 500, batch: 1 });
    expect(idle.monthlyUsd).toBeCloseTo(28.8 + 1.2 + 3, 1);
    const provisioned = estimateMonthlyCost({ eventsPerSecond: 1e-6, eventBytes: 500, batch: 1, stream: 'provisioned' });
    // One shard, and its extended retention (72 h by default) at $0.02 per shard-hour.
    expect(provisioned.monthlyUsd).toBeCloseTo(10.8 + 14.4 + 1.2 + 3, 1);
  });

  it('stream retention: free for 24 h, then per shard-hour (provisioned, to 7 days) or per GB held (on-demand), and per GB beyond 7 days', () => {
    const load = { eventsPerSecond: 1_000, eventBytes: 500, batch: 1, packing: 'single' } as const;
    // 1,000 records/s rounded to 1 KB: 3.43 GiB an hour on-demand; 620 B each held provisioned: 2.08 GiB an hour.
    const GIB = 2 ** 30;
    const onDemandGiBPerHour = (1_000 * 1_024 * 3_600) / GIB;
    const provisionedGiBPerHour = (1_000 * 620 * 3_600) / GIB;
    expect(estimateMonthlyCost({ ...load, retentionHours: 24 }).lines.some((l) => l.item.startsWith('retention'))).toBe(false);
    expect(estimateMonthlyCost(load).input.retentionHours).toBe(72);
    expect(usdOf(estimateMonthlyCost({ ...load, retentionHours: 168 }), 'retention 168 h')).toBeCloseTo(onDemandGiBPerHour * 144 * 0.1, 6);
    const week = estimateMonthlyCost({ ...load, stream: 'provisioned', retentionHours: 168 });
    const threeDays = estimateMonthlyCost({ ...load, stream: 'provisioned', retentionHours: 72 });
    // Per shard-hour whatever the hours up to 7 days: 1 shard (620,000 B/s, 1,000 records/s) × 720 h × $0.02.
    expect(week.derived.shards).toBe(1);
    expect(usdOf(week, 'retention 168 h')).toBeCloseTo(14.4, 9);
    expect(usdOf(threeDays, 'retention 72 h')).toBeCloseTo(14.4, 9);
    const year = estimateMonthlyCost({ ...load, stream: 'provisioned', retentionHours: 8_760 });
    expect(usdOf(year, 'retention 8760 h: extended')).toBeCloseTo(14.4, 9);
    expect(usdOf(year, 'retention 8760 h: data held 8592 h beyond 7 days')).toBeCloseTo(provisionedGiBPerHour * 8_592 * 0.023, 4);
    expect(() => estimateMonthlyCost({ ...load, retentionHours: 12 })).toThrow(ConfigError);
    expect(() => estimateMonthlyCost({ ...load, retentionHours: 8_761 })).toThrow(/retentionHours/);
  });

  it('quarantine: one PUT per request with at least one rejected event', () => {
    // 100 events/s in batches of 10, 1 % rejected: 1 − 0.99^10 = 9.56 % of 25.92M requests.
    const e = estimateMonthlyCost({ eventsPerSecond: 100, eventBytes: 500, batch: 10, rejectRate: 0.01 });
    expect(e.derived.quarantinedRequestsPerMonth).toBeCloseTo(25_920_000 * (1 - 0.99 ** 10), 3);
    expect(usdOf(e, 'quarantine PUTs')).toBeCloseTo((25_920_000 * (1 - 0.99 ** 10) * 0.005) / 1_000, 6);
    // Rejected events never reach the stream: one record per event, 1 % fewer records.
    const single = estimateMonthlyCost({ eventsPerSecond: 100, eventBytes: 500, batch: 10, rejectRate: 0.01, packing: 'single' });
    const clean = estimateMonthlyCost({ eventsPerSecond: 100, eventBytes: 500, batch: 10, packing: 'single' });
    expect(single.byService.Firehose).toBeCloseTo(clean.byService.Firehose * 0.99, 9);
    expect(clean.lines.some((l) => l.item.startsWith('quarantine'))).toBe(false);
  });
});

describe('billing units', () => {
  it('Firehose rounds every record up to 5 KB, so record size below 5 KB does not matter and batching does not help', () => {
    expect(roundUpTo(1, 5_120)).toBe(5_120);
    expect(roundUpTo(5_120, 5_120)).toBe(5_120);
    expect(roundUpTo(5_121, 5_120)).toBe(10_240);
    const at = (eventBytes: number, batch = 1) =>
      estimateMonthlyCost({ eventsPerSecond: 10, eventBytes, batch, packing: 'single' }).byService.Firehose;
    // 100 B and 5,036 B events (5,120 B enveloped) cost the same; one byte more costs double.
    expect(at(5_120 - ENVELOPE_OVERHEAD_BYTES)).toBeCloseTo(at(100), 12);
    expect(at(5_121 - ENVELOPE_OVERHEAD_BYTES)).toBeCloseTo(2 * at(100), 12);
    expect(at(100, 500)).toBeCloseTo(at(100, 1), 12);
  });

  it('API Gateway meters HTTP API requests in 512 KB increments', () => {
    expect(apiRequestUnits(1)).toBe(1);
    expect(apiRequestUnits(524_288)).toBe(1);
    expect(apiRequestUnits(524_289)).toBe(2);
    expect(apiRequestUnits(4 * 1_048_576)).toBe(8);
    // 100 events of 6,000 B: 600,101 B, two units per request.
    expect(requestBodyBytes(100, 6_000)).toBe(600_101);
    const e = estimateMonthlyCost({ eventsPerSecond: 100, eventBytes: 6_000, batch: 100 });
    expect(e.derived.apiUnitsPerRequest).toBe(2);
    expect(e.byService['API Gateway']).toBeCloseTo(2 * 2_592_000 * 1e-6, 9);
  });

  it('files per day follow the buffer: every interval with data, or every MiB, whichever comes first', () => {
    // Any steady stream with data in every 5 s window: 17,280 files a day.
    expect(landingFilesPerDay({ recordsPerSecond: 10, lineBytes: 585, bufferMiB: 1, bufferSeconds: 5 })).toBeCloseTo(17_280, 6);
    // 585 B/s takes 1,792 s to fill 1 MiB: a 900 s interval flushes first, 96 times a day.
    expect(landingFilesPerDay({ recordsPerSecond: 1, lineBytes: 585, bufferMiB: 1, bufferSeconds: 900 })).toBeCloseTo(96, 6);
    // 2 MiB/s fills a 1 MiB buffer twice a second.
    expect(firehoseFlushSeconds(2 * 1_048_576, 1, 5)).toBe(0.5);
    expect(landingFilesPerDay({ recordsPerSecond: 2_048, lineBytes: 1_024, bufferMiB: 1, bufferSeconds: 5 })).toBeCloseTo(172_800, 6);
    // A quiet stream: one event per 100 s leaves most 5 s windows empty (1 − e^−0.05 have data).
    expect(landingFilesPerDay({ recordsPerSecond: 0.01, lineBytes: 585, bufferMiB: 1, bufferSeconds: 5 })).toBeCloseTo(
      17_280 * (1 - Math.exp(-0.05)),
      6,
    );
  });

  it('provisioned shards: 1 MiB/s or 1,000 records/s each, whichever binds', () => {
    expect(provisionedShardsNeeded(0.001, 620)).toBe(1);
    expect(provisionedShardsNeeded(1_000, 620)).toBe(1);
    expect(provisionedShardsNeeded(1_001, 620)).toBe(2);
    expect(provisionedShardsNeeded(2_500, 620)).toBe(3);
    // 100 records/s of 20 KB = 2 MB/s: bytes bind.
    expect(provisionedShardsNeeded(100, 20_000)).toBe(2);
  });

  it('Lambda duration: network wait plus CPU scaled to the memory share, in whole milliseconds', () => {
    expect(lambdaBilledMs({ batch: 1, memoryMb: 1_024, networkMs: 20 })).toBe(21);
    expect(lambdaBilledMs({ batch: 500, memoryMb: 1_024, networkMs: 20 })).toBe(27);
    // A full vCPU from 1,769 MB: no scaling.
    expect(lambdaBilledMs({ batch: 100, memoryMb: 1_769, networkMs: 0 })).toBe(2);
  });
});

describe("packing: a request's accepted envelopes in few Kinesis records", () => {
  const GIB = 2 ** 30;
  // 1,000 B events: 1,084 B envelopes. 23 of them and 22 newlines are 24,954 B, 24,994 B with the 40 B packed key; 24 would be 26,079 B.
  it('packs 100 envelopes of 1,084 B into 4 records of 23 and one of 8, each at most 25,600 B with its partition key', () => {
    expect(DEFAULT_MAX_PACKED_RECORD_BYTES).toBe(25_600);
    expect(PACKED_PARTITION_KEY_BYTES).toBe(40);
    expect(envelopesPerPackedRecord(1_084, 25_600)).toBe(23);
    const groups = requestRecords(100, 1_084, 'packed', 25_600);
    expect(groups).toEqual([
      { count: 4, envelopes: 23, dataBytes: 24_954, partitionKeyBytes: 40 },
      { count: 1, envelopes: 8, dataBytes: 8_679, partitionKeyBytes: 40 },
    ]);
    const t = recordTotals(groups);
    expect(t.records).toBe(5);
    // Firehose: 24,954 B → 25,600 (five 5 KB increments), 8,679 B → 10,240.
    expect(t.firehoseBilledBytes).toBe(4 * 25_600 + 10_240);
    // Provisioned: one 25 KB PUT payload unit per record. On-demand: 24,994 B → 25,600, 8,719 B → 9,216.
    expect(t.putPayloadUnits).toBe(5);
    expect(t.kinesisOnDemandBilledBytes).toBe(4 * 25_600 + 9_216);
    // Landed, it is still 100 lines of 1,085 B: packing changes the bill, not the data.
    expect(t.landingBytes).toBe(100 * 1_085);
    // Single: 100 records of 1,084 B + 36 B key.
    const single = recordTotals(requestRecords(100, 1_084, 'single', 25_600));
    expect(single).toMatchObject({
      records: 100,
      putPayloadUnits: 100,
      firehoseBilledBytes: 100 * 5_120,
      kinesisOnDemandBilledBytes: 100 * 2_048,
    });
    expect(single.landingBytes).toBe(t.landingBytes);
  });

  it('fills every record as far as the ceiling allows, for any event size, batch and ceiling', () => {
    for (const max of [1_024, 5_120, 25_600, 1_048_576]) {
      for (const envelope of [85, 200, 1_084, 5_120, 12_000, 30_000]) {
        for (const accepted of [1, 2, 7, 23, 24, 100, 500]) {
          const groups = requestRecords(accepted, envelope, 'packed', max);
          const n = envelopesPerPackedRecord(envelope, max);
          expect(groups.reduce((sum, g) => sum + g.count * g.envelopes, 0)).toBe(accepted);
          expect(groups.reduce((sum, g) => sum + g.count, 0)).toBe(Math.ceil(accepted / n));
          for (const g of groups) {
            expect(g.dataBytes).toBe(g.envelopes * envelope + g.envelopes - 1);
            // Within the ceiling, unless one envelope alone is larger.
            if (g.envelopes > 1) expect(g.dataBytes + g.partitionKeyBytes).toBeLessThanOrEqual(max);
            else expect(g.partitionKeyBytes).toBe(ASSUMED_PARTITION_KEY_BYTES);
          }
          // One envelope more would not have fitted.
          expect((n + 1) * envelope + n + PACKED_PARTITION_KEY_BYTES).toBeGreaterThan(max);
        }
      }
    }
  });

  it('an envelope larger than the ceiling goes alone in its own record', () => {
    expect(envelopesPerPackedRecord(30_000, 25_600)).toBe(1);
    expect(requestRecords(3, 30_000, 'packed', 25_600)).toEqual([{ count: 3, envelopes: 1, dataBytes: 30_000, partitionKeyBytes: 36 }]);
    // Two 12,779 B envelopes and a newline fill 25,600 B with the key exactly; one byte more and they do not share.
    expect(largestSharedEventBytes(25_600)).toBe(12_779 - ENVELOPE_OVERHEAD_BYTES);
    expect(envelopesPerPackedRecord(12_779, 25_600)).toBe(2);
    expect(envelopesPerPackedRecord(12_780, 25_600)).toBe(1);
  });

  it('prices 1,000 events/s of 1,000 B in batches of 100, by hand', () => {
    const load = { eventsPerSecond: 1_000, eventBytes: 1_000, batch: 100, landingCompression: 'UNCOMPRESSED' } as const;
    const requests = 25_920_000;
    const provisioned = estimateMonthlyCost({ ...load, stream: 'provisioned' });
    expect(provisioned.input.packing).toBe('packed');
    expect(provisioned.derived.kinesisRecordsPerRequest).toBe(5);
    expect(provisioned.derived.kinesisRecordsPerSecond).toBe(50);
    expect(provisioned.byService.Firehose).toBeCloseTo(((requests * 112_640) / GIB) * 0.029, 9);
    expect(usdOf(provisioned, 'PUT payload units')).toBeCloseTo(((requests * 5) / 1e6) * 0.014, 9);
    // 1,086,880 B/s binds (2 shards), not 50 records/s.
    expect(provisioned.derived.shards).toBe(2);
    const onDemand = estimateMonthlyCost(load);
    expect(usdOf(onDemand, 'data in')).toBeCloseTo(((requests * 111_616) / GIB) * 0.08, 9);
    expect(usdOf(onDemand, 'data retrieved')).toBeCloseTo(((requests * (4 * 24_994 + 8_719)) / GIB) * 0.04, 9);
    // The targets: per million events, provisioned ≤ $0.12 (single: $0.22, and $0.011 for 2 shards' 72 h retention), on-demand ≤ $0.25 (single: $0.40).
    expect(provisioned.usdPerMillionEvents).toBeLessThanOrEqual(0.12);
    expect(onDemand.usdPerMillionEvents).toBeLessThanOrEqual(0.25);
    expect(estimateMonthlyCost({ ...load, stream: 'provisioned', packing: 'single' }).usdPerMillionEvents).toBeCloseTo(
      0.22 + 28.8 / 2_592,
      2,
    );
    // On-demand single: records of 1,120 B billed as 2,048 B, held 48 h beyond the included 24 at $0.10 per GB-month.
    expect(estimateMonthlyCost({ ...load, packing: 'single' }).usdPerMillionEvents).toBeCloseTo(
      0.406 + (((1_000 * 2_048 * 3_600 * 48) / GIB) * 0.1) / 2_592,
      3,
    );
    // Landing bytes, files and Snowpipe do not depend on packing beyond the arrival pattern: same bytes.
    expect(onDemand.byService.Snowpipe).toBeCloseTo(estimateMonthlyCost({ ...load, packing: 'single' }).byService.Snowpipe, 9);
  });

  it('costs exactly the same packed or single for one-event requests', () => {
    for (const eventBytes of [1, 200, 1_000, 5_036, 12_000, 30_000, 200_000]) {
      for (const stream of ['on-demand', 'provisioned'] as const) {
        for (const rejectRate of [0, 0.2]) {
          const load = { eventsPerSecond: 800, eventBytes, batch: 1, stream, rejectRate };
          const packed = estimateMonthlyCost({ ...load, packing: 'packed' });
          const single = estimateMonthlyCost({ ...load, packing: 'single' });
          expect(packed.monthlyUsd, `${eventBytes} B ${stream}`).toBe(single.monthlyUsd);
          expect(packed.lines.map((l) => l.usd)).toEqual(single.lines.map((l) => l.usd));
        }
      }
    }
  });

  it('never costs more packed than single on realistic sizes, and saves most on small events in large batches', () => {
    const saving = (eventBytes: number, batch: number, stream: 'on-demand' | 'provisioned') => {
      const load = { eventsPerSecond: 500, eventBytes, batch, stream };
      return (
        estimateMonthlyCost({ ...load, packing: 'single' }).monthlyUsd - estimateMonthlyCost({ ...load, packing: 'packed' }).monthlyUsd
      );
    };
    for (const stream of ['on-demand', 'provisioned'] as const) {
      for (const eventBytes of [50, 200, 500, 1_000, 2_000, 4_000, 8_000, 12_000, 20_000]) {
        for (const batch of [1, 2, 10, 100, 200]) {
          // Only what the stage's body limit lets through.
          if (requestBodyBytes(batch, eventBytes) > DEFAULT_LIMITS.maxBodyBytes) continue;
          expect(saving(eventBytes, batch, stream), `${eventBytes} B × ${batch}`).toBeGreaterThanOrEqual(0);
        }
      }
      expect(saving(200, 100, stream)).toBeGreaterThan(saving(1_000, 100, stream));
      expect(saving(1_000, 100, stream)).toBeGreaterThan(saving(1_000, 10, stream));
      expect(saving(20_000, 50, stream)).toBe(0);
    }
  });

  it('counts rejected events out of the records, exactly (binomial)', () => {
    // Three events, each rejected with probability ½: 0, 1, 2, 3 accepted with probability 1/8, 3/8, 3/8, 1/8; any accepted share one record.
    const t = expectedRequestRecords({ batch: 3, rejectRate: 0.5, envelopeBytes: 1_084, packing: 'packed', maxRecordBytes: 25_600 });
    expect(t.records).toBeCloseTo(7 / 8, 12);
    // Data: a envelopes and a − 1 newlines.
    expect(t.firehoseBytes).toBeCloseTo((3 / 8) * 1_084 + (3 / 8) * 2_169 + (1 / 8) * 3_254, 9);
    // A one-envelope record carries the event's id as key (36 B), a packed one 40 B.
    expect(t.kinesisBytes).toBeCloseTo((3 / 8) * 1_120 + (3 / 8) * 2_209 + (1 / 8) * 3_294, 9);
    // The landed bytes are the accepted events' lines either way.
    expect(t.landingBytes).toBeCloseTo(1.5 * 1_085, 9);
    expect(
      expectedRequestRecords({ batch: 3, rejectRate: 1, envelopeBytes: 1_084, packing: 'packed', maxRecordBytes: 25_600 }).records,
    ).toBe(0);
  });

  it('refuses a ceiling for single records, or an unknown mode', () => {
    expect(() =>
      estimateMonthlyCost({ eventsPerSecond: 1, eventBytes: 500, batch: 10, packing: 'single', maxPackedRecordBytes: 5_120 }),
    ).toThrow(/packed records only/);
    expect(() => estimateMonthlyCost({ eventsPerSecond: 1, eventBytes: 500, batch: 10, packing: 'bundled' as 'packed' })).toThrow(
      ConfigError,
    );
    expect(() => estimateMonthlyCost({ eventsPerSecond: 1, eventBytes: 500, batch: 10, maxPackedRecordBytes: 1_024_000 })).toThrow(
      ConfigError,
    );
  });
});

describe('monotonicity: more never costs less', () => {
  const base: CostInputRaw = { eventsPerSecond: 50, eventBytes: 700, batch: 20 };
  const variants: Array<[string, (x: number) => CostInputRaw, number[]]> = [
    ['events per second', (x) => ({ ...base, eventsPerSecond: x }), [0.001, 0.1, 1, 10, 50, 333, 1_000, 5_000, 20_000]],
    // Up to the body limit (about 1 MB): 20 events of 50,000 B.
    ['event bytes', (x) => ({ ...base, eventBytes: x }), [10, 100, 500, 1_000, 5_000, 5_037, 20_000, 50_000]],
  ];
  for (const [name, make, xs] of variants) {
    for (const stream of ['on-demand', 'provisioned'] as const) {
      it(`in ${name}, ${stream}`, () => {
        const totals = xs.map((x) => estimateMonthlyCost({ ...make(x), stream }).monthlyUsd);
        for (let k = 1; k < totals.length; k++)
          expect(totals[k]!, `${name} ${xs[k]} vs ${xs[k - 1]}`).toBeGreaterThanOrEqual(totals[k - 1]!);
      });
    }
  }

  for (const stream of ['on-demand', 'provisioned'] as const) {
    it(`packed, in event bytes on a fine grid, ${stream}`, () => {
      const xs = Array.from({ length: 400 }, (_, k) => 20 + k * 37);
      // Batches of 50, so that the largest (50 × 14,783 B) stays within the body limit.
      const totals = xs.map((eventBytes) => estimateMonthlyCost({ eventsPerSecond: 300, eventBytes, batch: 50, stream }).monthlyUsd);
      for (let k = 1; k < totals.length; k++) expect(totals[k]!, `${xs[k]} B vs ${xs[k - 1]} B`).toBeGreaterThanOrEqual(totals[k - 1]!);
    });
  }

  it('larger batches never cost more for the same events', () => {
    const total = (batch: number, packing: 'packed' | 'single') =>
      estimateMonthlyCost({ eventsPerSecond: 500, eventBytes: 1_000, batch, packing }).monthlyUsd;
    const check = (batches: number[], packing: 'packed' | 'single') => {
      for (let k = 1; k < batches.length; k++)
        expect(total(batches[k]!, packing), `${packing}: ${batches[k]}`).toBeLessThanOrEqual(total(batches[k - 1]!, packing));
    };
    check([1, 2, 5, 10, 22, 23, 24, 46, 47, 50, 100, 250, 500], 'single');
    // Packed, 23 events of 1,000 B fill a record: whole records never cost more as the batch grows...
    check([1, 2, 5, 10, 22, 23, 46, 69, 92, 230, 460], 'packed');
  });

  it('packed, one event past a full record costs a little more: it starts a record billed as 5 KB', () => {
    expect(total(24)).toBeGreaterThan(total(23));
    expect(total(47)).toBeGreaterThan(total(46));
    // ...and by a few dollars a month, not more than the 24th event's own 5 KB record.
    expect(total(24) - total(23)).toBeLessThan(
      (500 / 24) * 2_592_000 * (5_120 / 2 ** 30) * 0.029 + (500 / 24) * 2_592_000 * (1_024 / 2 ** 30) * 0.08,
    );
    function total(batch: number) {
      return estimateMonthlyCost({ eventsPerSecond: 500, eventBytes: 1_000, batch }).monthlyUsd;
    }
  });
});

describe('input', () => {
  it('refuses what the stage or the model cannot take, listing every problem', () => {
    expect(() => estimateMonthlyCost({ eventsPerSecond: 1, eventBytes: 500, batch: 1, region: 'eu-west-1' as 'us-east-1' })).toThrow(
      /only us-east-1/,
    );
    expect(() => estimateMonthlyCost({ eventsPerSecond: 1, eventBytes: 500, batch: 501 })).toThrow(ConfigError);
    expect(() => estimateMonthlyCost({ eventsPerSecond: 1, eventBytes: 20_000, batch: 500 })).toThrow(/body limit/);
    expect(() => estimateMonthlyCost({ eventsPerSecond: 1, eventBytes: 500, batch: 1, shards: 2 })).toThrow(/provisioned stream only/);
    expect(() => estimateMonthlyCost({ eventsPerSecond: 0, eventBytes: 0, batch: 1 })).toThrow(/eventsPerSecond[\s\S]*eventBytes/);
  });

  it('warns where a default limit of the stage or the account is in the way', () => {
    const e = estimateMonthlyCost({ eventsPerSecond: 5_000, eventBytes: 500, batch: 1 });
    expect(e.warnings.join('\n')).toMatch(/API throttle/);
    expect(e.warnings.join('\n')).toMatch(/on-demand stream's initial write capacity/);
    expect(
      estimateMonthlyCost({
        eventsPerSecond: 2_500,
        eventBytes: 500,
        batch: 50,
        stream: 'provisioned',
        packing: 'single',
        shards: 2,
      }).warnings.join('\n'),
    ).toMatch(/needs 3/);
    expect(estimateMonthlyCost({ eventsPerSecond: 100, eventBytes: 500, batch: 10 }).warnings).toEqual([]);
  });
});

describe('landing files gzip (the default)', () => {
  const load = { eventsPerSecond: 1_000, eventBytes: 1_000, batch: 100, stream: 'provisioned' } as const;

  it('stores LANDING_GZIP_STORED_SHARE of the landing bytes; Snowpipe, Firehose and the requests do not change', () => {
    const gzip = estimateMonthlyCost(load);
    const plain = estimateMonthlyCost({ ...load, landingCompression: 'UNCOMPRESSED' });
    expect(gzip.input.landingCompression).toBe('GZIP');
    expect(LANDING_GZIP_STORED_SHARE).toBe(0.177);
    const storage = (e: typeof gzip) => e.lines.find((l) => l.item.startsWith('landing storage'))!;
    expect(storage(gzip).item).toBe('landing storage, 30 days held, gzip (17.7 % of the bytes)');
    expect(storage(plain).item).toBe('landing storage, 30 days held, uncompressed');
    expect(storage(gzip).usd).toBeCloseTo(storage(plain).usd * 0.177, 9);
    for (const service of ['Snowpipe', 'Firehose', 'API Gateway', 'Lambda', 'Kinesis'] as const)
      expect(gzip.byService[service], service).toBeCloseTo(plain.byService[service], 9);
  });

  it('brings 1,000 events/s of 1,000 B in batches of 100 to at most $0.085 a million provisioned at 24 h retention, and on-demand down by the same', () => {
    const day = { ...load, retentionHours: 24 } as const;
    const saved = (e: { stream?: 'provisioned' | 'on-demand' }) =>
      estimateMonthlyCost({ ...day, ...e, landingCompression: 'UNCOMPRESSED' }).monthlyUsd -
      estimateMonthlyCost({ ...day, ...e }).monthlyUsd;
    expect(estimateMonthlyCost(day).usdPerMillionEvents).toBeLessThanOrEqual(0.085);
    expect(saved({ stream: 'on-demand' })).toBeCloseTo(saved({}), 6);
    expect(saved({})).toBeGreaterThan(49);
  });
});

describe('delivery streaming (pnpm cost --delivery streaming)', () => {
  // 1,000 events/s of 500 B in batches of 100, packed: 3 records per request, 30 records/s; on-demand, priced on the
  // 4 shards a new on-demand stream starts with: 7.5 records per shard per second.
  const load = { eventsPerSecond: 1_000, eventBytes: 500, batch: 100 } as const;
  const files = estimateMonthlyCost(load);
  const streaming = estimateMonthlyCost({ ...load, delivery: 'streaming' });

  it('adds the consumer, a second read of the stream and Snowpipe Streaming per GB of rows, instead of the file loads', () => {
    expect(files.input.delivery).toBe('files');
    expect(streaming.derived.consumerShards).toBe(4);
    // One invocation per shard per second: 7.5 records a second never fill a batch of 100 before the 1 s window ends.
    expect(streaming.derived.consumerInvocationsPerMonth).toBe(4 * 2_592_000);
    expect(usdOf(streaming, 'stream consumer invocations')).toBeCloseTo((10_368_000 / 1e6) * 0.2, 6);
    // 2,000 ms × 512 MB per invocation.
    expect(usdOf(streaming, 'stream consumer duration')).toBeCloseTo(10_368_000 * 2 * 0.5 * 0.0000133334, 6);
    // On demand, retrieval is billed per consumer: the consumer reads what Firehose reads.
    expect(usdOf(streaming, 'data retrieved by the stream consumer')).toBe(usdOf(streaming, 'data retrieved by Firehose'));
    // Rows: the envelope (584 B) and source_file, file_row_number, loaded_at; 0.0037 credits per GB at $3.
    expect(streaming.derived.streamedRowBytes).toBe(584 + STREAMED_ROW_EXTRA_BYTES);
    const rowsGiB = (2_592_000_000 * streaming.derived.streamedRowBytes) / 2 ** 30;
    expect(usdOf(streaming, 'Streaming:')).toBeCloseTo(rowsGiB * 0.0037 * 3, 6);
    // Nothing loads the landing files any more, but Firehose still writes them (the archive).
    expect(streaming.lines.some((l) => l.item.startsWith('landing GETs'))).toBe(false);
    expect(streaming.lines.some((l) => l.service === 'Snowpipe' && l.item.includes('GB loaded'))).toBe(false);
    expect(usdOf(streaming, 'landing PUTs')).toBe(usdOf(files, 'landing PUTs'));
    expect(streaming.byService.Firehose).toBe(files.byService.Firehose);
    expect(streaming.byService['API Gateway']).toBe(files.byService['API Gateway']);
    // The consumer's two alarms.
    expect(streaming.lines.find((l) => l.item.endsWith('alarm metrics)'))!.quantity).toBe(
      files.lines.find((l) => l.item.endsWith('alarm metrics)'))!.quantity + 2,
    );
    expect(stageAlarms('streaming')).toEqual({
      ...STAGE_ALARMS,
      alarms: STAGE_ALARMS.alarms + 2,
      alarmMetrics: STAGE_ALARMS.alarmMetrics + 2,
    });
    expect(streaming.monthlyUsd).toBeGreaterThan(files.monthlyUsd);
  });

  it('invokes per shard per full batch or per window (at least the one-second poll), and only when records come', () => {
    const invocations = (raw: Partial<CostInputRaw>) =>
      estimateMonthlyCost({ ...load, delivery: 'streaming', ...raw } as CostInputRaw).derived.consumerInvocationsPerMonth;
    // A window of 0 still waits for the next poll: the same as 1 s.
    expect(invocations({ consumerBatchWindowSeconds: 0 })).toBe(invocations({ consumerBatchWindowSeconds: 1 }));
    expect(invocations({ consumerBatchWindowSeconds: 5 })).toBe(invocations({}) / 5);
    // 1,000 single records a second on 4 shards: 250 per shard, batches of 100 fill first.
    expect(invocations({ packing: 'single', batch: 1 })).toBeCloseTo((1_000 / 100) * 2_592_000, 3);
    // Sparse traffic: no more invocations than records.
    expect(invocations({ eventsPerSecond: 1, batch: 1 })).toBeCloseTo(1 * 2_592_000, 3);
    // Provisioned: the stage's shards.
    expect(estimateMonthlyCost({ ...load, delivery: 'streaming', stream: 'provisioned', shards: 2 }).derived.consumerShards).toBe(2);
    // Provisioned shards include shared reads: no retrieval line for either reader.
    expect(
      estimateMonthlyCost({ ...load, delivery: 'streaming', stream: 'provisioned' }).lines.some((l) => l.item.startsWith('data retrieved')),
    ).toBe(false);
  });

  it("prices the consumer's duration as given, and refuses an unknown delivery", () => {
    const slow = estimateMonthlyCost({ ...load, delivery: 'streaming', consumerMs: 4_000, consumerMemoryMb: 1_024 });
    expect(usdOf(slow, 'stream consumer duration')).toBeCloseTo(usdOf(streaming, 'stream consumer duration') * 4, 6);
    expect(() => estimateMonthlyCost({ ...load, delivery: 'kafka' as 'files' })).toThrow(/delivery/);
  });
});
