import { shutdownHandler, type ShutdownSignal } from '@snowgate/twin';
import { describe, expect, it } from 'vitest';
import { killGroup, post, removeDir, rows, spawnTwin, stopTwin, tempDataDir, type TwinProcess } from './support';

describe('stopping on a signal', () => {
  function harness() {
    let clock = 0;
    const calls: string[] = [];
    let finishDrain!: () => void;
    const onSignal = shutdownHandler({
      drain: (signal) => {
        calls.push(`drain ${signal}`);
        return new Promise<void>((resolve) => (finishDrain = resolve));
      },
      exit: (code) => calls.push(`exit ${code}`),
      log: () => {},
      error: () => {},
      now: () => clock,
    });
    return { calls, onSignal, finish: () => finishDrain(), advance: (ms: number) => (clock += ms) };
  }

  it('takes the echoes of one Ctrl-C (the terminal, pnpm and tsx each deliver it) for one, and drains', async () => {
    const h = harness();
    for (const s of ['SIGINT', 'SIGINT', 'SIGTERM', 'SIGINT'] as ShutdownSignal[]) {
      h.onSignal(s);
      h.advance(40);
    }
    expect(h.calls).toEqual(['drain SIGINT']);
    h.finish();
    await new Promise((r) => setImmediate(r));
    expect(h.calls).toEqual(['drain SIGINT', 'exit 0']);
  });

  it('stops at once, without draining, on a second Ctrl-C a person presses later', () => {
    const h = harness();
    h.onSignal('SIGINT');
    h.advance(1_500);
    h.onSignal('SIGINT');
    expect(h.calls).toEqual(['drain SIGINT', 'exit 130']);
  });

  it('exits 1 when the drain fails', async () => {
    const calls: number[] = [];
    const onSignal = shutdownHandler({
      drain: () => Promise.reject(new Error('stuck')),
      exit: (code) => calls.push(code),
      log: () => {},
      error: () => {},
    });
    onSignal('SIGTERM');
    await new Promise((r) => setImmediate(r));
    expect(calls).toEqual([1]);
  });
});

/**
 * What a terminal does: `pnpm start`, a batch answered 202, then Ctrl-C, which
 * signals the whole process group. Run in a loop, because the race it guards
 * against (a wrapper's relayed signal taken for a second Ctrl-C) did not lose
 * every time.
 */
describe('Ctrl-C on `pnpm start`', () => {
  const cases: { name: string; via: 'pnpm' | 'node'; signal: NodeJS.Signals; group: boolean; times: number }[] = [
    { name: 'SIGINT to the process group of `pnpm start`', via: 'pnpm', signal: 'SIGINT', group: true, times: 5 },
    { name: 'SIGTERM to the process group of `pnpm start`', via: 'pnpm', signal: 'SIGTERM', group: true, times: 2 },
    { name: 'SIGINT to the node process alone', via: 'node', signal: 'SIGINT', group: false, times: 1 },
  ];
  for (const c of cases) {
    it(`${c.name}: exits 0 after loading every accepted record (${c.times} starts)`, async () => {
      for (let i = 0; i < c.times; i++) {
        const dataDir = tempDataDir();
        let twin: TwinProcess | undefined;
        try {
          twin = await spawnTwin(dataDir, [], { via: c.via });
          const batch = Array.from({ length: 25 }, (_, j) => ({ id: `ctrl-c-${i}-${j}` }));
          expect((await post(twin.endpoints.api, JSON.stringify(batch))).status).toBe(202);
          const code = await stopTwin(twin, c.signal, { group: c.group });
          const output = twin.output();
          expect({ run: i, code, forced: output.includes('Stopping now'), pnpmFailed: output.includes('ELIFECYCLE') }).toEqual({
            run: i,
            code: 0,
            forced: false,
            pnpmFailed: false,
          });
          expect(output).toContain('Stopped.');
          const [row] = await rows(dataDir, `SELECT count(*) AS n FROM raw_events WHERE record->>'id' LIKE 'ctrl-c-${i}-%'`);
          expect({ run: i, loaded: Number(row?.n) }).toEqual({ run: i, loaded: batch.length });
        } finally {
          // Whatever failed, nothing of this start outlives the test.
          if (twin) killGroup(twin);
          removeDir(dataDir);
        }
      }
    }, 180_000);
  }
});
