import { backfillDays, COPY_FILES_MAX, landedAt, PIPE_REFRESH_DAYS, planBackfill } from '@snowgate/core';
import { describe, expect, it } from 'vitest';

const now = new Date('2026-12-07T12:00:00Z');

describe('the backfill plan', () => {
  it('lists the UTC days of a window, both ends included, across a month', () => {
    expect(backfillDays({ from: '2026-11-29', to: '2026-12-01' })).toEqual(['2026/11/29', '2026/11/30', '2026/12/01']);
    expect(() => backfillDays({ from: '2026-2-1', to: '2026-02-02' })).toThrow(/--from must be a date \(YYYY-MM-DD\)/);
    expect(() => backfillDays({ from: '2026-02-01', to: '2026-02-30' })).toThrow(/--to must be a date/);
  });

  it("reads the arrival hour from Firehose's date path, and nothing from another key", () => {
    expect(landedAt('2026/11/20/13/snowgate-1-2026-11-20-13-05-00-x')).toEqual(new Date('2026-11-20T13:00:00Z'));
    expect(landedAt('by-hand/file.json')).toBeUndefined();
  });

  it('loads only what no load knows of, older than the REFRESH window; a file of unknown age is left to REFRESH', () => {
    const edge = new Date(now.getTime() - PIPE_REFRESH_DAYS * 86_400_000); // 2026-11-30T12:00Z: REFRESH still reaches it
    const plan = planBackfill({
      files: [
        '2026/11/30/11/just-older',
        '2026/11/30/12/at-the-edge',
        '2026/11/01/00/a',
        '2026/11/01/00/a',
        '2026/11/02/00/b',
        '2026/11/03/00/c',
        'hand/x',
        '2026/11/04/00/busy',
      ],
      loaded: new Set(['2026/11/02/00/b']),
      failed: new Set(['2026/11/03/00/c']),
      inProgress: new Set(['2026/11/04/00/busy']),
      now,
    });
    expect(landedAt('2026/11/30/12/at-the-edge')).toEqual(edge);
    expect(plan).toEqual({
      listed: 7,
      alreadyLoaded: 1,
      failedBefore: ['2026/11/03/00/c'],
      recent: ['2026/11/04/00/busy', '2026/11/30/12/at-the-edge', 'hand/x'],
      chunks: [['2026/11/01/00/a', '2026/11/30/11/just-older']],
    });
  });

  it("cuts the files into chunks of Snowflake's FILES limit, and refuses a larger chunk", () => {
    const files = Array.from({ length: 2_001 }, (_, i) => `2026/11/01/00/f${String(i).padStart(4, '0')}`);
    const plan = planBackfill({ files, loaded: new Set(), failed: new Set(), now });
    expect(plan.chunks.map((c) => c.length)).toEqual([COPY_FILES_MAX, COPY_FILES_MAX, 1]);
    expect(() => planBackfill({ files, loaded: new Set(), failed: new Set(), now, chunkSize: 1_001 })).toThrow(/1 to 1000 files/);
  });
});
