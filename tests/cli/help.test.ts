import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const scripts = Object.keys((JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts);

/** Scripts the README names that are not our commands: their --help is another tool's. */
const EXCLUDED: Record<string, string> = {
  typecheck: 'tsc',
  test: 'tsc, then vitest',
  'test:unit': 'vitest',
  'test:integration': 'vitest',
  'test:stacks': 'vitest',
  'test:twin': 'vitest',
  'test:snowflake': 'vitest',
  'test:postman': 'vitest: the Postman suite against twins',
  deploy: 'sst',
  remove: 'sst',
  postman: 'newman',
};

/** Every `pnpm <script>` the README names that is a script of ours (`pnpm install`, `pnpm sst …`, `pnpm exec …` are pnpm's or a tool's). */
const named = [...new Set([...readFileSync(`${root}README.md`, 'utf8').matchAll(/\bpnpm ([a-z][\w:-]*)/g)].map((m) => m[1]!))]
  .filter((name) => scripts.includes(name) && !(name in EXCLUDED))
  .sort();

function pnpm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)('pnpm', ['-s', ...args], { cwd: root, env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('every command the README names behaves like a command', () => {
  it('finds the README commands', () => {
    expect(named).toEqual(expect.arrayContaining(['start', 'query', 'cost', 'synth', 'snowflake:apply', 'snowflake:remove', 'bench', 'bench:handler', 'dashboard:screenshot']));
  });

  it.each(named)('pnpm %s: --help prints its usage and exits 0; an unknown option is one line and a non-zero exit', { timeout: 120_000 }, async (name) => {
    const help = await pnpm([name, '--help']);
    expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: /m);

    const unknown = await pnpm([name, '--no-such-option']);
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringContaining('--no-such-option')]);
  });
});
