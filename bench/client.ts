/**
 * Producer client benchmark: @snowgate/client driving events into the
 * local twin, and proof that every event it calls delivered is in raw_events once.
 *
 *   pnpm bench:client                                      # 50,000 events; batches of 500; concurrency 1 and 4; gzip off and on
 *   pnpm bench:client --events 20000 --batch 100,500 --concurrency 4 --gzip on
 *   pnpm bench:client --faults 0.05                        # 5 % of Kinesis entries and S3 writes failing (retries, duplicates)
 *
 * One scenario per (batch, concurrency, gzip), each on a fresh twin (`pnpm start`
 * as its own process) and data dir. The producer loop is `await client.ready();
 * client.send(event)`, then `close()`; the clock runs from the first send to the
 * last outcome. Request latency is measured through the client's injectable
 * fetch. After the run the twin is stopped (it delivers and loads everything it
 * accepted) and raw_events is read. Results print as a table and go to
 * .bench/client.json.
 */
import { createClient, type FetchLike } from '@snowgate/client';
import { openWarehouse, query } from '@snowgate/twin';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '../cli/args';
import { spawnTwin, stopTwin, type TwinProcess } from '../cli/twin-process';

const USAGE = `Usage: pnpm bench:client [options]

@snowgate/client driving events into the local twin (pnpm start as its own process),
and proof that every event it calls delivered is in raw_events once. One scenario
per (batch, concurrency, gzip). Writes .bench/client.json.

Options:
  --events N           events per scenario (default 50000)
  --batch LIST         client batch sizes, comma-separated (default 500)
  --concurrency LIST   requests in flight, comma-separated (default 1,4)
  --gzip LIST          off, on or both (default off,on)
  --faults RATE        share of Kinesis entries and S3 writes failing, 0..1 (default 0)
  --keep               keep each scenario's data dir
  -h, --help           print this help

Example:
  pnpm bench:client --events 20000 --batch 100,500 --concurrency 4 --gzip on`;

const { values } = parseCommandLine('pnpm bench:client', USAGE, {
  options: {
    events: { type: 'string', default: '50000' },
    batch: { type: 'string', default: '500' },
    concurrency: { type: 'string', default: '1,4' },
    gzip: { type: 'string', default: 'off,on' },
    faults: { type: 'string', default: '0' },
    /** Keep each scenario's data dir (printed) for a look afterwards. */
    keep: { type: 'boolean', default: false },
  },
});
const list = (text: string) => text.split(',').map((v) => v.trim());
const total = Number(values.events);
const faults = Number(values.faults);
const root = new URL('../', import.meta.url).pathname;
const outDir = join(root, '.bench');
mkdirSync(outDir, { recursive: true });

/** About 240 bytes of JSON, the shape of a product-analytics event. */
function event(scenario: number, i: number) {
  return {
    id: `bench-${scenario}-${i}`,
    type: 'page_view',
    ts: new Date(Date.UTC(2026, 11, 3, 10, 0, 0, i)).toISOString(),
    user: { id: `u-${i % 997}`, plan: i % 3 === 0 ? 'pro' : 'free', country: ['FR', 'DE', 'US', 'JP'][i % 4] },
    properties: {
      path: `/products/${i % 211}`,
      referrer: 'https://www.example.com/search?q=snowgate',
      ms: (i * 37) % 2_000,
      first: i % 10 === 0,
    },
  };
}

const percentile = (sorted: number[], p: number) =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;

async function scenario(n: number, batch: number, concurrency: number, gzip: boolean) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'snowgate-bench-client-'));
  let twin: TwinProcess | undefined;
  let keep = values.keep;
  try {
    const args = faults > 0 ? ['--kinesis-failure-rate', String(faults), '--s3-failure-rate', String(faults)] : [];
    twin = await spawnTwin(dataDir, args);
    const latencies: number[] = [];
    const timed: FetchLike = async (url, init) => {
      const t = performance.now();
      const response = await fetch(url, init);
      const text = await response.text();
      latencies.push(performance.now() - t);
      return { status: response.status, headers: response.headers, text: async () => text };
    };
    const client = createClient({ endpoint: twin.endpoints.api, maxBatchRecords: batch, maxConcurrency: concurrency, gzip, fetch: timed });
    const delivered: string[] = [];
    const counts = { delivered: 0, rejected: 0, failed: 0 };
    const cpu = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      await client.ready();
      const e = event(n, i);
      void client.send(e).then((o) => {
        counts[o.status]++;
        if (o.status === 'delivered') delivered.push(e.id);
      });
    }
    await client.close();
    const seconds = (performance.now() - started) / 1000;
    const cpuUsed = process.cpuUsage(cpu);
    const stats = client.stats();

    const stopping = performance.now();
    const code = await stopTwin(twin, 'SIGINT');
    twin = undefined;
    const drainSeconds = (performance.now() - stopping) / 1000;
    if (code !== 0) throw new Error(`the twin exited with ${code}`);

    const { instance, connection } = await openWarehouse(join(dataDir, 'warehouse.duckdb'), { readOnly: true });
    let loaded: Map<string, number>;
    try {
      const rows = (await query(connection, `SELECT record->>'id' AS id, count(*) AS n FROM raw_events GROUP BY 1`)).rows;
      loaded = new Map(rows.map((r) => [String(r.id), Number(r.n)]));
    } finally {
      connection.closeSync();
      instance.closeSync();
    }
    const missingIds = delivered.filter((id) => !loaded.has(id));
    const missing = missingIds.length;
    if (missing > 0) keep = true;
    if (missing > 0)
      console.error(`missing from raw_events: ${missingIds.slice(0, 20).join(', ')}${missing > 20 ? ', …' : ''} (data dir ${dataDir})`);
    const duplicated = [...loaded.values()].filter((c) => c > 1).length;
    const unexpected = loaded.size - delivered.filter((id) => loaded.has(id)).length;
    latencies.sort((a, b) => a - b);
    return {
      events: total,
      batch,
      concurrency,
      gzip,
      faults,
      seconds: Number(seconds.toFixed(2)),
      events_per_s: Math.round(total / seconds),
      requests: stats.requests,
      retries: stats.retries,
      delivered: counts.delivered,
      rejected: counts.rejected,
      failed: counts.failed,
      request_p50_ms: Math.round(percentile(latencies, 50)),
      request_p99_ms: Math.round(percentile(latencies, 99)),
      wire_mib: Number((stats.bytesSent / 1_048_576).toFixed(1)),
      json_mib: Number((stats.bytesUncompressed / 1_048_576).toFixed(1)),
      client_cpu_ms_per_1000_events: Number((((cpuUsed.user + cpuUsed.system) / 1000 / total) * 1000).toFixed(1)),
      drain_s: Number(drainSeconds.toFixed(1)),
      in_raw_events: loaded.size,
      missing,
      duplicated,
      unexpected,
    };
  } finally {
    if (twin) await stopTwin(twin, 'SIGKILL');
    if (keep) console.error(`kept ${dataDir}`);
    else rmSync(dataDir, { recursive: true, force: true });
  }
}

const results = [];
let n = 0;
for (const batch of list(values.batch).map(Number)) {
  for (const concurrency of list(values.concurrency).map(Number)) {
    for (const gzip of list(values.gzip).map((g) => g === 'on')) {
      const result = await scenario(n++, batch, concurrency, gzip);
      console.error(JSON.stringify(result));
      results.push(result);
    }
  }
}

const table = [
  '| batch | concurrency | gzip | events/s | requests | retries | request p50 / p99 ms | MiB on the wire (JSON) | client CPU ms / 1,000 events | drain s | delivered | in raw_events | missing | duplicated |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ...results.map(
    (r) =>
      `| ${r.batch} | ${r.concurrency} | ${r.gzip ? 'on' : 'off'} | ${r.events_per_s.toLocaleString('en-US')} | ${r.requests} | ${r.retries} | ${r.request_p50_ms} / ${r.request_p99_ms} | ${r.wire_mib} (${r.json_mib}) | ${r.client_cpu_ms_per_1000_events} | ${r.drain_s} | ${r.delivered.toLocaleString('en-US')} | ${r.in_raw_events.toLocaleString('en-US')} | ${r.missing} | ${r.duplicated} |`,
  ),
].join('\n');
console.log(table);
writeFileSync(
  join(outDir, 'client.json'),
  JSON.stringify({ date: new Date().toISOString(), cpus: os.cpus().length, cpu: os.cpus()[0]?.model, results }, null, 2),
);

// Every delivered event is in raw_events, and nothing else is; without faults, each exactly once.
const bad = results.filter(
  (r) => r.missing > 0 || r.unexpected > 0 || r.failed > 0 || (faults === 0 && (r.duplicated > 0 || r.retries > 0)),
);
if (bad.length > 0) {
  console.error(`FAILED: ${JSON.stringify(bad)}`);
  process.exit(1);
}
console.error(`ok: every delivered event is in raw_events${faults === 0 ? ' exactly once' : ' (at least once)'}`);
