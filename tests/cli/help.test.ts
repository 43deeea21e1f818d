import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const root = new URL('../../', import.meta.url).pathname;
const scripts = (JSON.parse(readFileSync(`${root}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;

/** Scripts the docs name that are not our commands: their --help is another tool's. */
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
  lint: 'biome',
  format: 'biome',
  'lint:arch': 'dependency-cruiser',
};

/** pnpm's own commands that the docs use (`pnpm install`, `pnpm exec …`); anything else must be a script or a tool in node_modules/.bin. */
const PNPM_COMMANDS = new Set(['add', 'dlx', 'exec', 'install', 'pack', 'patch', 'publish', 'run']);

/** The README and every page it links to: docs/, docs/decisions/, and the READMEs beside the code. */
const DOCS = [
  'README.md',
  ...readdirSync(`${root}docs`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
  ...readdirSync(`${root}docs/decisions`)
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/decisions/${f}`),
  'config/README.md',
  'schemas/README.md',
  'snowflake/README.md',
  'packages/client/README.md',
  'packages/snowflake-api/README.md',
];

/** `pnpm <name>` in the code of a Markdown file (fenced blocks and inline code, where commands are written), after flags such as `-s`. */
function pnpmNames(markdown: string): string[] {
  const fenced = [...markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)].map((m) => m[1]!);
  const inline = [...markdown.replace(/^```[^\n]*\n[\s\S]*?^```/gm, '').matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!);
  return [...fenced, ...inline].flatMap((code) => [...code.matchAll(/\bpnpm((?:\s+-[a-z])*)\s+([a-z][\w:-]*)/g)].map((m) => m[2]!));
}

const mentions = DOCS.flatMap((doc) => pnpmNames(readFileSync(`${root}${doc}`, 'utf8')).map((name) => ({ doc, name })));

/** Every script the docs name that is a command of ours, once each (`pnpm bench` and `pnpm bench:twin` are one program). */
const named = [...new Set(mentions.map((m) => m.name))].filter((name) => name in scripts && !(name in EXCLUDED)).sort();
const alias = (name: string) => /^pnpm ([\w:-]+)$/.exec(scripts[name]!)?.[1] ?? name;
const toSpawn = [...new Map(named.map((name) => [alias(name), name])).values()].sort();

function pnpm(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return promisify(execFile)('pnpm', ['-s', ...args], { cwd: root, env: { ...process.env, NODE_NO_WARNINGS: '1' }, timeout: 60_000 }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

describe('every command the docs name exists and behaves like a command', () => {
  it('reads the README and the docs it links to', () => {
    expect(DOCS).toEqual(
      expect.arrayContaining(['README.md', 'docs/TWIN.md', 'docs/DEPLOYING.md', 'docs/TESTING.md', 'docs/BENCHMARKS.md']),
    );
    expect(named).toEqual(
      expect.arrayContaining([
        'start',
        'query',
        'cost',
        'synth',
        'snowflake:apply',
        'snowflake:remove',
        'bench',
        'bench:handler',
        'dashboard:screenshot',
      ]),
    );
  });

  it('every `pnpm <name>` in the docs is a package.json script, a pnpm command or an installed tool', () => {
    const unknown = mentions
      .filter(({ name }) => !(name in scripts) && !PNPM_COMMANDS.has(name) && !existsSync(`${root}node_modules/.bin/${name}`))
      .map(({ doc, name }) => `${doc}: pnpm ${name}`);
    expect([...new Set(unknown)]).toEqual([]);
  });

  it.each(toSpawn)(
    'pnpm %s: --help prints its usage and exits 0; an unknown option is one line and a non-zero exit',
    { timeout: 120_000 },
    async (name) => {
      const help = await pnpm([name, '--help']);
      expect({ code: help.code, stderr: help.stderr }).toEqual({ code: 0, stderr: '' });
      expect(help.stdout).toMatch(/^Usage: /m);

      const unknown = await pnpm([name, '--no-such-option']);
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr.trim().split('\n')).toEqual([expect.stringContaining('--no-such-option')]);
    },
  );
});
