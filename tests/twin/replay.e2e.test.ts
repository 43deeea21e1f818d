import { GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from '@aws-sdk/client-s3';
import { assessReplay, quarantineKeyMatches, replayCandidates, replayMarkerText, quarantineObjectSchema } from '@snowgate/core';
import { parseIngestSettings, parseStageConfig } from '@snowgate/config';
import { loadContracts } from '@snowgate/contracts';
import { createClients } from '@snowgate/functions/clients';
import { createKinesisWriter } from '@snowgate/functions/kinesis-writer';
import {
  acquireLock,
  FixModuleError,
  LEDGER_PREFIX,
  LOCK_KEY,
  ReplayLockedError,
  emptyLedger,
  loadFix,
  replay,
  writeLedger,
  type ReplayDependencies,
} from '@snowgate/replay';
import { startTwin, type Twin } from '@snowgate/twin';
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageViewV2 } from '../support/contracts';
import { post, QUIET, removeDir, tempDataDir } from './support';

const credentials = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };
const stage = parseStageConfig({
  snowflake: { externalId: 'local' },
  firehose: { bufferIntervalSeconds: 1 },
  contracts: { mode: 'enforce' },
});
const root = new URL('../../', import.meta.url).pathname;

const fixes = mkdtempSync(join(tmpdir(), 'snowgate-fixes-'));
const fixFile = (name: string, text: string) => {
  const path = join(fixes, name);
  writeFileSync(path, text);
  return path;
};
/** Gives an id to records that lack one (their `uid`), repairs the malformed body, fixes the page_view's url. */
const GOOD_FIX = fixFile(
  'good.ts',
  `export default function fix(record: any, context: { raw?: string; reason: string }) {
     if (record === undefined) return context.raw?.startsWith('{"id":"torn"') ? { id: 'torn-repaired' } : null;
     if (record.uid === 'drop-me') return null;
     if (context.reason === 'schema_violation') return { ...record, url: 'https://example.com/fixed' };
     return { ...record, id: record.id ?? record.uid };
   }`,
);

describe('replay of quarantined records, on the twin', () => {
  let dataDir: string;
  let twin: Twin;
  let deps: ReplayDependencies;
  let clients: ReturnType<typeof createClients>;
  const rows = async (sql: string) => {
    const response = await fetch(`${twin.endpoints.api}/query`, { method: 'POST', body: sql, headers: { 'x-snowgate-query': '1' } });
    return ((await response.json()) as { rows: Record<string, unknown>[] }).rows;
  };
  const waitForRows = async (sql: string, count: number) => {
    for (let i = 0; i < 150; i++) {
      const found = await rows(sql);
      if (found.length >= count) return found;
      await new Promise((r) => setTimeout(r, 100));
    }
    return rows(sql);
  };
  const bucketKeys = async (prefix: string) =>
    ((await clients.s3.send(new ListObjectsV2Command({ Bucket: twin.endpoints.buckets.errors, Prefix: prefix }))).Contents ?? [])
      .map((o) => o.Key!)
      .sort();
  const readObject = async (key: string) =>
    await (await clients.s3.send(new GetObjectCommand({ Bucket: twin.endpoints.buckets.errors, Key: key }))).Body!.transformToString();

  beforeAll(async () => {
    dataDir = tempDataDir();
    twin = await startTwin({ port: 0, dataDir, ...QUIET }, stage);
    const settings = parseIngestSettings({
      streamName: twin.endpoints.stream,
      errorBucket: twin.endpoints.buckets.errors,
      region: 'us-east-1',
      kinesisEndpoint: twin.endpoints.kinesis,
      s3Endpoint: twin.endpoints.s3,
      contracts: stage.contracts,
    });
    clients = createClients(settings, credentials);
    deps = { ...clients, settings, contracts: loadContracts(settings.contracts, 'schemas') };
  });
  afterAll(async () => {
    clients?.kinesis.destroy();
    clients?.s3.destroy();
    await twin?.stop();
    removeDir(dataDir);
    removeDir(fixes);
  });

  it('quarantine → fix → replay → rows in raw_events, once, as the events they were; nothing deleted from the error bucket', async () => {
    const api = twin.endpoints.api;
    const answers = [
      await post(api, JSON.stringify([{ uid: 'u-1', type: 'signup' }, { id: 'ok-1' }, { uid: 'u-2' }, { uid: 'drop-me' }])),
      await post(api, '{"id":"torn", "x":'),
      await post(api, JSON.stringify(pageViewV2('pv-bad', { url: 'not a url' }))),
    ];
    expect(answers.map((a) => a.status)).toEqual([207, 400, 422]);
    const quarantine = await bucketKeys('errors/');
    expect(quarantine).toHaveLength(3);
    const before = await Promise.all(quarantine.map(readObject));

    // Dry run, no fix: nothing is sent and nothing is written; it says what would still fail.
    const dry = await replay({ send: false }, deps);
    expect(dry.dryRun).toBe(true);
    expect(dry.totals).toMatchObject({ objects: 3, wouldSend: 0, failing: 5 });
    expect(dry.objects.flatMap((o) => o.failing.map((f) => f.reason)).sort()).toEqual([
      'malformed_json',
      'missing_id',
      'missing_id',
      'missing_id',
      'schema_violation',
    ]);
    expect(await bucketKeys(LEDGER_PREFIX)).toEqual([]);

    // Dry run with the fix: what would be sent, and what the fix leaves out.
    const fix = await loadFix(GOOD_FIX);
    const planned = await replay({ send: false, fix }, deps);
    expect(planned.totals).toMatchObject({ wouldSend: 4, failing: 0, dropped: 1 });

    const sent = await replay({ send: true, fix }, deps);
    expect(sent.totals).toMatchObject({ objects: 3, sent: 4, alreadySent: 0, failing: 0, dropped: 1 });
    const loaded = await waitForRows(
      `SELECT record->>'id' AS id, request_id, received_at::VARCHAR AS received_at FROM raw_events ORDER BY id`,
      5,
    );
    expect(loaded.map((r) => r.id)).toEqual(['ok-1', 'pv-bad', 'torn-repaired', 'u-1', 'u-2']);
    // A replayed row keeps its original request id and receive time.
    const first = quarantineObjectSchema.parse(JSON.parse(before[0]!));
    const u1 = loaded.find((r) => r.id === 'u-1')!;
    expect(u1.request_id).toBe(first.request_id);
    expect(new Date(String(u1.received_at)).toISOString()).toBe(first.received_at);

    // A second run sends nothing again, fix or not.
    const again = await replay({ send: true, fix }, deps);
    expect(again.totals).toMatchObject({ sent: 0, alreadySent: 4, dropped: 1 });
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await rows(`SELECT record->>'id' AS id, count(*) AS n FROM raw_events GROUP BY 1 HAVING count(*) > 1`)).toEqual([]);

    // The quarantine is as it was; replay wrote only its ledger (and took its lock off again).
    expect(await bucketKeys('errors/')).toEqual(quarantine);
    expect(await Promise.all(quarantine.map(readObject))).toEqual(before);
    expect((await bucketKeys(LEDGER_PREFIX)).every((k) => k.startsWith(`${LEDGER_PREFIX}objects/errors/`))).toBe(true);
    expect(await bucketKeys(LOCK_KEY)).toEqual([]);
  });

  it('after a crash between PutRecords and the ledger write, finds the chunk on the stream, inside a packed record, and sends it no second time', async () => {
    const answer = await post(twin.endpoints.api, JSON.stringify([{ uid: 'crash-1' }, { uid: 'crash-2' }, { uid: 'crash-3' }]));
    expect(answer.status).toBe(422);
    const key = (await bucketKeys('errors/')).find((k) => quarantineKeyMatches(k, answer.body.requestId))!;
    const object = quarantineObjectSchema.parse(JSON.parse(await readObject(key)));

    // What a run that died would have left: records 0 and 1 in flight and acknowledged by Kinesis, record 2 in flight but never sent.
    const crashed = 'replay-crashed-run';
    // Record 0's payload quotes record 2's marker: only an envelope's own marker (its head) counts, not its payload's text.
    const decoy = replayMarkerText({ run: crashed, object: key, index: 2 });
    const inputs = replayCandidates(object).map((c) => ({
      index: c.index,
      text: JSON.stringify({ ...JSON.parse(c.raw!), id: JSON.parse(c.raw!).uid, ...(c.index === 0 ? { note: decoy } : {}) }),
    }));
    const { accepted } = assessReplay(object, inputs, deps.settings.limits, deps.contracts, crashed, key);
    await writeLedger(clients.s3, twin.endpoints.buckets.errors, {
      ...emptyLedger(key),
      inflight: { run: crashed, since: new Date().toISOString(), indices: [0, 1, 2] },
    });
    const delivery = await createKinesisWriter(clients.kinesis, {
      streamName: twin.endpoints.stream,
      write: { budgetMs: 5_000, baseDelayMs: 20, maxDelayMs: 200, retryAfterSeconds: 1 },
      packing: deps.settings.packing,
    })(accepted.slice(0, 2), Date.now() + 5_000, `${object.request_id}/${crashed}/0`);
    // Both records in one Kinesis record, as replay sends them.
    expect(delivery.streamRecords).toBe(1);

    const resumed = await replay({ send: true, fix: await loadFix(GOOD_FIX), reasons: ['missing_id'] }, deps);
    const entry = resumed.objects.find((o) => o.key === key)!;
    expect(entry).toMatchObject({ recovered: 2, sent: 1, alreadySent: 0 });
    const loaded = await waitForRows(`SELECT record->>'id' AS id FROM raw_events WHERE record->>'id' LIKE 'crash-%' ORDER BY id`, 3);
    await new Promise((r) => setTimeout(r, 2_000));
    expect(
      (await rows(`SELECT record->>'id' AS id FROM raw_events WHERE record->>'id' LIKE 'crash-%' ORDER BY id`)).map((r) => r.id),
    ).toEqual(['crash-1', 'crash-2', 'crash-3']);
    expect(loaded).toHaveLength(3);
  });

  it('filters by reason and time range', async () => {
    const fix = await loadFix(GOOD_FIX);
    expect((await replay({ send: false, fix, reasons: ['schema_violation'] }, deps)).objects.map((o) => o.reasons)).toEqual([
      ['schema_violation'],
    ]);
    expect((await replay({ send: false, fix, from: new Date(Date.now() + 60_000) }, deps)).totals.objects).toBe(0);
    expect((await replay({ send: false, fix, to: new Date('2000-01-01') }, deps)).totals.objects).toBe(0);
    expect(
      (await replay({ send: false, fix, from: new Date(Date.now() - 600_000), to: new Date(Date.now() + 60_000) }, deps)).totals.objects,
    ).toBe(4);
  });

  it('refuses to run beside another replay, until the lock is broken', async () => {
    await clients.s3.send(
      new PutObjectCommand({
        Bucket: twin.endpoints.buckets.errors,
        Key: LOCK_KEY,
        Body: JSON.stringify({ run: 'other', host: 'h', pid: 1, started_at: '2026-12-03T00:00:00.000Z' }),
        IfNoneMatch: '*',
      }),
    );
    await expect(replay({ send: true }, deps)).rejects.toThrow(ReplayLockedError);
    await expect(replay({ send: true }, deps)).rejects.toThrow(/run other \(pid 1 on h, since 2026-12-03T00:00:00.000Z\).*--break-lock/);
    // A dry run needs no lock.
    expect((await replay({ send: false }, deps)).dryRun).toBe(true);
    expect((await replay({ send: true, breakLock: true }, deps)).totals.sent).toBe(0);
    expect(await bucketKeys(LOCK_KEY)).toEqual([]);
    // A run whose lock was broken by another does not, when it ends, remove the other's lock.
    const releaseA = await acquireLock(clients.s3, twin.endpoints.buckets.errors, 'run-a');
    const releaseB = await acquireLock(clients.s3, twin.endpoints.buckets.errors, 'run-b', true);
    await releaseA();
    expect(await bucketKeys(LOCK_KEY)).toEqual([LOCK_KEY]);
    await releaseB();
    expect(await bucketKeys(LOCK_KEY)).toEqual([]);
  });

  it('gives a clear error for bad fix modules', async () => {
    await expect(loadFix(join(fixes, 'missing.ts'))).rejects.toThrow(/does not exist/);
    await expect(loadFix(fixFile('no-default.ts', 'export const other = 1;'))).rejects.toThrow(
      /must export a function .* it exports other/,
    );
    await expect(loadFix(fixFile('broken.ts', 'throw new Error("boom at import");'))).rejects.toThrow(FixModuleError);
    await expect(loadFix(fixFile('syntax.ts', 'export default (r => ;'))).rejects.toThrow(/failed to load/);
    const throwing = await loadFix(fixFile('throws.ts', 'export default () => { throw new Error("no idea"); };'));
    await post(twin.endpoints.api, '{"uid":"late"}');
    await expect(replay({ send: true, fix: throwing }, deps)).rejects.toThrow(
      /throws\.ts threw on record \d+ of errors\/.*: no idea; nothing more is sent/,
    );
    const notJson = await loadFix(fixFile('bigint.ts', 'export default (r: any) => ({ ...r, id: 1n });'));
    await expect(replay({ send: false, fix: notJson, reasons: ['missing_id'] }, deps)).rejects.toThrow(/not JSON/);
    expect(await bucketKeys(LOCK_KEY)).toEqual([]);
  });

  it('pnpm replay: a dry run by default, exit 2 with the reason for bad input', async () => {
    const run = (args: string[]) =>
      promisify(execFile)(process.execPath, ['--import', 'tsx', join(root, 'cli/replay.ts'), '--data-dir', dataDir, ...args], {
        cwd: root,
        env: { ...process.env, NODE_NO_WARNINGS: '1' },
      }).then(
        (r) => ({ code: 0, ...r }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
    const dry = await run(['--reason', 'missing_id', '--json']);
    expect(dry.code).toBe(0);
    const report = JSON.parse(dry.stdout);
    expect(report.dryRun).toBe(true);
    expect(report.totals.objects).toBeGreaterThan(0);
    const bad = await run(['--reason', 'no_such_reason']);
    expect([bad.code, bad.stderr]).toEqual([2, expect.stringContaining('unknown reason(s) no_such_reason')]);
    const badFix = await run(['--fix', join(fixes, 'no-default.ts')]);
    expect([badFix.code, badFix.stderr]).toEqual([2, expect.stringContaining('must export a function')]);
  });
});
