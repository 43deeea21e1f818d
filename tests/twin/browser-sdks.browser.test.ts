import { parseStageConfig } from '@snowgate/config';
import { generateApiKey } from '@snowgate/core';
import { fileApiKeyStore, startTwin, type Twin } from '@snowgate/twin';
import { createReadStream } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumForTests } from '../../cli/chromium';
import { QUIET, removeDir, tempDataDir } from './support';

/**
 * The real browser SDKs, unmodified and pinned (package.json), in headless Chromium, on a page served from
 * another origin than the API (another port), so that every CORS rule applies: Segment's analytics.js
 * (standard and batching mode, a flush when the page is left) and RudderStack's JS SDK (`/bundled`: XHR
 * and beacon transport). Every messageId the page sent must be in raw_events, and no write key anywhere.
 */

const modules = new URL('../../node_modules/', import.meta.url).pathname;
/** Each SDK's browser build as its npm package ships it (RudderStack's `/bundled`: its plugins compiled in, none fetched). */
const BUNDLES: Record<string, string> = {
  '/sdk/segment.js': join(modules, '@segment/analytics-next/dist/umd/index.js'),
  '/sdk/rudder.js': join(modules, '@rudderstack/analytics-js/dist/npm/modern/bundled/umd/index.js'),
  '/': new URL('./pages/sdks.html', import.meta.url).pathname,
};
const stage = parseStageConfig({
  snowflake: { externalId: 'local' },
  firehose: { bufferIntervalSeconds: 1 },
  auth: { mode: 'apiKey' },
});

/** The messageIds of what the page posted to the API (a single message or a batch), as the browser sent them. */
function sentIds(page: Page, api: string): { ids: Set<string>; bodies: string[] } {
  const ids = new Set<string>();
  const bodies: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(api) || request.method() !== 'POST' || request.url().endsWith('/v1/m')) return;
    const body = request.postData() ?? '';
    bodies.push(body);
    try {
      const value = JSON.parse(body) as { messageId?: string; batch?: { messageId?: string }[] };
      for (const m of value.batch ?? [value]) if (m.messageId) ids.add(m.messageId);
    } catch {
      // not JSON: nothing of ours
    }
  });
  return { ids, bodies };
}

describe('the browser SDKs in a real browser, from another origin', async () => {
  const { browser, why } = await chromiumForTests();
  if (!browser) console.warn(`browser SDK tests skipped: ${why}`);
  let dataDir: string;
  let twin: Twin;
  let site: http.Server;
  let origin: string;
  let key: string;
  beforeAll(async () => {
    if (!browser) return;
    dataDir = tempDataDir();
    twin = await startTwin({ port: 0, dataDir, ...QUIET }, stage);
    site = http.createServer((req, res) => {
      const file = BUNDLES[new URL(req.url ?? '/', 'http://x').pathname];
      if (!file) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : 'text/javascript' });
      createReadStream(file).pipe(res);
    });
    await new Promise<void>((resolve) => site.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(site.address() as AddressInfo).port}`;
    const created = generateApiKey('web', new Date(), [origin]);
    await fileApiKeyStore(dataDir).put(created.record);
    key = created.key;
  });
  afterAll(async () => {
    await browser?.close();
    site?.close();
    await twin?.stop();
    if (dataDir) removeDir(dataDir);
  });

  const query = async (sql: string) => {
    const r = await fetch(`${twin.endpoints.api}/query`, { method: 'POST', body: sql, headers: { 'x-snowgate-query': '1' } });
    return ((await r.json()) as { rows: Record<string, unknown>[] }).rows;
  };
  /** Waits until raw_events holds every id, then checks that no record holds a write key. */
  const landed = async (ids: Set<string>) => {
    const wanted = [...ids];
    expect(wanted.length).toBeGreaterThan(0);
    const list = wanted.map((id) => `'${id.replace(/'/g, "''")}'`).join(',');
    let found: Record<string, unknown>[] = [];
    for (let i = 0; i < 150; i++) {
      found = await query(`SELECT record->>'id' AS id, record::VARCHAR AS record FROM raw_events WHERE record->>'id' IN (${list})`);
      if (new Set(found.map((r) => r.id)).size === wanted.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(new Set(found.map((r) => r.id))).toEqual(new Set(wanted));
    for (const r of found) expect(String(r.record)).not.toContain(key.slice(16));
    const latest = await query(`SELECT count(*)::INTEGER AS n FROM raw_events_latest WHERE record->>'id' IN (${list})`);
    expect(latest[0]!.n).toBe(wanted.length);
  };

  it.skipIf(!browser)(
    "Segment's analytics.js: standard mode (track, page, identify, group, alias), then batching mode flushed as the page is left",
    async () => {
      const page = await browser!.newPage();
      const { ids } = sentIds(page, twin.endpoints.api);
      await page.goto(origin);
      const api = twin.endpoints.api;
      const host = new URL(api).host;
      // The settings come from our API (cdnURL): no vendor CDN, and its apiHost points back at us.
      await page.evaluate(
        async ({ key, api, host }) => {
          const w = globalThis as unknown as { AnalyticsNext: { AnalyticsBrowser: { load: (...a: unknown[]) => Promise<unknown[]> } } };
          const [analytics] = (await w.AnalyticsNext.AnalyticsBrowser.load(
            { writeKey: key, cdnURL: api },
            { integrations: { 'Segment.io': { apiHost: `${host}/v1`, protocol: 'http' } } },
          )) as [Record<string, (...a: unknown[]) => Promise<unknown>>];
          await analytics.identify!('user-1', { plan: 'pro' });
          await analytics.track!('Order Completed', { total: 12.5 });
          await analytics.page!('Pricing');
          await analytics.group!('g-1', { name: 'Acme' });
          await analytics.alias!('user-1', 'anon-1');
        },
        { key, api, host },
      );
      await expect.poll(() => ids.size, { timeout: 15_000 }).toBe(5);
      await landed(ids);

      // Batching mode: events queue in the page, and leaving it flushes them (keepalive).
      const batching = await browser!.newPage();
      const batched = sentIds(batching, api);
      await batching.goto(origin);
      const queued = await batching.evaluate(
        async ({ key, api, host }) => {
          const w = globalThis as unknown as { AnalyticsNext: { AnalyticsBrowser: { load: (...a: unknown[]) => Promise<unknown[]> } } };
          const [analytics] = (await w.AnalyticsNext.AnalyticsBrowser.load(
            { writeKey: key, cdnURL: api },
            {
              integrations: {
                'Segment.io': {
                  apiHost: `${host}/v1`,
                  protocol: 'http',
                  deliveryStrategy: { strategy: 'batching', config: { size: 100, timeout: 60_000 } },
                },
              },
            },
          )) as [Record<string, (...a: unknown[]) => Promise<{ event: { messageId: string } }>>];
          const ids: string[] = [];
          for (let i = 0; i < 7; i++) ids.push((await analytics.track!(`Queued ${i}`, { i })).event.messageId);
          return ids;
        },
        { key, api, host },
      );
      expect(queued).toHaveLength(7);
      expect(batched.ids.size).toBe(0); // nothing sent yet: the batch waits for 100 events or a minute
      await batching.goto('about:blank');
      await landed(new Set(queued));
      await page.close();
      await batching.close();
    },
    60_000,
  );

  it.skipIf(!browser)(
    "RudderStack's JS SDK (/bundled): XHR mode, then beacon mode on page hide",
    async () => {
      const api = twin.endpoints.api;
      const run = async (useBeacon: boolean) => {
        const page = await browser!.newPage();
        await page.goto(origin);
        const anonymousId = await page.evaluate(
          async ({ key, api, useBeacon }) => {
            const w = globalThis as unknown as {
              rudderanalytics: { RudderAnalytics: new () => Record<string, (...a: unknown[]) => unknown> };
            };
            const ra = new w.rudderanalytics.RudderAnalytics();
            await new Promise<void>((resolve) => {
              ra.load!(key, api, {
                // The source config inline: no request to RudderStack's control plane.
                getSourceConfig: () => ({
                  source: { id: 'local', name: 'local', workspaceId: 'local', enabled: true, config: {}, destinations: [] },
                }),
                useBeacon,
                polyfillIfRequired: false,
                logLevel: 'ERROR',
                onLoaded: () => resolve(),
              });
            });
            ra.identify!('user-2', { plan: 'free' });
            ra.track!('Product Viewed', { sku: 'a-1' });
            ra.page!('Catalog');
            ra.group!('g-2', { name: 'Beta' });
            ra.alias!('user-2');
            return ra.getAnonymousId!() as string;
          },
          { key, api, useBeacon },
        );
        if (useBeacon) await page.goto('about:blank'); // the beacon queue flushes as the page is hidden
        // Each call once, found by the page's anonymous id: what the SDK generated, whichever transport carried it.
        let found: Record<string, unknown>[] = [];
        for (let i = 0; i < 200 && found.length < 5; i++) {
          found = await query(
            `SELECT record->>'id' AS id, record->>'type' AS type FROM raw_events WHERE record->>'anonymousId' = '${anonymousId.replace(/'/g, "''")}'`,
          );
          if (found.length < 5) await new Promise((r) => setTimeout(r, 100));
        }
        expect(found.map((r) => r.type).sort()).toEqual(['alias', 'group', 'identify', 'page', 'track']);
        await landed(new Set(found.map((r) => String(r.id))));
        await page.close();
      };
      await run(false);
      await run(true);
    },
    60_000,
  );

  it.skipIf(!browser)(
    "with 5 % of Kinesis entries and 5 % of S3 writes failing, the SDKs' own retries after a 503 lose nothing",
    async () => {
      // A write budget of one backoff step: a request that meets a fault answers 503 (with Retry-After, which the
      // page can read) whenever its retry does not fit, and the SDK in the page resends it.
      const faulty = parseStageConfig({
        snowflake: { externalId: 'local' },
        firehose: { bufferIntervalSeconds: 1 },
        ingest: { write: { budgetMs: 100, baseDelayMs: 100, maxDelayMs: 100 } },
      });
      const faultyDir = tempDataDir();
      const other = await startTwin({ port: 0, dataDir: faultyDir, ...QUIET, kinesisFailureRate: 0.05, s3FailureRate: 0.05 }, faulty);
      try {
        const api = other.endpoints.api;
        const host = new URL(api).host;
        const page = await browser!.newPage();
        await page.goto(origin);
        const ids = await page.evaluate(
          async ({ api, host }) => {
            const w = globalThis as unknown as { AnalyticsNext: { AnalyticsBrowser: { load: (...a: unknown[]) => Promise<unknown[]> } } };
            const [analytics] = (await w.AnalyticsNext.AnalyticsBrowser.load(
              { writeKey: 'any-key', cdnURL: api },
              { integrations: { 'Segment.io': { apiHost: `${host}/v1`, protocol: 'http' } } },
            )) as [Record<string, (...a: unknown[]) => Promise<{ event: { messageId: string } }>>];
            const calls = Array.from({ length: 150 }, (_, i) => analytics.track!(`Faulty ${i}`, { i }));
            return (await Promise.all(calls)).map((ctx) => ctx.event.messageId);
          },
          { api, host },
        );
        const list = ids.map((id) => `'${id}'`).join(',');
        let n = 0;
        for (let i = 0; i < 300 && n < ids.length; i++) {
          const r = await fetch(`${api}/query`, {
            method: 'POST',
            headers: { 'x-snowgate-query': '1' },
            body: `SELECT count(DISTINCT record->>'id')::INTEGER AS n FROM raw_events WHERE record->>'id' IN (${list})`,
          });
          n = ((await r.json()) as { rows: { n: number }[] }).rows[0]!.n;
          if (n < ids.length) await new Promise((r) => setTimeout(r, 100));
        }
        expect(n).toBe(ids.length);
        expect(other.status().api.requests[503] ?? 0).toBeGreaterThan(0);
        await page.close();
      } finally {
        await other.stop();
        removeDir(faultyDir);
      }
    },
    60_000,
  );

  it.skipIf(!browser)(
    'refuses a wrong key and a page of another origin: 403, and nothing lands',
    async () => {
      const page = await browser!.newPage();
      // The API's own origin is another origin than the key's.
      await page.goto(`${twin.endpoints.api}/health`);
      const statuses = await page.evaluate(
        async ({ key, api }) => {
          const post = async (k: string, id: string) =>
            (
              await fetch(`${api}/v1/t`, {
                method: 'POST',
                headers: { 'content-type': 'text/plain', authorization: `Basic ${btoa(`${k}:`)}` },
                body: JSON.stringify({ type: 'track', event: 'x', messageId: id }),
              })
            ).status;
          return [await post(key, 'wrong-origin-1'), await post(`${key.slice(0, 16)}${'A'.repeat(43)}`, 'wrong-key-1')];
        },
        { key, api: twin.endpoints.api },
      );
      expect(statuses).toEqual([403, 403]);
      const rows = await query("SELECT count(*)::INTEGER AS n FROM raw_events WHERE record->>'id' IN ('wrong-origin-1', 'wrong-key-1')");
      expect(rows[0]!.n).toBe(0);
      await page.close();
    },
    30_000,
  );
});
