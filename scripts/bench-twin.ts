/**
 * Load benchmark of the local twin (issue 4): a real HTTP load generator
 * (autocannon) against `pnpm start` running as its own process, then a check
 * that every acknowledged event is in raw_events exactly once.
 *
 *   pnpm bench                          # single events, then batches of 100; 20 s each
 *   pnpm bench --duration 60            # the 60 s runs
 *   pnpm bench --batch 1 --connections 32 --duration 10
 *   pnpm bench --batch 100 --profile .bench/profiles   # V8 CPU profiles of the twin's threads
 *
 * Results print as a table and are written to .bench/twin.json.
 */
import autocannon from 'autocannon';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openWarehouse, query } from '@snowgate/twin';

const { values } = parseArgs({
  options: {
    duration: { type: 'string', default: '20' },
    connections: { type: 'string', default: '64' },
    batch: { type: 'string' },
    keep: { type: 'boolean', default: false },
    profile: { type: 'string' },
  },
});
const duration = Number(values.duration);
const connections = Number(values.connections);
const batches = values.batch ? [Number(values.batch)] : [1, 100];
const root = new URL('../', import.meta.url).pathname;
// Written when the twin exits: open them in Chrome DevTools or speedscope.
const profileArgs = values.profile ? ['--cpu-prof', '--cpu-prof-dir', values.profile] : [];

function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  // utime + stime, in clock ticks (100 per second on Linux).
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
function peakRssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM'))!;
  return Math.round(Number(line.split(/\s+/)[1]) / 1024);
}

async function scenario(batch: number) {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'snowgate-bench-'));
  const child = spawn(process.execPath, [...profileArgs, '--import', 'tsx', join(root, 'packages/twin/src/main.ts'), '--port', '0', '--data-dir', dataDir], {
    cwd: root,
    env: { ...process.env, SNOWGATE_TWIN_QUIET: '1', NODE_NO_WARNINGS: '1' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const file = join(dataDir, 'endpoints.json');
  while (!existsSync(file)) await new Promise((r) => setTimeout(r, 100));
  const { api } = JSON.parse(readFileSync(file, 'utf8')) as { api: string };

  const acked = new Set<string>();
  let next = 0;
  const statuses: Record<string, number> = {};
  const cpuBefore = cpuSeconds(child.pid!);
  const result = await autocannon({
    url: api,
    connections,
    duration,
    requests: [
      {
        method: 'POST',
        path: '/events',
        headers: { 'content-type': 'application/json' },
        setupRequest: (request, context) => {
          const ids = Array.from({ length: batch }, () => `b${batch}-${next++}`);
          (context as Record<string, unknown>).ids = ids;
          const records = ids.map((id) => ({ id, type: 'page_view', user: { id: 42, plan: 'pro' }, path: '/pricing' }));
          return { ...request, body: JSON.stringify(batch === 1 ? records[0] : records) };
        },
        onResponse: (status, _body, context) => {
          statuses[status] = (statuses[status] ?? 0) + 1;
          if (status === 202) for (const id of (context as Record<string, unknown>).ids as string[]) acked.add(id);
        },
      },
    ],
  });
  const cpu = cpuSeconds(child.pid!) - cpuBefore;
  const rss = peakRssMiB(child.pid!);

  // Drain: everything accepted is delivered and loaded before the twin exits.
  const drainStarted = Date.now();
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGINT');
  await exited;
  const drainSeconds = (Date.now() - drainStarted) / 1000;

  const { instance, connection } = await openWarehouse(join(dataDir, 'warehouse.duckdb'), { readOnly: true });
  const counts = (await query(connection, `SELECT record->>'id' AS id, count(*) AS n FROM raw_events GROUP BY 1`)).rows;
  const latency = (await query(connection, `SELECT quantile_cont(latency_ms, 0.5) AS p50, quantile_cont(latency_ms, 0.95) AS p95, max(latency_ms) AS max FROM ingest_latency`)).rows[0]!;
  const files = (await query(connection, `SELECT count(*) AS files FROM copy_history WHERE status = 'LOADED'`)).rows[0]!;
  connection.closeSync();
  instance.closeSync();
  const loaded = new Map(counts.map((r) => [String(r.id), Number(r.n)]));
  const missing = [...acked].filter((id) => !loaded.has(id)).length;
  const duplicated = [...loaded.values()].filter((n) => n > 1).length;
  if (!values.keep) rmSync(dataDir, { recursive: true, force: true });

  return {
    batch,
    connections,
    duration_s: duration,
    requests_per_s: Math.round(result.requests.average),
    events_per_s: Math.round((acked.size / duration) * 10) / 10,
    latency_p50_ms: result.latency.p50,
    latency_p99_ms: result.latency.p99,
    statuses: JSON.stringify(statuses),
    errors: result.errors + result.timeouts,
    acked_events: acked.size,
    missing_in_table: missing,
    duplicated_in_table: duplicated,
    post_to_queryable_p50_ms: Math.round(Number(latency.p50)),
    post_to_queryable_p95_ms: Math.round(Number(latency.p95)),
    landing_files: Number(files.files),
    twin_cpu_cores: Math.round((cpu / duration) * 100) / 100,
    twin_peak_rss_mib: rss,
    drain_s: drainSeconds,
  };
}

const results = [];
for (const batch of batches) results.push(await scenario(batch));
mkdirSync(join(root, '.bench'), { recursive: true });
const machine = { cpus: os.cpus().length, model: os.cpus()[0]?.model, memory_gib: Math.round(os.totalmem() / 2 ** 30), node: process.version, date: new Date().toISOString() };
writeFileSync(join(root, '.bench/twin.json'), JSON.stringify({ machine, results }, null, 2));
console.log(`machine: ${machine.cpus} × ${machine.model}, ${machine.memory_gib} GiB, Node ${machine.node}`);
for (const r of results) console.log(r);
const failures = results.filter((r) => r.missing_in_table > 0 || r.duplicated_in_table > 0);
if (failures.length > 0) {
  console.error('LOST OR DUPLICATED EVENTS: see missing_in_table / duplicated_in_table');
  process.exit(1);
}
