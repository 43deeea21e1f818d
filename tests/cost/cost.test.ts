import { describe, expect, it } from 'vitest';
import { ConfigError } from '@snowgate/core';
import {
  ENVELOPE_OVERHEAD_BYTES,
  apiRequestUnits,
  estimateMonthlyCost,
  firehoseFlushSeconds,
  landingFilesPerDay,
  lambdaBilledMs,
  provisionedShardsNeeded,
  requestBodyBytes,
  roundUpTo,
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
  const base = { eventsPerSecond: 1_000, eventBytes: 500 } as const;

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
    expect(e.monthlyUsd).toBeCloseTo(5_756.77, 1);
  });

  it('the same load in batches of 100: request-driven lines fall a hundredfold, the rest does not move', () => {
    const single = estimateMonthlyCost({ ...base, batch: 1 });
    const batched = estimateMonthlyCost({ ...base, batch: 100 });
    expect(batched.derived.requestsPerMonth).toBe(25_920_000);
    expect(batched.derived.requestBodyBytes).toBe(50_101);
    expect(batched.byService['API Gateway']).toBeCloseTo(25.92, 6);
    // ceil(20 + (0.28 + 0.75) × 1769/1024) = 22 ms.
    expect(batched.derived.lambdaBilledMs).toBe(22);
    expect(batched.byService.Lambda).toBeCloseTo(5.184 + 25_920_000 * 0.022 * 0.0000133334, 4);
    for (const service of ['Kinesis', 'Firehose', 'S3', 'Snowpipe'] as const) {
      expect(batched.byService[service]).toBeCloseTo(single.byService[service], 9);
    }
    expect(batched.monthlyUsd).toBeCloseTo(754.61, 1);
  });

  it('provisioned: shards for the load, shard-hours and 25 KB PUT payload units', () => {
    // 2,500 records/s of 620 B: 1.55 MB/s needs 2 shards by bytes, 3 by records.
    const e = estimateMonthlyCost({ eventsPerSecond: 2_500, eventBytes: 500, batch: 50, stream: 'provisioned' });
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
    expect(idle.monthlyUsd).toBeCloseTo(28.8 + 0.6, 1);
    const provisioned = estimateMonthlyCost({ eventsPerSecond: 1e-6, eventBytes: 500, batch: 1, stream: 'provisioned' });
    expect(provisioned.monthlyUsd).toBeCloseTo(10.8 + 0.6, 1);
  });

  it('quarantine: one PUT per request with at least one rejected event', () => {
    // 100 events/s in batches of 10, 1 % rejected: 1 − 0.99^10 = 9.56 % of 25.92M requests.
    const e = estimateMonthlyCost({ eventsPerSecond: 100, eventBytes: 500, batch: 10, rejectRate: 0.01 });
    expect(e.derived.quarantinedRequestsPerMonth).toBeCloseTo(25_920_000 * (1 - 0.99 ** 10), 3);
    expect(usdOf(e, 'quarantine PUTs')).toBeCloseTo((25_920_000 * (1 - 0.99 ** 10) * 0.005) / 1_000, 6);
    // Rejected events never reach the stream.
    const clean = estimateMonthlyCost({ eventsPerSecond: 100, eventBytes: 500, batch: 10 });
    expect(e.byService.Firehose).toBeCloseTo(clean.byService.Firehose * 0.99, 9);
    expect(clean.lines.some((l) => l.item.startsWith('quarantine'))).toBe(false);
  });
});

describe('billing units', () => {
  it('Firehose rounds every record up to 5 KB, so record size below 5 KB does not matter and batching does not help', () => {
    expect(roundUpTo(1, 5_120)).toBe(5_120);
    expect(roundUpTo(5_120, 5_120)).toBe(5_120);
    expect(roundUpTo(5_121, 5_120)).toBe(10_240);
    const at = (eventBytes: number, batch = 1) => estimateMonthlyCost({ eventsPerSecond: 10, eventBytes, batch }).byService.Firehose;
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

describe('monotonicity: more never costs less', () => {
  const base: CostInputRaw = { eventsPerSecond: 50, eventBytes: 700, batch: 20 };
  const variants: Array<[string, (x: number) => CostInputRaw, number[]]> = [
    ['events per second', (x) => ({ ...base, eventsPerSecond: x }), [0.001, 0.1, 1, 10, 50, 333, 1_000, 5_000, 20_000]],
    ['event bytes', (x) => ({ ...base, eventBytes: x }), [10, 100, 500, 1_000, 5_000, 5_037, 20_000, 100_000]],
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

  it('larger batches never cost more for the same events', () => {
    const totals = [1, 2, 5, 10, 50, 100, 250, 500].map(
      (batch) => estimateMonthlyCost({ eventsPerSecond: 500, eventBytes: 400, batch }).monthlyUsd,
    );
    for (let k = 1; k < totals.length; k++) expect(totals[k]!).toBeLessThanOrEqual(totals[k - 1]!);
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
      estimateMonthlyCost({ eventsPerSecond: 2_500, eventBytes: 500, batch: 50, stream: 'provisioned', shards: 2 }).warnings.join('\n'),
    ).toMatch(/needs 3/);
    expect(estimateMonthlyCost({ eventsPerSecond: 100, eventBytes: 500, batch: 10 }).warnings).toEqual([]);
  });
});
