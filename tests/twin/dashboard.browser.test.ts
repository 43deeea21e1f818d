import { parseStageConfig } from '@snowgate/config';
import { startTwin, type Twin } from '@snowgate/twin';
import { mkdirSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumForTests } from '../../cli/chromium';
import { post, QUIET, removeDir, tempDataDir } from './support';

/** Debian's Chromium (`apt-get install chromium`; `.ci/run` installs it). */
const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } });

describe('the twin dashboard, in a real browser', async () => {
  const { browser, why } = await chromiumForTests();
  if (!browser) console.warn(`dashboard browser test skipped: ${why}`);
  let dataDir: string;
  let twin: Twin;
  beforeAll(async () => {
    if (!browser) return;
    dataDir = tempDataDir();
    twin = await startTwin({ port: 0, dataDir, ...QUIET }, stage);
  });
  afterAll(async () => {
    await browser?.close();
    await twin?.stop();
    if (dataDir) removeDir(dataDir);
  });

  it.skipIf(!browser)(
    'shows the counts, the charts, the quarantined request with its input and errors, copy history and query results',
    async () => {
      const page = await browser!.newPage({ viewport: { width: 1280, height: 1100 } });
      const errors: string[] = [];
      page.on('pageerror', (e) => errors.push(e.message));
      page.on('console', (m) => m.type() === 'error' && errors.push(m.text()));
      await page.goto(twin.endpoints.api);
      await expect.poll(() => page.textContent('#accepted-count')).toBe('0');

      const batch = JSON.stringify(
        Array.from({ length: 40 }, (_, i) => ({ id: `ui-${i}`, type: 'page_view' })).concat([
          { type: 'no id', note: '<img src=x onerror=alert(1)>' } as never,
        ]),
      );
      expect((await post(twin.endpoints.api, batch)).status).toBe(207);
      expect((await post(twin.endpoints.api, '{"id": "torn", ')).status).toBe(400);

      await expect.poll(() => page.textContent('#accepted-count'), { timeout: 15_000 }).toBe('40');
      await expect.poll(() => page.textContent('#quarantined-count')).toBe('2');
      await expect.poll(() => page.textContent('#loaded-count'), { timeout: 20_000 }).toBe('40');
      await expect.poll(() => page.locator('#quarantine-list tbody tr').count(), { timeout: 10_000 }).toBe(2);
      expect(await page.locator('#quarantine-list tbody tr').first().textContent()).toContain('malformed_json');
      expect(await page.locator('#throughput-chart path').count()).toBeGreaterThan(0);
      expect(await page.textContent('#replayed-count')).toBe('0');
      // The time axis says what the caption says: a fresh twin's chart spans its last minute, up to now.
      expect(await page.textContent('#chart-window')).toBe('last minute');
      expect(await page.locator('#throughput-chart text').allTextContents()).toEqual([expect.any(String), '1 min ago', 'now']);
      // Accepted is drawn first and wider, so the quarantined and loaded lines over it (along zero, say) leave it visible.
      const strokes = await page
        .locator('#throughput-chart path')
        .evaluateAll((paths) =>
          paths.map((p) => [
            p.getAttribute('class'),
            parseFloat(
              (globalThis as unknown as { getComputedStyle(e: unknown): { strokeWidth: string } }).getComputedStyle(p).strokeWidth,
            ),
          ]),
        );
      expect(strokes[0]![0]).toBe('accepted');
      expect(strokes.slice(1).every(([, width]) => (width as number) < (strokes[0]![1] as number))).toBe(true);

      // Browse the 207's quarantine object: its input and errors, shown as text (the markup in it stays inert).
      await page.locator('#quarantine-list tbody tr', { hasText: 'missing_id' }).click();
      await expect.poll(() => page.textContent('#quarantine-detail')).toContain('"reason": "missing_id"');
      const detail = await page.textContent('#quarantine-detail');
      expect(detail).toContain('<img src=x onerror=alert(1)>');
      expect(await page.locator('#quarantine-detail img').count()).toBe(0);

      await expect.poll(() => page.locator('#copy-history tbody tr').count(), { timeout: 10_000 }).toBeGreaterThan(0);
      expect(await page.locator('#copy-history tbody tr').first().textContent()).toContain('LOADED');

      await page.fill('#query-input', "SELECT count(*) AS n FROM raw_events WHERE record->>'id' LIKE 'ui-%'");
      await page.click('#query-run');
      await expect.poll(() => page.textContent('#query-result tbody')).toBe('40');
      await page.fill('#query-input', 'DELETE FROM raw_events');
      await page.click('#query-run');
      await expect.poll(() => page.textContent('#query-error')).toMatch(/one read statement|read statements only/);

      const dir = join(process.cwd(), '.bench');
      mkdirSync(dir, { recursive: true });
      await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
      // The refused DELETE is the only failed request the page made.
      expect(errors).toEqual(['Failed to load resource: the server responded with a status of 400 (Bad Request)']);
      await page.close();
    },
  );

  it.skipIf(!browser)('answers nothing to another origin: no framing, no cross-site reads, no rebound Host', async () => {
    // A page on another origin (another port is another origin) tries to read the dashboard's data and the warehouse.
    const other = http.createServer((_, res) => res.end('<!doctype html><title>other</title>'));
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
    const page = await browser!.newPage();
    try {
      await page.goto(`http://127.0.0.1:${(other.address() as { port: number }).port}/`);
      const api = twin.endpoints.api;
      const attempts = await page.evaluate(async (target) => {
        const attempt = async (f: () => Promise<Response>) =>
          f().then(
            (r) => `read ${r.status}`,
            (e) => `blocked: ${e.name}`,
          );
        return {
          series: await attempt(() => fetch(`${target}/ui/api/series`)),
          quarantine: await attempt(() =>
            fetch(`${target}/ui/api/quarantine`, { mode: 'no-cors' }).then((r) =>
              r.type === 'opaque' ? Promise.reject(new TypeError('opaque')) : r,
            ),
          ),
          query: await attempt(() => fetch(`${target}/query`, { method: 'POST', body: 'SELECT 1', headers: { 'x-snowgate-query': '1' } })),
        };
      }, api);
      expect(attempts).toEqual({ series: 'blocked: TypeError', quarantine: 'blocked: TypeError', query: 'blocked: TypeError' });
    } finally {
      await page.close();
      other.close();
    }
    // Framing is refused by policy; a rebound Host name and cross-site fetch metadata are refused by the server.
    const home = await fetch(twin.endpoints.api);
    expect(home.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(home.headers.get('x-frame-options')).toBe('DENY');
    const status = (path: string, headers: Record<string, string>) =>
      new Promise<number>((resolve, reject) => {
        const url = new URL(path, twin.endpoints.api);
        http
          .get({ host: url.hostname, port: url.port, path: url.pathname, headers }, (res) => {
            res.resume();
            resolve(res.statusCode ?? 0);
          })
          .on('error', reject);
      });
    expect(await status('/ui/api/series', { host: 'evil.example:4000' })).toBe(403);
    expect(await status('/', { host: 'evil.example' })).toBe(403);
    expect(await status('/ui/api/series', { 'sec-fetch-site': 'cross-site' })).toBe(403);
    expect(await status('/ui/api/series', { 'sec-fetch-site': 'same-origin' })).toBe(200);
    expect(await status('/ui/api/quarantine/object?key=../../etc/passwd', {})).toBe(400);
  });
});
