/**
 * Backfill of landing files that Snowpipe never loaded: which files of a window
 * to load, and in what chunks. The same plan drives `pnpm snowflake:backfill`
 * on Snowflake (COPY INTO … FILES = (…)) and on the twin (its local Snowpipe).
 */

/**
 * `COPY INTO <table> … FILES = (…)` takes at most 1,000 names per statement.
 * https://docs.snowflake.com/en/sql-reference/sql/copy-into-table (FILES)
 */
export const COPY_FILES_MAX = 1_000;

/**
 * `ALTER PIPE … REFRESH` queues only files staged in the last 7 days; newer files are its job,
 * because it checks the pipe's own load history, which a backfill cannot see.
 * https://docs.snowflake.com/en/sql-reference/sql/alter-pipe
 */
export const PIPE_REFRESH_DAYS = 7;

/**
 * The pipe's load history (COPY_HISTORY) lasts 14 days: older loads are known only by their rows.
 * https://docs.snowflake.com/en/sql-reference/functions/copy_history
 */
export const LOAD_HISTORY_DAYS = 14;

const DAY_MS = 86_400_000;

/** A window of whole UTC days, both ends included. */
export interface BackfillWindow {
  from: string;
  to: string;
}

/**
 * Checks `--from` / `--to` (YYYY-MM-DD, UTC, both included) and lists the days between.
 *
 * @example
 * backfillDays({ from: '2026-11-30', to: '2026-12-01' }) // → ['2026/11/30', '2026/12/01']
 */
export function backfillDays(window: BackfillWindow): string[] {
  const parse = (text: string, name: string) => {
    const time = /^\d{4}-\d{2}-\d{2}$/.test(text) ? Date.parse(`${text}T00:00:00Z`) : Number.NaN;
    if (Number.isNaN(time) || new Date(time).toISOString().slice(0, 10) !== text)
      throw new Error(`--${name} must be a date (YYYY-MM-DD), not "${text}"`);
    return time;
  };
  const from = parse(window.from, 'from');
  const to = parse(window.to, 'to');
  if (to < from) throw new Error(`--to (${window.to}) is before --from (${window.from})`);
  const days: string[] = [];
  for (let t = from; t <= to; t += DAY_MS) days.push(new Date(t).toISOString().slice(0, 10).replaceAll('-', '/'));
  return days;
}

/**
 * When a landing file arrived, from the `YYYY/MM/DD/HH/` that Firehose puts under the prefix
 * (UTC): undefined for a key without one (not written by Firehose).
 *
 * @example
 * landedAt('2026/11/20/13/snowgate-1-…') // → 2026-11-20T13:00:00.000Z
 */
export function landedAt(path: string): Date | undefined {
  const m = /^(\d{4})\/(\d{2})\/(\d{2})\/(\d{2})\//.exec(path);
  if (!m) return undefined;
  const at = new Date(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:00:00Z`);
  return Number.isNaN(at.getTime()) ? undefined : at;
}

export interface BackfillPlan {
  /** Files in the window (paths relative to the landing prefix). */
  listed: number;
  /** Already loaded: rows in the table from them, or a load in the history. */
  alreadyLoaded: number;
  /** Tried and failed (ON_ERROR = SKIP_FILE): loading them again fails again; they are replay's job. */
  failedBefore: string[];
  /** Inside the REFRESH window (or the pipe is loading them now): ALTER PIPE … REFRESH loads them, checking the pipe's own history. */
  recent: string[];
  /** What the backfill loads, in chunks of at most COPY_FILES_MAX. */
  chunks: string[][];
}

/**
 * Which files of a window to load: those no load knows of, older than the REFRESH window.
 * Files are compared by their path relative to the landing prefix.
 *
 * @example
 * planBackfill({ files: ['2026/11/01/10/a', '2026/11/01/10/b'], loaded: new Set(['2026/11/01/10/a']), failed: new Set(), now })
 * // → { listed: 2, alreadyLoaded: 1, failedBefore: [], recent: [], chunks: [['2026/11/01/10/b']] }
 */
export function planBackfill(input: {
  files: string[];
  loaded: ReadonlySet<string>;
  failed: ReadonlySet<string>;
  /** Being loaded right now (COPY_HISTORY's LOAD_IN_PROGRESS): left to the pipe. */
  inProgress?: ReadonlySet<string>;
  now: Date;
  chunkSize?: number;
}): BackfillPlan {
  const { chunkSize = COPY_FILES_MAX } = input;
  if (!Number.isInteger(chunkSize) || chunkSize < 1 || chunkSize > COPY_FILES_MAX)
    throw new Error(`a chunk holds 1 to ${COPY_FILES_MAX} files (Snowflake's FILES limit), not ${chunkSize}`);
  const refreshFrom = input.now.getTime() - PIPE_REFRESH_DAYS * DAY_MS;
  const files = [...new Set(input.files)].sort();
  const plan: BackfillPlan = { listed: files.length, alreadyLoaded: 0, failedBefore: [], recent: [], chunks: [] };
  const load: string[] = [];
  for (const file of files) {
    if (input.loaded.has(file)) plan.alreadyLoaded++;
    else if (input.failed.has(file)) plan.failedBefore.push(file);
    // A file without a date path counts as recent: its age is unknown, so REFRESH (or a look by hand) decides.
    else if (input.inProgress?.has(file) || (landedAt(file)?.getTime() ?? Number.POSITIVE_INFINITY) >= refreshFrom) plan.recent.push(file);
    else load.push(file);
  }
  for (let i = 0; i < load.length; i += chunkSize) plan.chunks.push(load.slice(i, i + chunkSize));
  return plan;
}

/** The outcome of a backfill, printed by `pnpm snowflake:backfill` (`--json` prints this object). */
export interface BackfillReport extends Omit<BackfillPlan, 'chunks'> {
  target: 'snowflake' | 'twin';
  from: string;
  to: string;
  dryRun: boolean;
  /** Files the plan loads (all of them on a dry run). */
  toLoad: string[];
  chunks: number;
  loadedFiles: number;
  loadedRows: number;
  /** Files the load skipped (a bad line: ON_ERROR = SKIP_FILE), with the first error. */
  skipped: { file: string; error: string }[];
}

/**
 * A report of the plan before anything is loaded: what a dry run prints, and what a run fills in.
 *
 * @example
 * startBackfillReport('twin', { from: '2026-11-01', to: '2026-11-05' }, false, plan).loadedFiles // → 0
 */
export function startBackfillReport(
  target: BackfillReport['target'],
  window: { from: string; to: string },
  dryRun: boolean,
  plan: BackfillPlan,
): BackfillReport {
  const { chunks, ...counts } = plan;
  return {
    target,
    from: window.from,
    to: window.to,
    dryRun,
    ...counts,
    toLoad: chunks.flat(),
    chunks: chunks.length,
    loadedFiles: 0,
    loadedRows: 0,
    skipped: [],
  };
}

/**
 * The outcome in a few lines, for people (`--json` prints the report itself).
 *
 * @example
 * formatBackfillReport(report) // → 'snowflake, 2026-11-01 to 2026-11-05: 120 files listed, 118 already loaded, …'
 */
export function formatBackfillReport(r: BackfillReport): string {
  const lines = [
    `${r.target}, ${r.from} to ${r.to}: ${r.listed} files listed, ${r.alreadyLoaded} already loaded, ${r.toLoad.length} to load in ${r.chunks} COPY chunk(s)`,
    r.dryRun
      ? 'dry run: nothing loaded'
      : `loaded ${r.loadedFiles} files (${r.loadedRows} rows); ${r.skipped.length} skipped for a bad line (ON_ERROR = SKIP_FILE)`,
    ...r.skipped.map((s) => `  skipped ${s.file}: ${s.error}`),
  ];
  if (r.failedBefore.length)
    lines.push(
      `${r.failedBefore.length} failed before (a bad line) and are not tried again; see docs/TROUBLESHOOTING.md, When loads stop:`,
      ...r.failedBefore.map((f) => `  ${f}`),
    );
  if (r.recent.length)
    lines.push(
      `${r.recent.length} newer than ${PIPE_REFRESH_DAYS} days (or of unknown age, or loading now) are left to ALTER PIPE … REFRESH:`,
      ...r.recent.map((f) => `  ${f}`),
    );
  return lines.join('\n');
}
