/**
 * POST → queryable, timed by the producer: each event's clock starts just before its POST and stops
 * when a query of raw_events (through the twin's `POST /query`, as `pnpm query` asks) first returns its
 * id. Events go one per request at a steady rate, so each is timed alone, not behind a load test's queue.
 * One twin per delivery mode, so that `files` and `streaming` are measured side by side in one run.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { endpointsFile } from '@snowgate/config';

export type DeliveryMode = 'files' | 'streaming';

export interface FreshnessResult {
  delivery: DeliveryMode;
  timed_events: number;
  requests_per_s: number;
  post_to_queryable_p50_ms: number;
  post_to_queryable_p95_ms: number;
  post_to_queryable_max_ms: number;
  missing: number;
  duplicated: number;
}

/** How often the bench asks the warehouse: a finer poll would time the poll, not the pipeline. */
const POLL_MS = 25;

export async function freshness(
  entry: string,
  root: string,
  delivery: DeliveryMode,
  { events, rate, faultArgs }: { events: number; rate: number; faultArgs: string[] },
): Promise<FreshnessResult> {
  const dataDir = mkdtempSync(join(os.tmpdir(), 'snowgate-bench-fresh-'));
  const config = `${dataDir}.json`;
  writeFileSync(config, JSON.stringify({ delivery: { mode: delivery } }));
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', entry, '--port', '0', '--data-dir', dataDir, '--config', config, ...faultArgs],
    {
      cwd: root,
      env: { ...process.env, SNOWGATE_TWIN_QUIET: '1', NODE_NO_WARNINGS: '1' },
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  try {
    const file = endpointsFile(dataDir);
    while (!existsSync(file)) {
      if (child.exitCode !== null) throw new Error('the twin exited before it was ready');
      await new Promise((r) => setTimeout(r, 100));
    }
    const { api } = JSON.parse(readFileSync(file, 'utf8')) as { api: string };
    const ask = async (sql: string) => {
      const response = await fetch(`${api}/query`, { method: 'POST', headers: { 'x-snowgate-query': '1' }, body: sql });
      if (!response.ok) throw new Error(`query: ${response.status} ${await response.text()}`);
      return ((await response.json()) as { rows: Record<string, unknown>[] }).rows;
    };

    const sentAt = new Map<string, number>();
    const latency = new Map<string, number>();
    let polling = true;
    let lastSent = Date.now();
    const poller = (async () => {
      while (polling || latency.size < sentAt.size) {
        const started = Date.now();
        for (const row of await ask(`SELECT record->>'id' AS id FROM raw_events WHERE record->>'id' LIKE 'fresh-%'`)) {
          const id = String(row.id);
          const at = sentAt.get(id);
          if (at !== undefined && !latency.has(id)) latency.set(id, started - at);
        }
        await new Promise((r) => setTimeout(r, Math.max(0, POLL_MS - (Date.now() - started))));
        if (!polling && Date.now() - lastSent > 60_000) break; // give up on what never came: counted as missing
      }
    })();
    const began = Date.now();
    for (let i = 0; i < events; i++) {
      // Steady: the i-th request leaves at i / rate seconds, whatever the previous answers took.
      const due = began + (i * 1_000) / rate;
      if (due > Date.now()) await new Promise((r) => setTimeout(r, due - Date.now()));
      const id = `fresh-${String(i).padStart(6, '0')}`;
      sentAt.set(id, Date.now());
      const response = await fetch(`${api}/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id, type: 'page_view', path: '/pricing' }),
      });
      if (response.status !== 202) sentAt.delete(id);
      await response.arrayBuffer();
      lastSent = Date.now();
    }
    const seconds = (Date.now() - began) / 1_000;
    polling = false;
    await poller;
    const [dup] = await ask(`SELECT count(*) - count(DISTINCT record->>'id') AS n FROM raw_events WHERE record->>'id' LIKE 'fresh-%'`);
    const times = [...latency.values()].sort((a, b) => a - b);
    const q = (p: number) => times[Math.min(times.length - 1, Math.ceil(p * times.length) - 1)] ?? Number.NaN;
    return {
      delivery,
      timed_events: times.length,
      requests_per_s: Math.round(sentAt.size / seconds),
      post_to_queryable_p50_ms: q(0.5),
      post_to_queryable_p95_ms: q(0.95),
      post_to_queryable_max_ms: times.at(-1) ?? Number.NaN,
      missing: sentAt.size - latency.size,
      duplicated: Number(dup?.n ?? 0),
    };
  } finally {
    if (child.exitCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGINT');
      await exited;
    }
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(config, { force: true });
  }
}
