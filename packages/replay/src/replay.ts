import type { KinesisClient } from '@aws-sdk/client-kinesis';
import type { S3Client } from '@aws-sdk/client-s3';
import { assessReplay, chunkForPutRecords, replayCandidates, type Contracts, type IngestSettings, type ReplayRejection } from '@snowgate/core';
import { createKinesisWriter } from '@snowgate/functions/kinesis-writer';
import { randomUUID } from 'node:crypto';
import type { FixFunction } from './fix';
import { acquireLock, readLedger, writeLedger, type LedgerEntry } from './ledger';
import { findOnStream } from './scan';
import { listQuarantine, type QuarantineFilter } from './source';

export interface ReplayOptions extends QuarantineFilter {
  /** False (the default) only reports what would be sent and what would still fail. */
  send: boolean;
  fix?: { fix: FixFunction; name: string } | undefined;
  /** Stop after this many quarantine objects. */
  limit?: number | undefined;
  breakLock?: boolean;
  /** Called as each object is done, for progress output. */
  onObject?: (report: ObjectReport) => void;
}

export interface ReplayDependencies {
  s3: S3Client;
  kinesis: KinesisClient;
  settings: Pick<IngestSettings, 'streamName' | 'errorBucket' | 'errorPrefix' | 'limits' | 'contracts'>;
  contracts: Contracts | undefined;
}

export interface ObjectReport {
  key: string;
  receivedAt: string;
  requestId: string;
  reasons: string[];
  /** Records of this object that an earlier run already delivered: not sent again. */
  alreadySent: number;
  /** Found on the stream after an interrupted run, now recorded as sent. */
  recovered: number;
  /** Sent by this run (or, in a dry run, that would be). */
  sent: number;
  /** Still refused, with today's reason, or dropped by the fix. */
  failing: ReplayRejection[];
}

export interface ReplayReport {
  run: string;
  dryRun: boolean;
  objects: ObjectReport[];
  totals: { objects: number; sent: number; alreadySent: number; recovered: number; failing: number; dropped: number };
}

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
export async function replay(options: ReplayOptions, deps: ReplayDependencies): Promise<ReplayReport> {
  const run = `replay-${new Date().toISOString().replace(/[-:.]/g, '')}-${randomUUID().slice(0, 8)}`;
  const { s3, kinesis, settings, contracts } = deps;
  const bucket = settings.errorBucket;
  const putRecords = createKinesisWriter(kinesis, { streamName: settings.streamName, write: WRITE_POLICY });
  const release = options.send ? await acquireLock(s3, bucket, run, options.breakLock) : undefined;
  const report: ReplayReport = { run, dryRun: !options.send, objects: [], totals: { objects: 0, sent: 0, alreadySent: 0, recovered: 0, failing: 0, dropped: 0 } };
  try {
    for await (const { key, object } of listQuarantine(s3, bucket, settings.errorPrefix, options)) {
      if (options.limit !== undefined && report.objects.length >= options.limit) break;
      const ledger = await readLedger(s3, bucket, key);
      let recovered = 0;
      if (ledger.inflight && options.send) {
        const { run: previous, since, indices } = ledger.inflight;
        const found = await findOnStream(kinesis, settings.streamName, new Date(since), indices.map((index) => ({ run: previous, object: key, index })));
        recovered = found.size;
        ledger.sent = union(ledger.sent, [...found]);
        ledger.inflight = null;
        await writeLedger(s3, bucket, ledger);
      }
      const sentBefore = new Set(ledger.sent);
      // In a dry run an interrupted chunk is unknown: it is not counted as sent, nor as to send.
      const inDoubt = new Set(ledger.inflight?.indices ?? []);
      const failing: ReplayRejection[] = [];
      const inputs: { index: number; text: string }[] = [];
      for (const candidate of replayCandidates(object)) {
        if (sentBefore.has(candidate.index) || inDoubt.has(candidate.index)) continue;
        if (!options.fix) {
          if (candidate.raw === undefined) failing.push({ index: candidate.index, reason: candidate.reason, message: `record ${candidate.index} cannot be replayed: ${candidate.unrecoverable}` });
          else inputs.push({ index: candidate.index, text: candidate.raw });
          continue;
        }
        let parsed: unknown;
        try {
          parsed = candidate.raw === undefined ? undefined : JSON.parse(candidate.raw);
        } catch {
          parsed = undefined;
        }
        let fixed: unknown;
        try {
          fixed = await options.fix.fix(parsed, { raw: candidate.raw, reason: candidate.reason, index: candidate.index, requestId: object.request_id, receivedAt: object.received_at, object: key });
        } catch (error) {
          throw new Error(`fix ${options.fix.name} threw on record ${candidate.index} of ${key}: ${(error as Error).message}; nothing more is sent (what was sent is recorded)`, { cause: error });
        }
        if (fixed === null || fixed === undefined) {
          failing.push({ index: candidate.index, reason: 'fix_dropped', message: `record ${candidate.index} was left out by the fix` });
          continue;
        }
        let text: string | undefined;
        try {
          text = JSON.stringify(fixed);
        } catch (error) {
          throw new Error(`fix ${options.fix.name} returned something that is not JSON for record ${candidate.index} of ${key}: ${(error as Error).message}`);
        }
        if (text === undefined) throw new Error(`fix ${options.fix.name} returned ${typeof fixed} for record ${candidate.index} of ${key}: return a record (an object) or null`);
        inputs.push({ index: candidate.index, text });
      }
      const verdict = assessReplay(object, inputs, settings.limits, contracts, run, key);
      failing.push(...verdict.rejected);
      failing.sort((a, b) => a.index - b.index);

      let sent = 0;
      if (options.send && verdict.accepted.length > 0) {
        for (const chunk of chunkForPutRecords(verdict.accepted)) {
          const indices = chunk.map((r) => r.index);
          // Written before the call: if we stop before the next write, the next run knows what to look for.
          ledger.inflight = { run, since: new Date().toISOString(), indices };
          await writeLedger(s3, bucket, ledger);
          await putRecords(chunk, Date.now() + WRITE_POLICY.budgetMs);
          ledger.sent = union(ledger.sent, indices);
          ledger.inflight = null;
          sent += chunk.length;
          await writeLedger(s3, bucket, ledger);
        }
        ledger.runs.push({ run, at: new Date().toISOString(), sent, fix: options.fix?.name ?? null });
        await writeLedger(s3, bucket, ledger);
      } else {
        sent = verdict.accepted.length;
      }

      const entry: ObjectReport = {
        key,
        receivedAt: object.received_at,
        requestId: object.request_id,
        reasons: object.reasons,
        alreadySent: sentBefore.size - recovered,
        recovered,
        sent,
        failing,
      };
      report.objects.push(entry);
      report.totals.objects++;
      report.totals.sent += sent;
      report.totals.alreadySent += entry.alreadySent;
      report.totals.recovered += recovered;
      report.totals.failing += failing.filter((f) => f.reason !== 'fix_dropped').length;
      report.totals.dropped += failing.filter((f) => f.reason === 'fix_dropped').length;
      options.onObject?.(entry);
    }
  } finally {
    await release?.();
  }
  return report;
}

function union(a: readonly number[], b: readonly number[]): LedgerEntry['sent'] {
  return [...new Set([...a, ...b])].sort((x, y) => x - y);
}
