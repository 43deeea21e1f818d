// A 2xx means durable, and the twin delivers exactly once across restarts, whatever the
// restart follows: these tests kill the twin with SIGKILL (a power cut, an OOM kill) and count.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { post, removeDir, rows, spawnTwin, stopTwin, tempDataDir, type TwinProcess } from './support';

/** A stage config in the data dir's parent: Firehose flushing every `interval` seconds. */
function config(dataDir: string, interval: number): string {
  const file = join(`${dataDir}-config.json`);
  writeFileSync(file, JSON.stringify({ firehose: { bufferIntervalSeconds: interval } }));
  return file;
}

/** Posts batches of unique ids until told to stop (or the twin dies), recording what got a 2xx. */
function sender(api: string, name: string, acked: Set<string>, size: number) {
  let stop = false;
  const done = (async () => {
    for (let i = 0; !stop; i++) {
      const batch = Array.from({ length: size }, (_, j) => ({ id: `${name}-${i}-${j}`, pad: 'x'.repeat(100) }));
      try {
        const r = await post(api, JSON.stringify(batch));
        if (r.status === 202) for (const b of batch) acked.add(b.id);
      } catch {
        return; // the twin is gone: an unanswered request is not acknowledged
      }
    }
  })();
  return {
    done,
    stop: () => {
      stop = true;
      return done;
    },
  };
}

async function kill(twin: TwinProcess): Promise<void> {
  const exited = new Promise((resolve) => twin.child.once('exit', resolve));
  twin.child.kill('SIGKILL');
  await exited;
}

/** Every acknowledged id exactly once in raw_events, and no file that failed or loaded empty. */
async function expectExactlyOnce(dataDir: string, acked: Set<string>): Promise<void> {
  const loaded = await rows(dataDir, `SELECT record->>'id' AS id, count(*) AS n FROM raw_events GROUP BY 1`);
  const counts = new Map(loaded.map((r) => [String(r.id), Number(r.n)]));
  expect([...acked].filter((id) => !counts.has(id))).toEqual([]);
  expect([...counts].filter(([, n]) => n > 1)).toEqual([]);
  expect(
    await rows(
      dataDir,
      `SELECT file_name, status, row_count, first_error_message FROM copy_history WHERE status <> 'LOADED' OR row_count = 0`,
    ),
  ).toEqual([]);
}

describe('the local twin killed with SIGKILL', () => {
  it('loses and duplicates nothing acknowledged when killed while a landing file is half written', async () => {
    const dataDir = tempDataDir();
    const file = config(dataDir, 1);
    try {
      const acked = new Set<string>();
      // The failpoint holds the first landing object half written and says so; we kill the twin right there.
      const first = await spawnTwin(dataDir, ['--config', file], { env: { SNOWGATE_TWIN_FAILPOINT: 'landing-write' } });
      for (let i = 0; i < 20; i++) {
        const batch = Array.from({ length: 100 }, (_, j) => ({ id: `held-${i}-${j}` }));
        expect((await post(first.endpoints.api, JSON.stringify(batch))).status).toBe(202);
        for (const b of batch) acked.add(b.id);
      }
      for (let i = 0; i < 150 && !first.output().includes('failpoint landing-write reached'); i++)
        await new Promise((r) => setTimeout(r, 100));
      expect(first.output()).toContain('failpoint landing-write reached');
      await kill(first);

      const second = await spawnTwin(dataDir, ['--config', file]);
      expect(await stopTwin(second, 'SIGINT')).toBe(0);
      await expectExactlyOnce(dataDir, acked);
      expect(acked.size).toBe(2_000);
    } finally {
      removeDir(dataDir);
      removeDir(file);
    }
  }, 90_000);

  it('loses and duplicates nothing acknowledged across kills at random moments under load', async () => {
    const dataDir = tempDataDir();
    // Firehose flushing at every poll: landing files are written all the time, so kills often land in one.
    const file = config(dataDir, 0);
    const delays: number[] = [];
    try {
      const acked = new Set<string>();
      for (let round = 0; round < 3; round++) {
        const twin = await spawnTwin(dataDir, ['--config', file]);
        const senders = [0, 1, 2].map((s) => sender(twin.endpoints.api, `r${round}-s${s}`, acked, 50));
        const delay = 300 + Math.floor(Math.random() * 2_000);
        delays.push(delay);
        await new Promise((r) => setTimeout(r, delay));
        await kill(twin);
        await Promise.all(senders.map((s) => s.done));
      }
      const last = await spawnTwin(dataDir, ['--config', file]);
      expect(await stopTwin(last, 'SIGINT')).toBe(0);
      await expectExactlyOnce(dataDir, acked);
      expect(acked.size, `kills after ${delays.join(', ')} ms`).toBeGreaterThan(1_000);
    } finally {
      removeDir(dataDir);
      removeDir(file);
    }
  }, 120_000);
});
