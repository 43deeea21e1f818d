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
 *   pnpm bench --batch 1 --route events,browser    # analytics.js's single text/plain messages beside /events
 *   pnpm bench --baseline /tmp/base              # each scenario also on another checkout (installed), side by side
 *   pnpm bench --kinesis-failure-rate 0.05 --s3-failure-rate 0.05   # under the twin's injected faults
 *   pnpm bench --delivery files,streaming        # POST → queryable, timed per event, each delivery mode side by side
 *
 * One scenario per (batch, connections) pair, each on a fresh twin and data dir.
 * Results print as a table and are written to .bench/twin.json.
 */
import autocannon from 'autocannon';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { parseCommandLine } from '../cli/args';
import { TWIN_ENTRY } from '../cli/twin-process';
import { openWarehouse, query } from '@snowgate/twin';
import { endpointsFile } from '@snowgate/config';
import { segmentBatch, segmentMessage } from './support/segment-messages';
import { type DeliveryMode, type FreshnessResult, freshness } from './support/freshness';
import { machineInfo } from './support/machine';

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
                        browser         each message alone, as analytics.js sends it from a page: POST /v1/t,
                                        text/plain, its writeKey in it (use with --batch 1)
  --baseline DIR      also run each scenario on the checkout in DIR (installed), just before this one
  --rounds N          run every scenario N times, interleaved (default 1); the comparison uses the medians
  --kinesis-failure-rate R   share of PutRecords entries the twin throttles (default 0)
  --s3-failure-rate R        share of S3 writes the twin fails with 503 (default 0)
  --delivery LIST     instead of the load scenarios: POST → queryable timed per event (one event a request, at
                      --fresh-rate requests/s, until a query of raw_events returns it), for each delivery mode
                      in LIST (files, streaming), one twin each, side by side
  --fresh-events N    events timed per delivery mode (default 1200)
  --fresh-rate N      requests/s while timing (default 100)
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
    baseline: { type: 'string' },
    rounds: { type: 'string', default: '1' },
    'kinesis-failure-rate': { type: 'string', default: '0' },
    's3-failure-rate': { type: 'string', default: '0' },
    delivery: { type: 'string' },
    'fresh-events': { type: 'string', default: '1200' },
    'fresh-rate': { type: 'string', default: '100' },
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

const faultArgs = ['--kinesis-failure-rate', values['kinesis-failure-rate'], '--s3-failure-rate', values['s3-failure-rate']];

/** The code under test: this checkout, or (`--baseline`) another one, with its own dependencies. */
interface Code {
  name: string;
  dir: string;
}
const here: Code = { name: 'this', dir: root };
const codes: Code[] = values.baseline ? [{ name: 'baseline', dir: resolve(values.baseline) }, here] : [here];

async function startTwin(dataDir: string, code: Code): Promise<{ child: ChildProcess; api: string }> {
  const entry = code === here ? TWIN_ENTRY : join(code.dir, 'cli/start.ts');
  const child = spawn(process.execPath, [...profileArgs, '--import', 'tsx', entry, '--port', '0', '--data-dir', dataDir, ...faultArgs], {
    cwd: code.dir,
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

type Route = 'events' | 'events-segment' | 'segment' | 'browser';
const ROUTES: Route[] = ['events', 'events-segment', 'segment', 'browser'];

/** The path, the body of a request of `batch` events with these ids, its media type, and the status that acknowledges them. */
function requestOf(route: Route, batch: number, ids: string[]): { path: string; body: string; ok: number; contentType?: string } {
  if (route === 'segment') {
    return { path: '/v1/batch', body: segmentBatch(ids), ok: 200 };
  }
  if (route === 'browser') {
    // One message per request, whatever --batch says: analytics.js's standard mode.
    const body = JSON.stringify({ ...segmentMessage(ids[0] ?? 'x', false), writeKey: 'any-key' });
    return { path: '/v1/t', body, ok: 200, contentType: 'text/plain' };
  }
  const records =
    route === 'events-segment'
      ? ids.map((id) => segmentMessage(id, true))
      : ids.map((id) => ({ id, type: 'page_view', user: { id: 42, plan: 'pro' }, path: '/pricing' }));
  return { path: '/events', body: JSON.stringify(batch === 1 ? records[0] : records), ok: 202 };
}

async function scenario(batch: number, connections: number, route: Route, code: Code) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'snowgate-bench-'));
  const { child, api } = await startTwin(dataDir, code);

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
          headers: { 'content-type': requestOf(route, 1, []).contentType ?? 'application/json' },
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
      code: code.name,
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
      // Events per CPU second the twin got: steadier than events/s on a machine shared with other work.
      events_per_twin_cpu_s: Math.round(acked.size / Math.max(cpu, 0.01)),
      twin_peak_rss_mib: peakRss,
      drain_s: drainSeconds,
    },
    windows,
  };
}

if (values.delivery) {
  const modes = values.delivery.split(',');
  const bad = modes.find((m) => m !== 'files' && m !== 'streaming');
  if (bad !== undefined) {
    console.error(`pnpm bench: --delivery ${bad} is not files or streaming`);
    process.exit(2);
  }
  const rows: FreshnessResult[] = [];
  for (const mode of modes as DeliveryMode[]) {
    rows.push(
      await freshness(TWIN_ENTRY, root, mode, { events: Number(values['fresh-events']), rate: Number(values['fresh-rate']), faultArgs }),
    );
  }
  const machine = machineInfo();
  mkdirSync(join(root, '.bench'), { recursive: true });
  writeFileSync(join(root, '.bench/freshness.json'), JSON.stringify({ machine, results: rows }, null, 2));
  console.log(`machine: ${machine.cpus} × ${machine.model}, ${machine.memory_gib} GiB, Node ${machine.node}`);
  console.table(rows);
  process.exit(rows.some((r) => r.missing > 0 || r.duplicated > 0) ? 1 : 0);
}

const routes = values.route.split(',') as Route[];
for (const r of routes) {
  if (!ROUTES.includes(r)) {
    console.error(`pnpm bench: --route ${r} is not one of ${ROUTES.join(', ')}`);
    process.exit(2);
  }
}
const results: Awaited<ReturnType<typeof scenario>>[] = [];
// Rounds interleave the codes, so that a machine shared with other work weighs on both alike.
for (let round = 0; round < Number(values.rounds); round++)
  for (const connections of list(values.connections))
    for (const batch of list(values.batch))
      for (const route of routes) for (const code of codes) results.push(await scenario(batch, connections, route, code));
mkdirSync(join(root, '.bench'), { recursive: true });
const machine = machineInfo();
writeFileSync(join(root, soakSeconds ? '.bench/soak.json' : '.bench/twin.json'), JSON.stringify({ machine, results }, null, 2));
console.log(`machine: ${machine.cpus} × ${machine.model}, ${machine.memory_gib} GiB, Node ${machine.node}`);
console.table(results.map((r) => r.summary));
if (values.baseline) {
  // This checkout against the baseline, scenario by scenario: medians over the rounds.
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
  const ratio = (a: number, b: number) => Math.round((a / b) * 100) / 100;
  const of = (name: string, batch: number, connections: number, route: Route) =>
    results.map((r) => r.summary).filter((r) => r.code === name && r.batch === batch && r.connections === connections && r.route === route);
  const ratios = [];
  for (const connections of list(values.connections))
    for (const batch of list(values.batch))
      for (const route of routes) {
        const [base, mine] = [of('baseline', batch, connections, route), of('this', batch, connections, route)];
        const m = (rows: typeof base, key: 'events_per_s' | 'requests_per_s' | 'latency_p99_ms' | 'events_per_twin_cpu_s') =>
          median(rows.map((r) => r[key]));
        ratios.push({
          route,
          batch,
          connections,
          rounds: mine.length,
          events_per_s: `${m(mine, 'events_per_s')} vs ${m(base, 'events_per_s')} (${ratio(m(mine, 'events_per_s'), m(base, 'events_per_s'))}×)`,
          requests_per_s: `${m(mine, 'requests_per_s')} vs ${m(base, 'requests_per_s')} (${ratio(m(mine, 'requests_per_s'), m(base, 'requests_per_s'))}×)`,
          latency_p99_ms: `${m(mine, 'latency_p99_ms')} vs ${m(base, 'latency_p99_ms')}`,
          events_per_twin_cpu_s: `${m(mine, 'events_per_twin_cpu_s')} vs ${m(base, 'events_per_twin_cpu_s')} (${ratio(m(mine, 'events_per_twin_cpu_s'), m(base, 'events_per_twin_cpu_s'))}×)`,
        });
      }
  console.log('this checkout vs the baseline (medians):');
  console.table(ratios);
}
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
