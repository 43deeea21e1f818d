/**
 * Load benchmark of the local twin: a real HTTP load generator
 * (autocannon) against `pnpm start` running as its own process, then a check
 * that every acknowledged event is in raw_events exactly once.
 *
 *   pnpm bench                                   # single events, then batches of 100; 20 s each, 64 connections
 *   pnpm bench --duration 60                     # 60 s runs, as in docs/BENCHMARKS.md
 *   pnpm bench --batch 1,10,100,500 --connections 16,64
 *   pnpm bench --batch 100 --rate 20000          # hold 20,000 events/s instead of as fast as possible
 *   pnpm bench --batch 100 --rate 10000 --soak 600   # 10 minutes, reported per 30 s window
 *   pnpm bench --batch 100 --profile .bench/profiles # V8 CPU profiles of the twin's main thread
 *   pnpm bench --batch 100 --route events,events-segment,segment   # Segment's /v1/batch beside /events
 *
 * One scenario per (batch, connections) pair, each on a fresh twin and data dir.
 * Results print as a table and are written to .bench/twin.json.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseCommandLine } from '../cli/args';
import { TWIN_ENTRY } from '../cli/twin-process';
import { openWarehouse, query } from '@snowgate/twin';
import { endpointsFile } from '@snowgate/config';
import { segmentBatch, segmentMessage } from './support/segment-messages';

const USAGE = `Usage: pnpm bench [options]   (or pnpm bench:twin)

Load benchmark of the local twin: autocannon against pnpm start as its own process,
then a check that every acknowledged event is in raw_events exactly once. One
scenario per (batch, connections) pair, each on a fresh twin. Writes .bench/twin.json.

Options:
  --duration S        seconds per scenario (default 20)
  --connections LIST  concurrent connections, comma-separated (default 64)
  --batch LIST        events per request, comma-separated (default 1,100)
  --rate N            hold N events/s instead of as fast as possible
  --soak S            one long run of S seconds, reported per --window
  --window S          soak report window in seconds (default 30)
  --keep              keep each scenario's data dir
  --profile DIR       write V8 CPU profiles of the twin's main thread to DIR
  --route LIST        what is posted, comma-separated (default events):
                        events          page_view records to POST /events
                        events-segment  Segment-shaped messages (with an id) to POST /events
                        segment         the same messages as a Segment batch to POST /v1/batch
  -h, --help          print this help

Example:
  pnpm bench --batch 100 --rate 20000 --duration 60`;

const { values } = parseCommandLine('pnpm bench', USAGE, {
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '64' },
    batch: { type: 'string', default: '1,100' },
    rate: { type: 'string' },
    soak: { type: 'string' },
    window: { type: 'string', default: '30' },
    keep: { type: 'boolean', default: false },
    profile: { type: 'string' },
    route: { type: 'string', default: 'events' },
  },
});
const list = (text: string) => text.split(',').map(Number);
const soakSeconds = values.soak ? Number(values.soak) : undefined;
const duration = soakSeconds ?? Number(values.duration);
/** Soak runs are cut into windows, so that drift in memory or latency shows. */
const windowSeconds = soakSeconds ? Math.min(Number(values.window), soakSeconds) : duration;
const eventsPerSecond = values.rate ? Number(values.rate) : undefined;
const root = new URL('../', import.meta.url).pathname;
// Written when the twin exits: open them in Chrome DevTools or speedscope.
const profileArgs = values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [];

interface Window {
  second: number;
  requests_per_s: number;
  events_per_s: number;
  latency_p50_ms: number;
  latency_p99_ms: number;
  twin_rss_mib: number;
}

async function startTwin(dataDir: string): Promise<{ child: ChildProcess; api: string }> {
  const child = spawn(process.execPath, [...profileArgs, '--import', 'tsx', TWIN_ENTRY, '--port', '0', '--data-dir', dataDir], {
    cwd: root,
    env: { ...process.env, SNOWGATE_TWIN_QUIET: '1', NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const file = endpointsFile(dataDir);
  while (!existsSync(file)) {
    if (child.exitCode !== null) throw new Error('the twin exited before it was ready');
    await new Promise((r) => setTimeout(r, 100));
  }
  return { child, api: (JSON.parse(readFileSync(file, 'utf8')) as { api: string }).api };
}

type Route = 'events' | 'events-segment' | 'segment';
const ROUTES: Route[] = ['events', 'events-segment', 'segment'];

/** The path, the body of a request of `batch` events with these ids, and the status that acknowledges them. */
function requestOf(route: Route, batch: number, ids: string[]): { path: string; body: string; ok: number } {
  if (route === 'segment') {
    return { path: '/v1/batch', body: segmentBatch(ids), ok: 200 };
  }
  const records =
    route === 'events-segment'
      ? ids.map((id) => segmentMessage(id, true))
      : ids.map((id) => ({ id, type: 'page_view', user: { id: 42, plan: 'pro' }, path: '/pricing' }));
  return { path: '/events', body: JSON.stringify(batch === 1 ? records[0] : records), ok: 202 };
}

async function scenario(batch: number, connections: number, route: Route) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'snowgate-bench-'));
  const { child, api } = await startTwin(dataDir);

  const acked = new Set<string>();
  let next = 0;
  const statuses: Record<string, number> = {};
  const cpuBefore = cpuSeconds(child.pid!);
  const windows: Window[] = [];
  let errors = 0;
  let bytes = 0;
  let sent = 0;
  for (let second = 0; second < duration; second += windowSeconds) {
    const ackedBefore = acked.size;
    const result = await autocannon({
      url: api,
      connections,
      duration: Math.min(windowSeconds, duration - second),
      ...(eventsPerSecond ? { overallRate: Math.max(1, Math.round(eventsPerSecond / batch)) } : {}),
      requests: [
        {
          method: 'POST',
          path: requestOf(route, batch, []).path,
          headers: { 'content-type': 'application/json' },
          setupRequest: (request, context) => {
            const ids = Array.from({ length: batch }, () => `b${batch}-${next++}`);
            (context as Record<string, unknown>).ids = ids;
            const { body, path } = requestOf(route, batch, ids);
            bytes += Buffer.byteLength(body);
            sent++;
            return { ...request, path, body };
          },
          onResponse: (status, _body, context) => {
            statuses[status] = (statuses[status] ?? 0) + 1;
            if (status === requestOf(route, 1, []).ok) for (const id of (context as Record<string, unknown>).ids as string[]) acked.add(id);
          },
        },
      ],
    });
    errors += result.errors + result.timeouts;
    const seconds = Math.min(windowSeconds, duration - second);
    windows.push({
      second,
      requests_per_s: Math.round(result.requests.average),
      events_per_s: Math.round((acked.size - ackedBefore) / seconds),
      latency_p50_ms: result.latency.p50,
      latency_p99_ms: result.latency.p99,
      twin_rss_mib: rssMiB(child.pid!, 'VmRSS'),
    });
  }
  const cpu = cpuSeconds(child.pid!) - cpuBefore;
  const peakRss = rssMiB(child.pid!, 'VmHWM');

  // Drain: everything accepted is delivered and loaded before the twin exits.
  const drainStarted = Date.now();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
  const drainSeconds = (Date.now() - drainStarted) / 1000;

  const { instance, connection } = await openWarehouse(join(dataDir, 'warehouse.duckdb'), { readOnly: true });
  const counts = (await query(connection, `SELECT record->>'id' AS id, count(*) AS n FROM raw_events GROUP BY 1`)).rows;
  const latency = (
    await query(
      connection,
      `SELECT quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95, max(latency_ms) AS max FROM ingest_latency`,
    )
  ).rows[0]!;
  const files = (await query(connection, `SELECT count(*) AS files FROM copy_history WHERE status = 'LOADED'`)).rows[0]!;
  connection.closeSync();
  instance.closeSync();
  const loaded = new Map(counts.map((r) => [String(r.id), Number(r.n)]));
  const missing = [...acked].filter((id) => !loaded.has(id)).length;
  const duplicated = [...loaded.values()].filter((n) => n > 1).length;
  if (!values.keep) rmSync(dataDir, { recursive: true, force: true });

  const all = windows.reduce((sum, w) => sum + w.requests_per_s * Math.min(windowSeconds, duration - w.second), 0);
  return {
    summary: {
      route,
      batch,
      connections,
      duration_s: duration,
      target_events_per_s: eventsPerSecond ?? 'max',
      requests_per_s: Math.round(all / duration),
      request_bytes: sent > 0 ? Math.round(bytes / sent) : 0,
      events_per_s: Math.round(acked.size / duration),
      // Across windows, the worst one: a soak must not drift.
      latency_p50_ms: Math.max(...windows.map((w) => w.latency_p50_ms)),
      latency_p99_ms: Math.max(...windows.map((w) => w.latency_p99_ms)),
      statuses: JSON.stringify(statuses),
      errors,
      acked_events: acked.size,
      missing_in_table: missing,
      duplicated_in_table: duplicated,
      post_to_queryable_p50_ms: Math.round(Number(latency.p50)),
      post_to_queryable_p95_ms: Math.round(Number(latency.p95)),
      landing_files: Number(files.files),
      twin_cpu_cores: Math.round((cpu / duration) * 100) / 100,
      twin_peak_rss_mib: peakRss,
      drain_s: drainSeconds,
    },
    windows,
  };
}

const routes = values.route.split(',') as Route[];
for (const r of routes) {
  if (!ROUTES.includes(r)) {
    console.error(`pnpm bench: --route ${r} is not one of ${ROUTES.join(', ')}`);
    process.exit(2);
  }
}
const results = [];
for (const connections of list(values.connections))
  for (const batch of list(values.batch)) for (const route of routes) results.push(await scenario(batch, connections, route));
mkdirSync(join(root, '.bench'), { recursive: true });
const machine = {
  cpus: os.cpus().length,
  model: os.cpus()[0]?.model,
  memory_gib: Math.round(os.totalmem() / 2 ** 30),
  node: process.version,
  date: new Date().toISOString(),
};
writeFileSync(join(root, soakSeconds ? '.bench/soak.json' : '.bench/twin.json'), JSON.stringify({ machine, results }, null, 2));
console.log(`machine: ${machine.cpus} × ${machine.model}, ${machine.memory_gib} GiB, Node ${machine.node}`);
console.table(results.map((r) => r.summary));
if (soakSeconds) {
  for (const r of results) {
    console.table(r.windows);
    const verdict = drift(r.windows);
    (r as Record<string, unknown>).drift = verdict;
    console.log(
      `soak: memory ${verdict.rss_mib_per_min >= 0 ? '+' : ''}${verdict.rss_mib_per_min} MiB/min after the first window (${verdict.memory}); ` +
        `HTTP p99 ${verdict.p99_first_third_ms} -> ${verdict.p99_last_third_ms} ms from the first to the last third (${verdict.latency})`,
    );
  }
  writeFileSync(join(root, '.bench/soak.json'), JSON.stringify({ machine, results }, null, 2));
}
const failures = results.filter((r) => r.summary.missing_in_table > 0 || r.summary.duplicated_in_table > 0);
if (failures.length > 0) {
  console.error('LOST OR DUPLICATED EVENTS: see missing_in_table / duplicated_in_table');
  process.exit(1);
}

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime + stime, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** VmRSS (now) or VmHWM (peak) of a process, in MiB. */
function rssMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith(field))!;
  return Math.round(Number(line.split(/\s+/)[1]) / 1024);
}

/**
 * Does a soak stay flat? Memory: the least-squares slope of RSS over the windows after the
 * first (warm-up), flat under 10 MiB/min. Latency: the median of the windows' p99 in the
 * last third against the first third, flat while it is under twice as much.
 */
function drift(windows: Window[]) {
  const warm = windows.slice(1);
  const n = warm.length;
  const meanX = warm.reduce((a, w) => a + w.second, 0) / n;
  const meanY = warm.reduce((a, w) => a + w.twin_rss_mib, 0) / n;
  const slopePerSecond =
    n < 2
      ? 0
      : warm.reduce((a, w) => a + (w.second - meanX) * (w.twin_rss_mib - meanY), 0) / warm.reduce((a, w) => a + (w.second - meanX) ** 2, 0);
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0;
  const third = Math.max(1, Math.floor(windows.length / 3));
  const first = median(windows.slice(0, third).map((w) => w.latency_p99_ms));
  const last = median(windows.slice(-third).map((w) => w.latency_p99_ms));
  const rssPerMin = Math.round(slopePerSecond * 60 * 10) / 10;
  return {
    rss_mib_per_min: rssPerMin,
    memory: Math.abs(rssPerMin) < 10 ? 'flat' : 'growing',
    p99_first_third_ms: first,
    p99_last_third_ms: last,
    latency: last <= 2 * first ? 'flat' : 'growing',
  };
}
