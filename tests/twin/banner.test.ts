import { parseStageConfig } from '@snowgate/config';
import { readyBanner, type Twin } from '@snowgate/twin';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { useTwin } from './use-twin';

const root = new URL('../../', import.meta.url).pathname;
const banner = (twin: Twin) =>
  readyBanner({
    endpoints: twin.endpoints,
    contracts: twin.status().contracts,
    auth: twin.auth,
    dataDir: twin.dataDir,
    delivery: twin.status().delivery,
  });
/** The banner's "Try:" lines, run as a user pastes them into a shell. */
const runTry = async (text: string) => {
  const lines = text.slice(text.indexOf('  Try:') + '  Try:'.length, text.indexOf('  Query:')).trim();
  const { stdout } = await promisify(execFile)(
    'bash',
    [
      '-c',
      lines
        .split('\n')
        .map((l) => l.trim())
        .join('\n'),
    ],
    { cwd: root, env: { ...process.env, NODE_NO_WARNINGS: '1' } },
  );
  return JSON.parse(stdout) as { accepted?: number; message?: string };
};

describe('the ready banner of a twin whose stage config says iam (the default)', () => {
  const running = useTwin(parseStageConfig({ snowflake: { externalId: 'local' } }));

  it('says the twin does not check iam, and its Try line works unsigned', async () => {
    const text = banner(running.twin);
    expect(text).toMatch(/Auth +iam in the stage config, which the twin does not check: POST \/events takes unsigned requests/);
    expect(text).not.toContain('x-api-key');
    expect(text).toMatch(/Delivery +files: Firehose writes landing files, Snowpipe loads them/);
    expect(await runTry(text)).toMatchObject({ accepted: 1 });
  }, 60_000);

  it('names the Segment route, at a URL that takes a Segment batch', async () => {
    const url = /POST (\S+\/v1\/batch) /.exec(banner(running.twin))?.[1];
    expect(url).toBe(`${running.twin.endpoints.api}/v1/batch`);
    const answer = await fetch(url!, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Basic ${Buffer.from('write-key:').toString('base64')}` },
      body: JSON.stringify({ batch: [{ type: 'track', event: 'Banner Tried', userId: 'u1', messageId: 'banner-seg-1' }] }),
    });
    expect(answer.status).toBe(200);
    expect(await answer.json()).toMatchObject({ success: true, accepted: 1 });
  }, 60_000);
});

describe('the ready banner of a twin in auth mode apiKey', () => {
  const running = useTwin(parseStageConfig({ snowflake: { externalId: 'local' }, auth: { mode: 'apiKey', header: 'x-producer-key' } }));

  it('names the mode and the header, and its Try lines create a key and send with it', async () => {
    const text = banner(running.twin);
    expect(text).toMatch(/Auth +apiKey: POST \/events needs a key from pnpm keys in the x-producer-key header/);
    expect(text).toContain(`pnpm -s keys create --producer me --data-dir ${running.dataDir}`);
    expect(await runTry(text)).toMatchObject({ accepted: 1 });
    // Without the key, the same request is refused: the Try line is what makes it work.
    const bare = await fetch(`${running.twin.endpoints.api}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"id":"x"}',
    });
    expect(bare.status).toBe(401);
  }, 120_000);
});
