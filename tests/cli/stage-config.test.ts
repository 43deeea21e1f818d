import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
// Each case spawns a process that tsx compiles: seconds apiece on a busy machine.
const TIMEOUT = 120_000;
// tsx by path, so that a process can run in a directory of its own (its config/ there).
const TSX = pathToFileURL(join(root, 'node_modules/tsx/dist/loader.mjs')).href;

const dir = mkdtempSync(join(tmpdir(), 'snowgate-stage-config-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A stage config with a typo in a section and an unknown section. */
const TYPOS = { firehose: { bufferIntervalSecond: 1 }, replication: { mode: 'duckdb' } };
const PROBLEMS = [
  '  - firehose.bufferIntervalSecond: unknown key; did you mean "bufferIntervalSeconds"?',
  expect.stringMatching(/^ {2}- replication: unknown key; known here: production, auth, /),
];

/** Runs `args` with node and tsx in `cwd`: its exit code and output. Stopped (SIGTERM: a twin drains) before the test times out, should it not exit. */
const run = (args: string[], cwd = root) =>
  promisify(execFile)(process.execPath, ['--import', TSX, ...args], {
    cwd,
    env: { ...process.env, NODE_NO_WARNINGS: '1' },
    timeout: TIMEOUT / 2,
  }).then(
    (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code: number; stdout: string; stderr: string }) => ({ code: e.code, stdout: e.stdout, stderr: e.stderr }),
  );

/** A directory holding `config/dev.json` with the typos, as a project's root would. */
function projectWithTypos(name: string): string {
  const project = join(dir, name);
  mkdirSync(join(project, 'config'), { recursive: true });
  writeFileSync(join(project, 'config/dev.json'), JSON.stringify(TYPOS));
  return project;
}

describe('an unknown key in a stage config stops every command that reads one', () => {
  it(
    'pnpm start --config: exits 2 before starting, a line per problem',
    async () => {
      const config = join(dir, 'typos.json');
      writeFileSync(config, JSON.stringify(TYPOS));
      const r = await run([join(root, 'cli/start.ts'), '--port', '0', '--data-dir', join(dir, 'twin'), '--config', config]);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([`pnpm start: invalid config for stage "local" (${config}):`, ...PROBLEMS]);
    },
    TIMEOUT,
  );

  it(
    'pnpm synth: exits 2 before synthesizing, a line per problem',
    async () => {
      const project = projectWithTypos('synth');
      const r = await run([join(root, 'cli/synth.ts'), '--stage', 'dev', '--out', join(project, 'out')], project);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([
        `pnpm synth: invalid config for stage "dev" (${join(project, 'config/dev.json')}):`,
        ...PROBLEMS,
      ]);
    },
    TIMEOUT,
  );

  it(
    "sst deploy: the stacks' stageConfig (what sst.config.ts's stacks call) throws the same problems",
    async () => {
      const project = projectWithTypos('deploy');
      const script = `
        import { stageConfig } from ${JSON.stringify(join(root, 'stacks/config.ts'))};
        try { stageConfig({ stage: 'dev' }); } catch (error) { console.error(error.name + ': ' + error.message); process.exit(3); }`;
      const r = await run(['--input-type=module', '--eval', script], project);
      expect(r.code).toBe(3);
      expect(r.stderr.trim().split('\n')).toEqual([
        `ConfigError: invalid config for stage "dev" (${join(project, 'config/dev.json')}):`,
        ...PROBLEMS,
      ]);
    },
    TIMEOUT,
  );
});

describe('a config only a deploy cannot use', () => {
  it(
    'pnpm synth: a streaming stage without snowflake.account exits 2 before synthesizing, saying what is missing',
    async () => {
      const project = join(dir, 'streaming');
      mkdirSync(join(project, 'config'), { recursive: true });
      writeFileSync(join(project, 'config/dev.json'), JSON.stringify({ delivery: { mode: 'streaming' } }));
      const r = await run([join(root, 'cli/synth.ts'), '--stage', 'dev', '--out', join(project, 'out')], project);
      expect(r.code).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toEqual([
        expect.stringMatching(/^pnpm synth: delivery mode "streaming" needs snowflake\.account \(identifier and secretName\): /),
      ]);
    },
    TIMEOUT,
  );
});
