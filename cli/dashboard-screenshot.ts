/**
 * `pnpm dashboard:screenshot`: the picture of the twin's dashboard in docs/TWIN.md,
 * taken in headless Chromium after a minute of mixed traffic (batches with a
 * few bad records, some malformed bodies, one file Snowpipe must skip).
 *
 *   pnpm dashboard:screenshot            # writes docs/images/dashboard.png
 *   pnpm dashboard:screenshot --seconds 20 --out .bench/dashboard.png
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { parseStageConfig } from '@snowgate/config';
import { createClients } from '@snowgate/functions/clients';
import { startTwin } from '@snowgate/twin';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseCommandLine } from './args';
import { launchChromium } from './chromium';

const USAGE = `Usage: pnpm dashboard:screenshot [--seconds N] [--out FILE]

Starts a twin, sends it mixed traffic for N seconds (batches with a few bad records,
some malformed bodies, one file Snowpipe must skip) and takes a screenshot of its
dashboard in headless Chromium ($SNOWGATE_CHROMIUM, default /usr/bin/chromium).

Options:
  --seconds N     how long to send traffic (default 60)
  --out FILE      where to write the PNG (default docs/images/dashboard.png)
  -h, --help      print this help

Example:
  pnpm dashboard:screenshot --seconds 20 --out .bench/dashboard.png`;

const { values } = parseCommandLine('pnpm dashboard:screenshot', USAGE, {
  options: { seconds: { type: 'string', default: '60' }, out: { type: 'string', default: 'docs/images/dashboard.png' } },
});
const seconds = Number(values.seconds);
const out = resolve(values.out!);
const dataDir = mkdtempSync(join(tmpdir(), 'snowgate-screenshot-'));
const twin = await startTwin({ port: 0, dataDir, quiet: true }, parseStageConfig({ snowflake: { externalId: 'local' } }));
const browser = await launchChromium();
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
  await page.goto(twin.endpoints.api);
  const post = (body: string) =>
    fetch(`${twin.endpoints.api}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body }).then((r) =>
      r.arrayBuffer(),
    );
  const until = Date.now() + seconds * 1_000;
  let n = 0;
  // A file with a bad line, as Snowpipe meets it when someone writes to the landing prefix by hand.
  const { s3 } = createClients(
    { region: 'us-east-1', s3Endpoint: twin.endpoints.s3 },
    { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
  );
  await s3.send(
    new PutObjectCommand({
      Bucket: twin.endpoints.buckets.landing,
      Key: 'events/2026/12/03/09/hand-written-file',
      Body: '{"received_at":"x"}\nnot json\n',
    }),
  );
  s3.destroy();
  while (Date.now() < until) {
    const wave = Math.round(40 + 35 * Math.sin(n / 15));
    await Promise.all(
      Array.from({ length: 8 }, (_, c) =>
        post(
          JSON.stringify(
            Array.from({ length: wave }, (_, i) =>
              i === 7 && c === 0 ? { type: 'signup', note: 'no id' } : { id: `shot-${n}-${c}-${i}`, type: 'page_view', path: '/pricing' },
            ),
          ),
        ),
      ),
    );
    if (n % 25 === 0) await post('{"id": "torn", "type": ');
    n++;
    await new Promise((r) => setTimeout(r, 100));
  }
  await page.waitForTimeout(7_000);
  await page.locator('#quarantine-list tbody tr').first().click();
  await page.waitForTimeout(1_500);
  mkdirSync(dirname(out), { recursive: true });
  await page.screenshot({ path: out, fullPage: false });
  console.log(`wrote ${out}`);
} finally {
  await browser.close();
  await twin.stop();
  rmSync(dataDir, { recursive: true, force: true });
}
