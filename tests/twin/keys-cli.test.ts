import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { removeDir } from './support';

const root = new URL('../../', import.meta.url).pathname;
// Each case spawns the CLI (tsx compiles it): seconds apiece on a busy machine.
const TIMEOUT = 120_000;
const dir = mkdtempSync(join(tmpdir(), 'snowgate-keys-'));
afterAll(() => removeDir(dir));

/** `pnpm keys …` as a process: its exit code, stdout and stderr. */
const keys = (args: string[], env: Record<string, string> = {}) =>
  promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'cli/keys.ts'), ...args], {
    cwd: root,
    env: { ...process.env, NODE_NO_WARNINGS: '1', ...env },
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

describe('pnpm keys --help', () => {
  it(
    'prints the usage, every command and option and an example, and exits 0',
    async () => {
      for (const r of await Promise.all(['--help', '-h'].map((flag) => keys([flag])))) {
        expect(r.code).toBe(0);
        for (const word of [
          'create',
          'list',
          'revoke',
          'enable',
          '--producer',
          '--key-id',
          '--key ',
          '--stage',
          '--data-dir',
          '--config',
          '--region',
          '--json',
          '--help',
          'Examples:',
        ])
          expect(r.stdout).toContain(word);
      }
    },
    TIMEOUT,
  );

  it(
    'answers each command --help with that command usage',
    async () => {
      const commands = ['create', 'list', 'revoke', 'enable'];
      for (const [i, r] of (await Promise.all(commands.map((command) => keys([command, '--help'])))).entries()) {
        const command = commands[i]!;
        expect(r.code).toBe(0);
        expect(r.stdout).toMatch(new RegExp(`^Usage: pnpm keys ${command}`));
        expect(r.stdout).toContain('Example:');
      }
    },
    TIMEOUT,
  );

  it(
    'refuses an unknown option or command with one line, exit 2',
    async () => {
      for (const r of await Promise.all([['--bogus'], ['list', '--bogus'], ['frob']].map((args) => keys(args)))) {
        expect(r.code).toBe(2);
        expect(r.stderr.trim().split('\n')).toHaveLength(1);
        expect(r.stderr).toMatch(/^keys: unknown (option --bogus|command frob)/);
      }
    },
    TIMEOUT,
  );
});

describe('pnpm keys on the local twin tells how the twin checks keys', () => {
  it(
    'with the default stage config (iam): the twin checks no keys, and --config with apiKey makes it',
    async () => {
      const r = await keys(['list', '--data-dir', dir]);
      expect(r.code).toBe(0);
      expect(r.stderr).toContain(
        `the twin's stage config (config/local.json) has auth mode "iam", so the twin checks no keys: it takes unsigned requests`,
      );
      expect(r.stderr).toContain('pnpm start --config <file>');
      expect(r.stdout.trim()).toBe('No keys yet: pnpm keys create --producer <name> makes one.');
    },
    TIMEOUT,
  );

  it(
    'reads the stage config the twin runs with (--config, or SNOWGATE_TWIN_CONFIG): no note in apiKey mode',
    async () => {
      const config = join(dir, 'api-keys.json');
      writeFileSync(config, JSON.stringify({ auth: { mode: 'apiKey' } }));
      const runs = [
        keys(['list', '--data-dir', dir, '--config', config]),
        keys(['list', '--data-dir', dir], { SNOWGATE_TWIN_CONFIG: config }),
      ];
      for (const r of await Promise.all(runs)) {
        expect(r.code).toBe(0);
        expect(r.stderr).not.toContain('Note');
      }
    },
    TIMEOUT,
  );

  it(
    'create --allowed-origin (repeatable) binds a browser key to its origins; a path is refused with one line, exit 2',
    async () => {
      const data = join(dir, 'origins');
      const created = await keys([
        'create',
        '--data-dir',
        data,
        '--producer',
        'web',
        '--allowed-origin',
        'https://shop.example',
        '--allowed-origin',
        'http://localhost:3000',
        '--json',
      ]);
      expect(created.code).toBe(0);
      const { key_id } = JSON.parse(created.stdout) as { key_id: string };
      const record = JSON.parse(readFileSync(join(data, 'api-keys', `${key_id}.json`), 'utf8')) as { allowed_origins: string[] };
      expect(record.allowed_origins).toEqual(['https://shop.example', 'http://localhost:3000']);
      const bad = await keys(['create', '--data-dir', data, '--producer', 'web', '--allowed-origin', 'https://shop.example/checkout']);
      expect(bad.code).toBe(2);
      expect(bad.stderr.trim().split('\n')).toHaveLength(1);
      expect(bad.stderr).toContain('--allowed-origin');
    },
    TIMEOUT,
  );
});
