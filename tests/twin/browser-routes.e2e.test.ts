import { GetObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { parseStageConfig } from '@snowgate/config';
import { generateApiKey } from '@snowgate/core';
import { createClients } from '@snowgate/functions/clients';
import { fileApiKeyStore } from '@snowgate/twin';
import { describe, expect, it } from 'vitest';
import { useTwin } from './use-twin';

/**
 * The browser SDKs' routes on the twin, as a page's requests reach them (the real SDKs in a browser:
 * browser-sdks.browser.test.ts): CORS on every answer, text/plain bodies, the write key wherever the SDK
 * puts it, keys bound to origins, and the key never stored.
 */
const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 }, auth: { mode: 'apiKey' } });
const SHOP = 'http://shop.example:8080';

describe('the browser SDK routes on the twin (auth mode apiKey, CORS for any origin)', () => {
  const running = useTwin(stage);
  const api = () => running.twin.endpoints.api;
  const keys = async () => {
    const store = fileApiKeyStore(running.dataDir);
    const open = generateApiKey('web');
    const bound = generateApiKey('shop', new Date(), [SHOP]);
    await store.put(open.record);
    await store.put(bound.record);
    return { open: open.key, bound: bound.key };
  };
  const send = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(`${api()}${path}`, { method: 'POST', headers: { 'content-type': 'text/plain', origin: SHOP, ...headers }, body });
  const basic = (key: string) => ({ authorization: `Basic ${Buffer.from(`${key}:`).toString('base64')}` });
  const query = async (sql: string) => {
    const r = await fetch(`${api()}/query`, { method: 'POST', body: sql, headers: { 'x-snowgate-query': '1' } });
    return ((await r.json()) as { rows: Record<string, unknown>[] }).rows;
  };

  it('takes each SDK request where it puts the key, answers CORS on all of them, stores no key, and keeps one row per message in raw_events_latest', async () => {
    const { open, bound } = await keys();
    const secret = open.slice(16);

    // The preflight: the gateway's, whatever the path.
    const pre = await fetch(`${api()}/v1/t`, {
      method: 'OPTIONS',
      headers: { origin: SHOP, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('*');
    expect(pre.headers.get('access-control-allow-headers')).toContain('authorization');

    // analytics.js, standard mode: the key in the message (before 1.84) or the Basic header (from 1.84).
    const t1 = await send('/v1/t', JSON.stringify({ type: 'track', event: 'A', messageId: 'br-1', writeKey: open }));
    expect([t1.status, t1.headers.get('access-control-allow-origin')]).toEqual([200, '*']);
    expect((await send('/v1/p', JSON.stringify({ type: 'page', messageId: 'br-2', writeKey: open }), basic(open))).status).toBe(200);
    // Batching mode: {writeKey, batch, sentAt}.
    const b = JSON.stringify({
      writeKey: open,
      batch: [{ type: 'identify', messageId: 'br-3', writeKey: open }],
      sentAt: '2026-12-07T00:00:00Z',
    });
    expect((await send('/v1/b', b, basic(open))).status).toBe(200);
    // RudderStack's beacon: the key in the query, no header.
    const beacon = JSON.stringify({ batch: [{ type: 'track', event: 'B', messageId: 'br-4' }], sentAt: '2026-12-07T00:00:00Z' });
    expect((await send(`/beacon/v1/batch?writeKey=${encodeURIComponent(open)}`, beacon)).status).toBe(200);
    // The same message twice (a browser retry): both stored, one in raw_events_latest.
    expect((await send('/v1/t', JSON.stringify({ type: 'track', event: 'A', messageId: 'br-1' }), basic(open))).status).toBe(200);
    // A message refused by its content is quarantined without the key.
    expect((await send('/v1/t', JSON.stringify({ type: 'track', event: 'no id', writeKey: open }), basic(open))).status).toBe(422);

    // Refusals carry CORS headers too, so that the page can read them.
    const none = await send('/v1/t', JSON.stringify({ type: 'track', messageId: 'br-x' }));
    expect([none.status, none.headers.get('access-control-allow-origin')]).toEqual([401, '*']);
    expect(
      (await send('/v1/t', JSON.stringify({ type: 'track', messageId: 'br-x' }), basic(`${open.slice(0, 16)}${'B'.repeat(43)}`))).status,
    ).toBe(403);
    expect((await send(`/beacon/v1/batch?writeKey=nope`, beacon)).status).toBe(403);

    // A key bound to an origin: its origin only, and only where each request's Origin is checked.
    const fromShop = await send('/v1/t', JSON.stringify({ type: 'track', messageId: 'br-5' }), basic(bound));
    expect(fromShop.status).toBe(200);
    expect(
      (await send('/v1/t', JSON.stringify({ type: 'track', messageId: 'br-y' }), { ...basic(bound), origin: 'http://evil.example' }))
        .status,
    ).toBe(403);
    const noOrigin = await fetch(`${api()}/v1/t`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...basic(bound) },
      body: '{"messageId":"br-z"}',
    });
    expect(noOrigin.status).toBe(403);
    const onEvents = await fetch(`${api()}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-api-key': bound, origin: SHOP },
      body: '{"id":"br-w"}',
    });
    expect(onEvents.status).toBe(403);

    // analytics.js's own metrics: 200, never stored. Its settings: pointing it back at this host.
    expect((await send('/v1/m', '{"series":[{"type":"Counter","metric":"analytics_js.invoke","value":1,"tags":{}}]}')).status).toBe(200);
    const settings = await fetch(`${api()}/v1/projects/${encodeURIComponent(open)}/settings`, { headers: { origin: SHOP } });
    const host = new URL(api()).host;
    expect([settings.status, settings.headers.get('access-control-allow-origin')]).toEqual([200, '*']);
    expect(await settings.json()).toMatchObject({
      integrations: { 'Segment.io': { apiKey: open, apiHost: `${host}/v1`, protocol: 'http' } },
      metrics: { sampleRate: 0 },
    });

    let stored: Record<string, unknown>[] = [];
    for (let i = 0; i < 200 && stored.length < 6; i++) {
      stored = await query("SELECT record->>'id' AS id, record::VARCHAR AS record FROM raw_events ORDER BY id");
      if (stored.length < 6) await new Promise((r) => setTimeout(r, 100));
    }
    expect(stored.map((r) => r.id)).toEqual(['br-1', 'br-1', 'br-2', 'br-3', 'br-4', 'br-5']);
    for (const r of stored) expect(String(r.record)).not.toMatch(/writeKey|sg_/);
    const latest = await query("SELECT record->>'id' AS id FROM raw_events_latest ORDER BY id");
    expect(latest.map((r) => r.id)).toEqual(['br-1', 'br-2', 'br-3', 'br-4', 'br-5']);

    const { s3 } = createClients(
      { region: 'us-east-1', s3Endpoint: running.twin.endpoints.s3 },
      { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    );
    try {
      const bucket = running.twin.endpoints.buckets.errors;
      const listed = (await s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'errors/' }))).Contents ?? [];
      expect(listed).toHaveLength(1);
      const object = await (await s3.send(new GetObjectCommand({ Bucket: bucket, Key: listed[0]!.Key! }))).Body!.transformToString();
      expect(object).toContain('no id');
      expect(object).not.toContain(secret);
    } finally {
      s3.destroy();
    }
  }, 60_000);
});
