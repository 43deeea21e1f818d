import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { endpointsFile } from '@snowgate/config';
import { describe, expect, it } from 'vitest';
import { removeDir, tempDataDir, TWIN_ENTRY } from './support';

const root = new URL('../../', import.meta.url).pathname;

describe('pnpm start', () => {
  it("prints the AWS SDK's NodeVersionSupportWarning at most once (not once per thread)", { timeout: 60_000 }, async () => {
    const dataDir = tempDataDir();
    const env: NodeJS.ProcessEnv = { ...process.env, SNOWGATE_TWIN_QUIET: '1' };
    delete env.NODE_NO_WARNINGS;
    delete env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED;
    const child = spawn(process.execPath, ['--import', 'tsx', TWIN_ENTRY, '--port', '0', '--data-dir', dataDir], {
      cwd: root,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const exited = new Promise((resolve) => child.once('exit', resolve));
    try {
      for (let i = 0; i < 300 && !existsSync(endpointsFile(dataDir)) && child.exitCode === null; i++)
        await new Promise((r) => setTimeout(r, 100));
      // Both threads that use the SDK have made their clients and called the emulators by now.
      await new Promise((r) => setTimeout(r, 1_500));
    } finally {
      child.kill('SIGINT');
      await exited;
      removeDir(dataDir);
    }
    expect(output).toContain('Snowgate local twin is ready');
    expect(output.split('NodeVersionSupportWarning').length - 1).toBeLessThanOrEqual(1);
  });
});
