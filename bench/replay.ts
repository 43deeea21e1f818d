/**
 * Replay benchmark: how fast `pnpm replay` empties a quarantine on
 * the local twin, and proof that it sends each record once.
 *
 *   pnpm bench:replay                                  # 1,000 quarantine objects of 10 records; concurrency 1, 8, 32
 *   pnpm bench:replay --objects 5000 --records 10 --concurrency 8
 *
 * The twin runs as its own process (`pnpm start`), as an operator would have it.
 * Each scenario: POST `--objects` requests of `--records` records without an id
 * (all quarantined as missing_id), then time a dry run and a replay with a fix that
 * gives them one, through the replay library against the twin's emulators; then
 * wait until every replayed record is in raw_events and check each is there once.
 * A second replay must send nothing. Results go to .bench/replay.json.
 */
import { parseIngestSettings } from '@snowgate/config';
import { loadContracts } from '@snowgate/contracts';
import { createClients } from '@snowgate/functions/clients';
import { loadFix, replay } from '@snowgate/replay';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '../cli/args';
import { spawnTwin, stopTwin, type TwinProcess } from '../cli/twin-process';
import { machineInfo } from './support/machine';

const USAGE = `Usage: pnpm bench:replay [--objects N] [--records N] [--concurrency LIST]

How fast pnpm replay empties a quarantine on the local twin (pnpm start as its own
process), and proof that it sends each record once. Writes .bench/replay.json.

Options:
  --objects N          quarantine objects to create (default 1000)
  --records N          records per object (default 10)
  --concurrency LIST   replay concurrencies to time, comma-separated (default 1,8,32)
  -h, --help           print this help

Example:
  pnpm bench:replay --objects 5000 --records 10 --concurrency 8`;

const { values } = parseCommandLine('pnpm bench:replay', USAGE, {
  options: {
    objects: { type: 'string', default: '1000' },
    records: { type: 'string', default: '10' },
    concurrency: { type: 'string', default: '1,8,32' },
  },
});
const objects = Number(values.objects);
const records = Number(values.records);
const root = new URL('../', import.meta.url).pathname;
const outDir = join(root, '.bench');
mkdirSync(outDir, { recursive: true });
const fixFile = join(outDir, 'bench-replay-fix.mjs');
writeFileSync(fixFile, 'export default (record) => ({ ...record, id: record.uid });\n');

async function query(api: string, sql: string): Promise<Record<string, unknown>[]> {
  const response = await fetch(`${api}/query`, { method: 'POST', body: sql, headers: { 'x-snowgate-query': '1' } });
  return ((await response.json()) as { rows: Record<string, unknown>[] }).rows;
}

async function scenario(concurrency: number) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'snowgate-bench-replay-'));
  let twin: TwinProcess | undefined;
  try {
    twin = await spawnTwin(dataDir);
    const { endpoints } = twin;
    // The quarantine: every record lacks an id.
    let next = 0;
    const post = async () => {
      while (next < objects) {
        const n = next++;
        const body = JSON.stringify(Array.from({ length: records }, (_, i) => ({ uid: `r-${n}-${i}`, type: 'bench', n, i })));
        const response = await fetch(`${endpoints.api}/events`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
        if (response.status !== 422) throw new Error(`expected 422, got ${response.status}`);
        await response.arrayBuffer();
      }
    };
    await Promise.all(Array.from({ length: 16 }, post));

    const settings = parseIngestSettings({
      streamName: endpoints.stream,
      errorBucket: endpoints.buckets.errors,
      region: 'us-east-1',
      kinesisEndpoint: endpoints.kinesis,
      s3Endpoint: endpoints.s3,
    });
    const clients = createClients(settings, { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' });
    const deps = { ...clients, settings, contracts: loadContracts(settings.contracts, join(root, 'schemas')) };
    const fix = await loadFix(fixFile);
    try {
      let t = performance.now();
      const dry = await replay({ send: false, fix, concurrency }, deps);
      const dryMs = performance.now() - t;
      t = performance.now();
      const sent = await replay({ send: true, fix, concurrency }, deps);
      const sendMs = performance.now() - t;
      if (dry.totals.wouldSend !== objects * records || sent.totals.sent !== objects * records)
        throw new Error(`planned ${dry.totals.wouldSend}, sent ${sent.totals.sent} of ${objects * records}`);
      const again = await replay({ send: true, fix, concurrency }, deps);
      if (again.totals.sent !== 0 || again.totals.alreadySent !== objects * records)
        throw new Error(`a second replay sent ${again.totals.sent}`);
      // Until every replayed record is queryable (Firehose's 5 s buffer, then Snowpipe).
      const started = performance.now();
      let loaded = 0;
      while (performance.now() - started < 120_000) {
        loaded = Number((await query(endpoints.api, `SELECT count(*) AS n FROM raw_events`))[0]!.n);
        if (loaded >= objects * records) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      const queryableMs = performance.now() - t;
      const dupes = await query(endpoints.api, `SELECT record->>'id' AS id FROM raw_events GROUP BY 1 HAVING count(*) > 1 LIMIT 5`);
      const distinct = Number((await query(endpoints.api, `SELECT count(DISTINCT record->>'id') AS n FROM raw_events`))[0]!.n);
      if (distinct !== objects * records || dupes.length > 0)
        throw new Error(`raw_events has ${distinct} distinct ids of ${objects * records} and duplicates ${JSON.stringify(dupes)}`);
      return {
        concurrency,
        objects,
        records: objects * records,
        dry_run_s: +(dryMs / 1000).toFixed(2),
        dry_objects_per_s: Math.round(objects / (dryMs / 1000)),
        replay_s: +(sendMs / 1000).toFixed(2),
        replay_objects_per_s: Math.round(objects / (sendMs / 1000)),
        replay_records_per_s: Math.round((objects * records) / (sendMs / 1000)),
        all_queryable_s: +(queryableMs / 1000).toFixed(1),
        in_raw_events_once: distinct,
        second_run_sent: again.totals.sent,
      };
    } finally {
      clients.kinesis.destroy();
      clients.s3.destroy();
    }
  } finally {
    if (twin) await stopTwin(twin);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const results = [];
for (const c of values.concurrency!.split(',').map(Number)) results.push(await scenario(c));
const machine = machineInfo();
writeFileSync(join(outDir, 'replay.json'), JSON.stringify({ machine, results }, null, 2));
rmSync(fixFile, { force: true });
console.log(`machine: ${machine.cpus} × ${machine.model}, ${machine.memory_gib} GiB, Node ${machine.node}`);
console.table(results);
