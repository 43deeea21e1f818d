import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const run = (args: string[]) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'cli/replay.ts'), ...args], {
    cwd: root,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );
const OPTIONS = [
  '--stage',
  '--data-dir',
  '--config',
  '--outputs',
  '--schemas-dir',
  '--region',
  '--from',
  '--to',
  '--reason',
  '--fix',
  '--limit',
  '--concurrency',
  '--send',
  '--break-lock',
  '--json',
  '--help',
];

describe('pnpm replay, as a command', () => {
  it('--help and -h print the usage, every option and an example, and exit 0', async () => {
    for (const flag of ['--help', '-h']) {
      const { code, stdout, stderr } = await run([flag]);
      expect([code, stderr]).toEqual([0, '']);
      expect(stdout).toMatch(/^Usage: pnpm replay \[options\]/);
      for (const option of OPTIONS) expect(stdout).toContain(option);
      expect(stdout).toContain('pnpm replay --reason missing_id --fix fixes/add-id.ts --send');
    }
  });

  it('an unknown option, a stray argument or a missing value: exit 2 with one clear line', async () => {
    for (const [args, message] of [
      [['--nope'], 'replay: unknown option --nope (pnpm replay --help lists the options)'],
      [['missing_id'], 'replay: unexpected argument missing_id (pnpm replay --help lists the options)'],
      [['--reason'], 'replay: --reason needs a value (pnpm replay --help lists the options)'],
    ] as const) {
      const { code, stdout, stderr } = await run([...args]);
      expect([code, stdout, stderr]).toEqual([2, '', `${message}\n`]);
    }
  });
});
