/**
 * `pnpm start` as a child process, for the tests and benchmarks that need a twin they
 * can signal or kill: started on a free port, resolved once its endpoints.json is written.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Endpoints } from '@snowgate/twin';

const root = new URL('../', import.meta.url).pathname;

/** The twin's entry, as `pnpm start` runs it: `node --import tsx <TWIN_ENTRY>`. */
export const TWIN_ENTRY = join(root, 'cli/start.ts');

export interface TwinProcess {
  child: ChildProcess;
  endpoints: Endpoints;
  output: () => string;
}

/**
 * The twin as a real process (so it can be killed), on a free port and the given data dir:
 * its entry run by node itself, or (`via: 'pnpm'`) `pnpm start` exactly as a person types it,
 * as the leader of its own process group, as a terminal runs it.
 */
export async function spawnTwin(
  dataDir: string,
  args: string[] = [],
  { via = 'node', env = {} }: { via?: 'node' | 'pnpm'; env?: Record<string, string> } = {},
): Promise<TwinProcess> {
  // A killed twin leaves its endpoints behind: wait for the new ones.
  rmSync(join(dataDir, 'endpoints.json'), { force: true });
  const twinArgs = ['--port', '0', '--data-dir', dataDir, ...args];
  const [command, commandArgs] =
    via === 'pnpm' ? ['pnpm', ['start', ...twinArgs]] : [process.execPath, ['--import', 'tsx', TWIN_ENTRY, ...twinArgs]];
  const child = spawn(command, commandArgs, {
    cwd: root,
    env: { ...process.env, SNOWGATE_TWIN_QUIET: '1', NODE_NO_WARNINGS: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: via === 'pnpm',
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const file = join(dataDir, 'endpoints.json');
  for (let i = 0; i < 300; i++) {
    if (existsSync(file)) {
      try {
        return { child, endpoints: JSON.parse(readFileSync(file, 'utf8')), output: () => output };
      } catch {
        // Not whole yet (the twin renames it into place; an older twin wrote it in place): look again.
      }
    }
    if (child.exitCode !== null) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  // Never leave a twin behind, whatever went wrong.
  if (via === 'pnpm') process.kill(-child.pid!, 'SIGKILL');
  else child.kill('SIGKILL');
  throw new Error(`twin did not start:\n${output}`);
}

/** Ends whatever is left of a twin started `via: 'pnpm'` (its process group), or of its process. */
export function killGroup(twin: TwinProcess): void {
  try {
    process.kill(-twin.child.pid!, 'SIGKILL');
  } catch {
    // No such group (not detached, or already gone).
    if (twin.child.exitCode === null) twin.child.kill('SIGKILL');
  }
}

/** Signals the twin (with `group`, its whole process group, as a terminal's Ctrl-C does) and resolves with its exit code. */
export async function stopTwin(twin: TwinProcess, signal: NodeJS.Signals = 'SIGINT', { group = false } = {}): Promise<number | null> {
  if (twin.child.exitCode !== null) return twin.child.exitCode;
  const exited = new Promise<number | null>((resolve) => twin.child.once('exit', (code) => resolve(code)));
  if (group) process.kill(-twin.child.pid!, signal);
  else twin.child.kill(signal);
  return exited;
}
