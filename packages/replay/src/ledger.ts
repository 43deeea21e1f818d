import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { hostname } from 'node:os';
import { z } from 'zod';

/**
 * What replay remembers, in the error bucket beside the quarantine (under its
 * own prefix, `replays/`, which the ingest Lambda cannot write): per quarantine
 * object, the indices Kinesis has acknowledged, and the chunk in flight when a
 * run stopped; and one lock, so that two runs never send the same object.
 * Nothing of the quarantine itself is ever changed or deleted.
 */
export const LEDGER_PREFIX = 'replays/';
export const LOCK_KEY = `${LEDGER_PREFIX}lock.json`;

export const ledgerEntrySchema = z.object({
  schema: z.literal('snowgate.replay-ledger/v1'),
  object: z.string(),
  /** Indices of the object's records that Kinesis acknowledged, by any run: never sent again. */
  sent: z.array(z.number().int().nonnegative()),
  /**
   * A chunk written to the ledger before PutRecords and cleared once it is
   * acknowledged. Still here means the run stopped in between: which of these
   * Kinesis holds is found on the stream by their replay markers.
   */
  inflight: z.object({ run: z.string(), since: z.iso.datetime(), indices: z.array(z.number().int().nonnegative()) }).nullable(),
  runs: z.array(z.object({ run: z.string(), at: z.iso.datetime(), sent: z.number().int().nonnegative(), fix: z.string().nullable() })),
});
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;

export function ledgerKey(objectKey: string): string {
  return `${LEDGER_PREFIX}objects/${objectKey}`;
}

export function emptyLedger(objectKey: string): LedgerEntry {
  return { schema: 'snowgate.replay-ledger/v1', object: objectKey, sent: [], inflight: null, runs: [] };
}

export async function readLedger(s3: S3Client, bucket: string, objectKey: string): Promise<LedgerEntry> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: ledgerKey(objectKey) }));
    return ledgerEntrySchema.parse(JSON.parse(await out.Body!.transformToString()));
  } catch (error) {
    if ((error as Error).name === 'NoSuchKey') return emptyLedger(objectKey);
    throw error;
  }
}

export async function writeLedger(s3: S3Client, bucket: string, entry: LedgerEntry): Promise<void> {
  await s3.send(
    new PutObjectCommand({ Bucket: bucket, Key: ledgerKey(entry.object), Body: JSON.stringify(entry), ContentType: 'application/json' }),
  );
}

export class ReplayLockedError extends Error {
  override readonly name = 'ReplayLockedError';
}

/**
 * Takes the stage's replay lock with a conditional write (`If-None-Match: *`):
 * S3 lets exactly one writer create the key. A run that died leaves it behind;
 * `breakLock` removes it first, which the operator does once sure that run is gone.
 */
export async function acquireLock(s3: S3Client, bucket: string, run: string, breakLock = false): Promise<() => Promise<void>> {
  if (breakLock) await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: LOCK_KEY }));
  const holder = { run, host: hostname(), pid: process.pid, started_at: new Date().toISOString() };
  try {
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: LOCK_KEY,
        Body: JSON.stringify(holder),
        ContentType: 'application/json',
        IfNoneMatch: '*',
      }),
    );
  } catch (error) {
    if (
      (error as Error).name !== 'PreconditionFailed' &&
      (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode !== 412
    )
      throw error;
    let current = 'another run';
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: LOCK_KEY }));
      const h = JSON.parse(await out.Body!.transformToString()) as typeof holder;
      current = `run ${h.run} (pid ${h.pid} on ${h.host}, since ${h.started_at})`;
    } catch {
      // gone in between: the message stays general
    }
    throw new ReplayLockedError(
      `another replay holds s3://${bucket}/${LOCK_KEY}: ${current}. If it is no longer running, run again with --break-lock`,
    );
  }
  // Released only while it is still ours: after a mistaken --break-lock, another run's lock stays.
  return async () => {
    try {
      const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: LOCK_KEY }));
      if ((JSON.parse(await out.Body!.transformToString()) as typeof holder).run !== run) return;
    } catch (error) {
      if ((error as Error).name === 'NoSuchKey') return;
      throw error;
    }
    await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: LOCK_KEY }));
  };
}
