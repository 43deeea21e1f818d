import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import {
  assessReplay,
  chunkForPutRecords,
  replayCandidates,
  type Contracts,
  type QuarantineObject,
  type ReplayCandidate,
  type ReplayRejection,
} from '@snowgate/core';
import type { IngestSettings } from '@snowgate/config';
import { createKinesisWriter } from '@snowgate/functions/kinesis-writer';
import { randomUUID } from 'node:crypto';
import { FixModuleError, type FixFunction } from './fix';
import { acquireLock, readLedger, writeLedger, type LedgerEntry } from './ledger';
import { findOnStream } from './scan';
import { listQuarantine, type QuarantineFilter } from './source';

export interface ReplayOptions extends QuarantineFilter {
  /** False (the default) only reports what would be sent and what would still fail. */
  send: boolean;
  fix?: { fix: FixFunction; name: string } | undefined;
  /** Stop after this many quarantine objects. */
  limit?: number | undefined;
  /** Quarantine objects replayed at once (default 8). */
  concurrency?: number | undefined;
  breakLock?: boolean;
  /** Called as each object is done, for progress output. */
  onObject?: (report: ObjectReport) => void;
}

export interface ReplayDependencies {
  s3: S3Client;
  kinesis: KinesisClient;
  settings: Pick<IngestSettings, 'streamName' | 'errorBucket' | 'errorPrefix' | 'limits' | 'contracts' | 'packing'>;
  contracts: Contracts | undefined;
}

interface ObjectReportBase {
  key: string;
  receivedAt: string;
  requestId: string;
  reasons: string[];
  /** Selected records of this object that an earlier run already delivered: not sent again. */
  alreadySent: number;
  /** Found on the stream after an interrupted run, now recorded as sent. */
  recovered: number;
  /** Still refused, with today's reason. */
  failing: ReplayRejection[];
  /** Indices of the records the fix left out (it returned null): neither sent nor failing. */
  dropped: number[];
}

/** One quarantine object in a run with `send`. */
export interface SentObjectReport extends ObjectReportBase {
  /** Put on the stream (acknowledged by Kinesis) by this run. */
  sent: number;
}

/** One quarantine object in a dry run. */
export interface DryRunObjectReport extends ObjectReportBase {
  /** What a run with `send` would put on the stream now. */
  wouldSend: number;
}

export type ObjectReport = SentObjectReport | DryRunObjectReport;

interface Totals {
  objects: number;
  alreadySent: number;
  recovered: number;
  failing: number;
  dropped: number;
}

export interface SendReport {
  run: string;
  dryRun: false;
  objects: SentObjectReport[];
  totals: Totals & { sent: number };
}

/** A dry run's report: nothing was sent, so it counts what would be (`wouldSend`), never `sent`. */
export interface DryRunReport {
  run: string;
  dryRun: true;
  objects: DryRunObjectReport[];
  totals: Totals & { wouldSend: number };
}

export type ReplayReport = SendReport | DryRunReport;

/** Records this object report sends, or in a dry run would send. */
export const sendCount = (o: ObjectReport): number => ('sent' in o ? o.sent : o.wouldSend);

const DEFAULT_CONCURRENCY = 8;

/** Kinesis gets longer than a request's budget: nobody is waiting on an HTTP answer. */
const WRITE_POLICY = { budgetMs: 30_000, baseDelayMs: 50, maxDelayMs: 2_000, retryAfterSeconds: 1 };

/**
 * Replays quarantined input: lists the objects in the range, recovers their
 * records, applies the fix, judges them with today's rules (limits, id,
 * contracts) and, when `send` is set, puts the accepted ones on the stream
 * with the handler's own writer. Exactly once from the quarantine's side: the
 * ledger records each acknowledged chunk, and a chunk left in flight by a
 * crash is looked up on the stream before anything is sent again. Into the
 * table it is at least once (a record can be in a landing file twice only if
 * the stream has it twice), and `raw_events_latest` dedupes by id.
 */
export async function replay(options: ReplayOptions & { send: true }, deps: ReplayDependencies): Promise<SendReport>;
export async function replay(options: ReplayOptions & { send: false }, deps: ReplayDependencies): Promise<DryRunReport>;
export async function replay(options: ReplayOptions, deps: ReplayDependencies): Promise<ReplayReport>;
export async function replay(options: ReplayOptions, deps: ReplayDependencies): Promise<ReplayReport> {
  const run = `replay-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
  const { s3, settings } = deps;
  const release = options.send ? await acquireLock(s3, settings.errorBucket, run, options.breakLock) : undefined;
  const objects: ObjectReport[] = [];
  const totals: Totals = { objects: 0, alreadySent: 0, recovered: 0, failing: 0, dropped: 0 };
  let count = 0;
  // Packed as the stage's handler packs: the same records on the stream, whichever way they came.
  const putRecords = createKinesisWriter(deps.kinesis, { streamName: settings.streamName, write: WRITE_POLICY, packing: settings.packing });
  const source = listQuarantine(s3, settings.errorBucket, settings.errorPrefix, options);
  let taken = 0;
  let failed: unknown;
  // Objects are independent (one ledger entry each, one lock for the run): a few at a time hide S3's latency.
  const worker = async () => {
    while (failed === undefined) {
      if (options.limit !== undefined && taken >= options.limit) return;
      const next = await source.next();
      if (next.done || (options.limit !== undefined && taken >= options.limit)) return;
      taken++;
      const entry = await replayObject(next.value.key, next.value.object, run, options, deps, putRecords);
      objects.push(entry);
      totals.objects++;
      count += sendCount(entry);
      totals.alreadySent += entry.alreadySent;
      totals.recovered += entry.recovered;
      totals.failing += entry.failing.length;
      totals.dropped += entry.dropped.length;
      options.onObject?.(entry);
    }
  };
  try {
    await Promise.all(
      Array.from({ length: options.concurrency ?? DEFAULT_CONCURRENCY }, () =>
        worker().catch((error: unknown) => {
          failed ??= error;
        }),
      ),
    );
    if (failed !== undefined) throw failed;
  } finally {
    await source.return(undefined);
    await release?.();
  }
  objects.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  const { objects: n, ...rest } = totals;
  return options.send
    ? { run, dryRun: false, objects: objects as SentObjectReport[], totals: { objects: n, sent: count, ...rest } }
    : { run, dryRun: true, objects: objects as DryRunObjectReport[], totals: { objects: n, wouldSend: count, ...rest } };
}

/** One quarantine object: resolve what an interrupted run left in flight, plan, and (when sending) send chunk by chunk. */
async function replayObject(
  key: string,
  object: QuarantineObject,
  run: string,
  options: ReplayOptions,
  { s3, kinesis, settings, contracts }: ReplayDependencies,
  putRecords: ReturnType<typeof createKinesisWriter>,
): Promise<ObjectReport> {
  const bucket = settings.errorBucket;
  const ledger = await readLedger(s3, bucket, key);
  let recoveredIndices: number[] = [];
  if (ledger.inflight && options.send) {
    const { run: previous, since, indices } = ledger.inflight;
    const found = await findOnStream(
      kinesis,
      settings.streamName,
      new Date(since),
      indices.map((index) => ({ run: previous, object: key, index })),
    );
    recoveredIndices = [...found];
    ledger.sent = union(ledger.sent, [...found]);
    ledger.inflight = null;
    await writeLedger(s3, bucket, ledger);
  }
  const sentBefore = new Set(ledger.sent);
  const justRecovered = new Set(recoveredIndices);
  // In a dry run an interrupted chunk is unknown: it is neither counted as sent nor as to send.
  const inDoubt = new Set(ledger.inflight?.indices ?? []);
  // Records, not objects, are selected by reason: the ledger keeps indices, so another reason's run later sends the others.
  const selected = replayCandidates(object).filter((c) => !options.reasons?.length || options.reasons.includes(c.reason));
  let alreadySent = 0;
  const failing: ReplayRejection[] = [];
  const dropped: number[] = [];
  const inputs: { index: number; text: string }[] = [];
  for (const candidate of selected) {
    if (sentBefore.has(candidate.index)) {
      if (!justRecovered.has(candidate.index)) alreadySent++;
      continue;
    }
    if (inDoubt.has(candidate.index)) continue;
    if (!options.fix) {
      if (candidate.raw === undefined) {
        // Unrecoverable input of a body refused whole is the body itself, not one of its records.
        const what = object.body ? 'the body' : `record ${candidate.index}`;
        failing.push({
          index: candidate.index,
          reason: candidate.reason,
          message: `${what} cannot be replayed: ${candidate.unrecoverable}`,
        });
      } else inputs.push({ index: candidate.index, text: candidate.raw });
      continue;
    }
    const text = await applyFix(options.fix, candidate, object, key);
    if (text === undefined) dropped.push(candidate.index);
    else inputs.push({ index: candidate.index, text });
  }
  const verdict = assessReplay(object, inputs, settings.limits, contracts, run, key);
  failing.push(...verdict.rejected);
  failing.sort((a, b) => a.index - b.index);

  let sent = 0;
  if (options.send) {
    const chunks = chunkForPutRecords(verdict.accepted);
    for (const [n, chunk] of chunks.entries()) {
      const indices = chunk.map((r) => r.index);
      // Written before the call: if the run stops before the next write, the next run knows what to look for on the stream.
      ledger.inflight = { run, since: new Date().toISOString(), indices };
      await writeLedger(s3, bucket, ledger);
      // Each pack is stored whole or not at all, so the recovery above finds a chunk's records pack by pack.
      await putRecords(chunk, Date.now() + WRITE_POLICY.budgetMs, `${object.request_id}/${run}/${n}`);
      ledger.sent = union(ledger.sent, indices);
      ledger.inflight = null;
      sent += chunk.length;
      if (n === chunks.length - 1) ledger.runs.push({ run, at: new Date().toISOString(), sent, fix: options.fix?.name ?? null });
      await writeLedger(s3, bucket, ledger);
    }
  } else {
    sent = verdict.accepted.length;
  }
  const counts = { alreadySent, recovered: recoveredIndices.length, ...(options.send ? { sent } : { wouldSend: sent }) };
  return {
    key,
    receivedAt: object.received_at,
    requestId: object.request_id,
    reasons: object.reasons,
    ...counts,
    failing,
    dropped,
  } as ObjectReport;
}

/** The fix's record as JSON text, or undefined when the fix leaves it out. A fix that throws stops the run: it is a bug, not a verdict. */
async function applyFix(
  fix: NonNullable<ReplayOptions['fix']>,
  candidate: ReplayCandidate,
  object: QuarantineObject,
  key: string,
): Promise<string | undefined> {
  let parsed: unknown;
  try {
    parsed = candidate.raw === undefined ? undefined : JSON.parse(candidate.raw);
  } catch {
    parsed = undefined;
  }
  let fixed: unknown;
  try {
    fixed = await fix.fix(parsed, {
      raw: candidate.raw,
      reason: candidate.reason,
      index: candidate.index,
      requestId: object.request_id,
      receivedAt: object.received_at,
      object: key,
    });
  } catch (error) {
    throw new FixModuleError(
      `fix ${fix.name} threw on record ${candidate.index} of ${key}: ${(error as Error).message}; nothing more is sent (what was sent is recorded)`,
      { cause: error },
    );
  }
  if (fixed === null || fixed === undefined) return undefined;
  let text: string | undefined;
  try {
    text = JSON.stringify(fixed);
  } catch (error) {
    throw new FixModuleError(
      `fix ${fix.name} returned something that is not JSON for record ${candidate.index} of ${key}: ${(error as Error).message}`,
    );
  }
  if (text === undefined)
    throw new FixModuleError(
      `fix ${fix.name} returned a ${typeof fixed} for record ${candidate.index} of ${key}: return a record (an object) or null`,
    );
  return text;
}

function union(a: readonly number[], b: readonly number[]): LedgerEntry['sent'] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}
