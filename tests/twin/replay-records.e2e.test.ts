import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { quarantineKeyMatches } from '@snowgate/core';
import { parseIngestSettings, parseStageConfig } from '@snowgate/config';
import { loadContracts } from '@snowgate/contracts';
import { createClients } from '@snowgate/functions/clients';
import { loadFix, readLedger, replay, type ReplayDependencies } from '@snowgate/replay';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { post, removeDir } from './support';
import { useTwin } from './use-twin';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const stage = parseStageConfig({ snowflake: { externalId: 'local' }, firehose: { bufferIntervalSeconds: 1 } });
const root = new URL('../../', import.meta.url).pathname;

const fixes = mkdtempSync(join(tmpdir(), 'snowgate-fixes-'));
const fixFile = (name: string, text: string) => {
  const path = join(fixes, name);
  writeFileSync(path, text);
  return path;
};
/** The producer sent its id as `uid` (and sometimes an empty `id` beside it). */
const UID_FIX = fixFile(
  'uid.ts',
  `export default (record: any) => (record && typeof record === 'object' ? { ...record, id: record.uid ?? record.id } : null);`,
);

describe('replay, record by record, on the twin', () => {
  const running = useTwin(stage);
  let deps: ReplayDependencies;
  let clients: ReturnType<typeof createClients>;
  const rows = async (sql: string) => {
    const response = await fetch(`${running.twin.endpoints.api}/query`, {
      method: 'POST',
      body: sql,
      headers: { 'x-snowgate-query': '1' },
    });
    return ((await response.json()) as { rows: Record<string, unknown>[] }).rows;
  };
  /** Until `count` rows match, then a little longer, so that a duplicate would have landed too. */
  const settledRows = async (sql: string, count: number) => {
    for (let i = 0; i < 300 && (await rows(sql)).length < count; i++) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 2_500));
    return rows(sql);
  };
  const keyOf = async (requestId: string) => {
    const keys = (
      (await clients.s3.send(new ListObjectsV2Command({ Bucket: running.twin.endpoints.buckets.errors, Prefix: 'errors/' }))).Contents ?? []
    ).map((o) => o.Key!);
    return keys.find((k) => quarantineKeyMatches(k, requestId))!;
  };

  beforeAll(() => {
    const settings = parseIngestSettings({
      streamName: running.twin.endpoints.stream,
      errorBucket: running.twin.endpoints.buckets.errors,
      region: 'us-east-1',
      kinesisEndpoint: running.twin.endpoints.kinesis,
      s3Endpoint: running.twin.endpoints.s3,
    });
    clients = createClients(settings, credentials);
    deps = { ...clients, settings, contracts: loadContracts(settings.contracts, 'schemas') };
  });
  afterAll(() => {
    clients?.kinesis.destroy();
    clients?.s3.destroy();
    removeDir(fixes);
  });

  it('--reason selects records, not objects; a later run with another reason sends the rest, each record once', async () => {
    const answer = await post(
      running.twin.endpoints.api,
      JSON.stringify([{ uid: 'sel-missing' }, { id: '', uid: 'sel-invalid' }, { id: 'sel-ok' }]),
    );
    expect(answer.status).toBe(207);
    const key = await keyOf(answer.body.requestId);
    const fix = await loadFix(UID_FIX);

    const missing = await replay({ send: true, fix, reasons: ['missing_id'] }, deps);
    expect(missing.objects.find((o) => o.key === key)).toMatchObject({ sent: 1, alreadySent: 0, failing: [] });
    expect((await readLedger(clients.s3, running.twin.endpoints.buckets.errors, key)).sent).toEqual([0]);

    // The other record of the same object: not counted as already sent, sent now.
    const invalid = await replay({ send: true, fix, reasons: ['invalid_id'] }, deps);
    expect(invalid.objects.find((o) => o.key === key)).toMatchObject({ sent: 1, alreadySent: 0, failing: [] });
    expect((await readLedger(clients.s3, running.twin.endpoints.buckets.errors, key)).sent).toEqual([0, 1]);

    // Any reason, again: nothing more.
    const all = await replay({ send: true, fix }, deps);
    expect(all.objects.find((o) => o.key === key)).toMatchObject({ sent: 0, alreadySent: 2 });

    const loaded = await settledRows(`SELECT record->>'id' AS id FROM raw_events WHERE record->>'id' LIKE 'sel-%' ORDER BY id`, 3);
    expect(loaded.map((r) => r.id)).toEqual(['sel-invalid', 'sel-missing', 'sel-ok']);
  });

  it('a dry run says what it would send, never "sent"; a record the fix drops is counted as dropped, per object and in the totals', async () => {
    const answer = await post(running.twin.endpoints.api, JSON.stringify([{ uid: 'drop-me' }, { uid: 'dry-keep' }]));
    expect(answer.status).toBe(422);
    const key = await keyOf(answer.body.requestId);
    const dropFix = fixFile(
      'drop.ts',
      `export default (record: any) => (record.uid === 'drop-me' ? null : { ...record, id: record.uid });`,
    );

    const dry = await replay({ send: false, fix: await loadFix(dropFix) }, deps);
    expect(JSON.stringify(dry)).not.toContain('"sent"');
    const entry = dry.objects.find((o) => o.key === key)!;
    expect(entry).toMatchObject({ wouldSend: 1, failing: [], dropped: [0] });
    expect(dry.totals).toMatchObject({ wouldSend: 1, failing: 0, dropped: 1 });
    expect(dry.totals.dropped).toBe(dry.objects.reduce((n, o) => n + o.dropped.length, 0));
    expect(dry.totals.failing).toBe(dry.objects.reduce((n, o) => n + o.failing.length, 0));

    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'cli/replay.ts'), '--data-dir', running.dataDir, ...args], {
        cwd: root,
        env: { ...process.env, NODE_NO_WARNINGS: '1' },
      });
    const json = JSON.parse((await run(['--fix', dropFix, '--json'])).stdout);
    expect(json).toMatchObject({ dryRun: true, totals: { wouldSend: 1, failing: 0, dropped: 1 } });
    expect(json.totals).not.toHaveProperty('sent');
    expect(json.objects.find((o: { key: string }) => o.key === key)).not.toHaveProperty('sent');
    const text = (await run(['--fix', dropFix])).stdout;
    const block = text.slice(text.indexOf(key)).split('\n').slice(1, 3).join('\n');
    expect(block).toBe('    missing_id → would send 1 · 1 dropped by the fix\n      [0] dropped by the fix');
    expect(text).not.toContain('still failing ·');
    expect(text).toMatch(/would send 1 records?, .*0 still failing, 1 dropped by the fix/);
  });

  it("recovers the records of a body refused as too large (413), compressed or not, judging each with today's limits; a truncated body is reported", async () => {
    // 5,000 events of about 1 KB, gzipped to some 40 KB: 4.9 MB once decompressed, over the body limit.
    // The last has no id: it is judged on its own, as in a request, and still fails.
    const events = Array.from({ length: 5_000 }, (_, i) => ({
      ...(i < 4_999 ? { id: `big-${i}` } : {}),
      type: 'page_view',
      url: `https://example.com/${'a'.repeat(900)}`,
      n: i,
    }));
    const send = (body: Uint8Array | string, headers: Record<string, string>) =>
      fetch(`${running.twin.endpoints.api}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body,
      }).then(async (r) => ({ status: r.status, body: (await r.json()) as { requestId: string } }));
    const gzipped = await send(gzipSync(JSON.stringify(events)), { 'content-encoding': 'gzip' });
    expect(gzipped.status).toBe(413);
    // Over the body limit uncompressed: kept truncated in the quarantine (quarantineMaxInputBytes), so not replayable.
    const plain = await send(JSON.stringify(events.slice(0, 4_500).map((e) => ({ ...e, id: `plain-${e.n}` }))), {});
    expect(plain.status).toBe(413);
    const [gzKey, plainKey] = [await keyOf(gzipped.body.requestId), await keyOf(plain.body.requestId)];

    const dry = await replay({ send: false, reasons: ['body_too_large'] }, deps);
    expect(dry.objects.find((o) => o.key === gzKey)).toMatchObject({
      wouldSend: 4_999,
      failing: [{ index: 4_999, reason: 'missing_id', message: 'record 4999 has no id' }],
    });
    expect(dry.objects.find((o) => o.key === plainKey)).toMatchObject({
      wouldSend: 0,
      failing: [
        {
          index: 0,
          reason: 'body_too_large',
          message: expect.stringMatching(/^the body cannot be replayed: truncated in the quarantine \(\d+ bytes, kept 1048576\)$/),
        },
      ],
    });

    const sent = await replay({ send: true, reasons: ['body_too_large'] }, deps);
    expect(sent.totals).toMatchObject({ sent: 4_999, failing: 2 });
    expect((await replay({ send: true }, deps)).objects.find((o) => o.key === gzKey)).toMatchObject({ sent: 0, alreadySent: 4_999 });
    const loaded = await settledRows(`SELECT record->>'id' AS id, request_id FROM raw_events WHERE record->>'id' LIKE 'big-%'`, 4_999);
    expect(loaded).toHaveLength(4_999);
    expect(new Set(loaded.map((r) => r.id)).size).toBe(4_999);
    expect(new Set(loaded.map((r) => r.request_id))).toEqual(new Set([gzipped.body.requestId]));
  });
});
