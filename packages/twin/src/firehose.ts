import {
  GetRecordsCommand,
  type GetRecordsCommandOutput,
  GetShardIteratorCommand,
  ListShardsCommand,
  type KinesisClient,
  type _Record,
} from '@aws-sdk/client-kinesis';
import { DeleteObjectCommand, HeadObjectCommand, type HeadObjectCommandOutput, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { createHash, randomUUID } from 'node:crypto';
import { LANDING_EXTENSION, type LandingCompression } from '@snowgate/core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import { readJson, removeFile, writeJsonDurably } from './durable-file';

export interface FirehoseOptions {
  kinesis: KinesisClient;
  s3: S3Client;
  streamName: string;
  deliveryStreamName: string;
  bucket: string;
  /** Key prefix, e.g. `events/`; objects go under `<prefix>YYYY/MM/DD/HH/`. */
  prefix: string;
  bufferSizeBytes: number;
  bufferIntervalMs: number;
  /** GZIP (the default) writes `.gz` objects, as Firehose does with that compression format. */
  compression?: LandingCompression;
  stateDir: string;
  pollIntervalMs?: number;
  log?: (message: string, extra?: Record<string, unknown>) => void;
}

interface Buffered {
  shardId: string;
  sequenceNumber: string;
  data: Uint8Array;
  /** Envelopes it carries (lines of a packed record; 1 for a record of `single` packing). */
  events: number;
  /** When it was read: the buffer interval counts from the oldest record. */
  at: number;
}

/** Position of each shard: the last sequence number delivered to S3. */
type Checkpoints = Record<string, string>;

interface Pending {
  key: string;
  checkpoints: Checkpoints;
  /** The object's length and MD5 (its ETag for a single PUT): on restart, an object is delivered only if it is this one, whole. */
  bytes?: number;
  md5?: string;
}

/**
 * A Kinesis record holds one envelope (packing `single`) or several, one per line
 * (`packed`): events (envelopes, the landing files' lines, the table's rows) and
 * records (what Kinesis and Firehose count and bill) are counted apart.
 */
export interface FirehoseStats {
  /** Envelopes read from the stream that carry a replay marker: sent by `pnpm replay`, not through the API. */
  replayedEvents: number;
  deliveredFiles: number;
  /** Envelopes written to landing files (one line each). */
  deliveredEvents: number;
  /** Kinesis records they came in. */
  deliveredRecords: number;
  deliveredBytes: number;
  /** What the landing objects take in S3 (compressed, with GZIP). */
  storedBytes: number;
  failedWrites: number;
  bufferedEvents: number;
  bufferedRecords: number;
  bufferedBytes: number;
  oldestBufferedMs: number;
  shards: number;
}

/**
 * A local Firehose: reads every shard of the stream, buffers by size and time,
 * and writes one NDJSON object per flush under Firehose's naming scheme
 * (`<prefix>YYYY/MM/DD/HH/<name>-1-YYYY-MM-DD-HH-MM-SS-<uuid>`, `.gz` when gzip).
 *
 * Delivery is exactly once across restarts: before a PUT, the object's key, length,
 * MD5 and the positions it covers are written to `pending.json`; after the PUT, the
 * positions become the checkpoint. On restart a pending object that is in S3 whole
 * (same length and ETag) is committed; one that is not there is discarded, and its
 * records are read again. Anything else (an object of another length) is not ours
 * to load: it is deleted before Snowpipe sees it, and the records read again.
 */
export class LocalFirehose {
  private readonly checkpointFile: string;
  private readonly pendingFile: string;
  private checkpoints: Checkpoints = {};
  /** Shard → iterator; a closed shard (after a split or merge) is removed once drained. */
  private readonly iterators = new Map<string, string | undefined>();
  /** Shards read to their end after a reshard; recorded in the checkpoint with the next delivery. */
  private readonly closedShards = new Set<string>();
  private buffer: Buffered[] = [];
  private bufferBytes = 0;
  private running = false;
  private loop: Promise<void> | undefined;
  private lastShardRefresh = 0;
  private bufferEvents = 0;
  readonly stats: FirehoseStats = {
    replayedEvents: 0,
    deliveredFiles: 0,
    deliveredEvents: 0,
    deliveredRecords: 0,
    deliveredBytes: 0,
    storedBytes: 0,
    failedWrites: 0,
    bufferedEvents: 0,
    bufferedRecords: 0,
    bufferedBytes: 0,
    oldestBufferedMs: 0,
    shards: 0,
  };

  constructor(private readonly options: FirehoseOptions) {
    mkdirSync(options.stateDir, { recursive: true });
    this.checkpointFile = join(options.stateDir, 'checkpoints.json');
    this.pendingFile = join(options.stateDir, 'pending.json');
  }

  async start(): Promise<void> {
    this.checkpoints = readJson<Checkpoints>(this.checkpointFile) ?? {};
    await this.recoverPending();
    await this.refreshShards();
    this.running = true;
    this.loop = this.run();
  }

  /** Reads until every shard is caught up, delivers what is buffered, and stops. */
  async drain(): Promise<void> {
    this.running = false;
    await this.loop;
    for (let idle = 0; idle < 2; ) {
      if (this.lastShardRefresh === 0) await this.refreshShards();
      idle = (await this.pollAll()) === 0 && this.lastShardRefresh !== 0 ? idle + 1 : 0;
      while (this.bufferBytes >= this.options.bufferSizeBytes) await this.flush(); // a long backlog: not all in memory
    }
    while (this.buffer.length > 0) await this.flush();
  }

  private async recoverPending(): Promise<void> {
    const pending = readJson<Pending>(this.pendingFile);
    if (!pending) return;
    const { bucket, log } = this.options;
    let head: HeadObjectCommandOutput | undefined;
    try {
      head = await this.options.s3.send(new HeadObjectCommand({ Bucket: bucket, Key: pending.key }));
    } catch (error) {
      // Only a definite "not there" means not delivered (its records are read again); anything else must not guess.
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if ((error as Error).name !== 'NotFound' && status !== 404) throw error;
    }
    if (head && isWhole(head, pending)) {
      this.commit(pending.checkpoints);
      log?.('firehose: committed an object delivered before a restart', { key: pending.key });
    } else if (head) {
      // Existence is not completeness: an object cut short (a store that shows writes in progress) would load half
      // a batch, or fail whole, while its checkpoint said delivered. Its records are read again into a new object.
      await this.options.s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: pending.key }));
      log?.('firehose: deleted an incomplete object left by a crash; its records are delivered again', {
        key: pending.key,
        bytes: head.ContentLength,
        expectedBytes: pending.bytes,
      });
    }
    removeFile(this.pendingFile);
  }

  private commit(checkpoints: Checkpoints): void {
    this.checkpoints = { ...this.checkpoints, ...checkpoints };
    writeJsonDurably(this.checkpointFile, this.checkpoints);
  }

  private async refreshShards(): Promise<void> {
    const shards: { id: string; parents: string[] }[] = [];
    let token: string | undefined;
    do {
      const page = await this.options.kinesis.send(
        new ListShardsCommand(token ? { NextToken: token } : { StreamName: this.options.streamName }),
      );
      for (const shard of page.Shards ?? []) {
        shards.push({ id: shard.ShardId!, parents: [shard.ParentShardId, shard.AdjacentParentShardId].filter((p): p is string => !!p) });
      }
      token = page.NextToken;
    } while (token);
    const known = new Set(shards.map((s) => s.id));
    const finished = (id: string) => this.closedShards.has(id) || !!this.checkpoints[`${id}:closed`];
    for (const { id: shardId, parents } of shards) {
      if (this.iterators.has(shardId) || finished(shardId)) continue;
      // After a split or merge, read a child only once its parents are read to their end, so that
      // records with the same partition key stay in order (as Firehose and the KCL do).
      if (parents.some((p) => known.has(p) && !finished(p))) continue;
      await this.openIterator(shardId, this.checkpoints[shardId]);
    }
    this.stats.shards = this.iterators.size;
    this.lastShardRefresh = Date.now();
  }

  /** Reads a shard from just after `after`, or from its start. */
  private async openIterator(shardId: string, after: string | undefined): Promise<void> {
    const { ShardIterator } = await this.options.kinesis.send(
      new GetShardIteratorCommand({
        StreamName: this.options.streamName,
        ShardId: shardId,
        ...(after ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER', StartingSequenceNumber: after } : { ShardIteratorType: 'TRIM_HORIZON' }),
      }),
    );
    this.iterators.set(shardId, ShardIterator);
  }

  private async run(): Promise<void> {
    while (this.running) {
      try {
        if (Date.now() - this.lastShardRefresh > 10_000) await this.refreshShards();
        const started = Date.now();
        await this.pollAll();
        while (this.due()) await this.flush();
        // Kinesis allows 5 GetRecords calls per second per shard; polling faster only burns the CPU the API needs.
        await sleep(Math.max(0, (this.options.pollIntervalMs ?? 200) - (Date.now() - started)));
      } catch (error) {
        this.options.log?.('firehose: poll failed; retrying', { error: String(error) });
        await sleep(500);
      }
    }
  }

  /** One GetRecords per open shard; returns how many records arrived. */
  private async pollAll(): Promise<number> {
    // allSettled, not all: a failed shard must not leave another's call in flight while the next
    // poll reads that shard again with the same iterator (its records would be buffered twice).
    const settled = await Promise.allSettled(
      [...this.iterators.entries()].map(async ([shardId, iterator]) => {
        if (!iterator) return 0;
        let page: GetRecordsCommandOutput;
        try {
          page = await this.options.kinesis.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 10_000 }));
        } catch (error) {
          if ((error as Error).name !== 'ExpiredIteratorException') throw error;
          // Iterators last 5 minutes (a long S3 outage, a sleeping laptop): resume after what is buffered or delivered.
          await this.openIterator(shardId, this.lastBuffered(shardId) ?? this.checkpoints[shardId]);
          return 0;
        }
        for (const record of page.Records ?? []) this.add(shardId, record);
        if (page.NextShardIterator) {
          this.iterators.set(shardId, page.NextShardIterator);
        } else {
          // Closed by a reshard and read to its end: its children are picked up by refreshShards.
          this.iterators.delete(shardId);
          this.closedShards.add(shardId);
          this.lastShardRefresh = 0;
        }
        return page.Records?.length ?? 0;
      }),
    );
    const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return settled.reduce((sum, r) => sum + (r.status === 'fulfilled' ? r.value : 0), 0);
  }

  private lastBuffered(shardId: string): string | undefined {
    for (let i = this.buffer.length - 1; i >= 0; i--) if (this.buffer[i]!.shardId === shardId) return this.buffer[i]!.sequenceNumber;
    return undefined;
  }

  private add(shardId: string, record: _Record): void {
    const { events, replayed } = countEnvelopes(record.Data!);
    this.stats.replayedEvents += replayed;
    this.buffer.push({ shardId, sequenceNumber: record.SequenceNumber!, data: record.Data!, events, at: Date.now() });
    this.bufferBytes += record.Data!.byteLength + 1;
    this.bufferEvents += events;
  }

  private due(): boolean {
    return (
      this.buffer.length > 0 &&
      (this.bufferBytes >= this.options.bufferSizeBytes || Date.now() - this.buffer[0]!.at >= this.options.bufferIntervalMs)
    );
  }

  /**
   * Writes the oldest buffered records, up to the buffer size, as one object, retrying until S3 takes
   * it: Firehose never drops a record it has read. (One GetRecords can bring several MiB.)
   */
  private async flush(): Promise<void> {
    if (this.buffer.length === 0) return;
    let count = 0;
    let bytes = 0;
    let events = 0;
    while (count < this.buffer.length && (count === 0 || bytes + this.buffer[count]!.data.byteLength + 1 <= this.options.bufferSizeBytes)) {
      bytes += this.buffer[count]!.data.byteLength + 1;
      events += this.buffer[count]!.events;
      count++;
    }
    // Taken out of the buffer only once S3 has them: if writing pending.json throws, they are
    // still here for the next flush.
    const batch = this.buffer.slice(0, count);
    const positions: Checkpoints = {};
    for (const r of batch) positions[r.shardId] = r.sequenceNumber;
    // A shard read to its end is finished once none of its records wait in the buffer.
    const waiting = new Set(this.buffer.slice(count).map((r) => r.shardId));
    for (const shardId of this.closedShards) if (!waiting.has(shardId)) positions[`${shardId}:closed`] = 'true';
    const compression = this.options.compression ?? 'GZIP';
    const key = objectKey(this.options.prefix, this.options.deliveryStreamName, new Date()) + LANDING_EXTENSION[compression];
    // AppendDelimiterToRecord: a newline closes each Kinesis record, so a packed record's envelopes (joined by
    // newlines, none at the end) become lines of their own, as a single record's envelope does.
    const ndjson = Buffer.concat(batch.flatMap((r) => [r.data, NEWLINE]));
    const body = compression === 'GZIP' ? await gzipAsync(ndjson) : ndjson;
    const md5 = createHash('md5').update(body).digest('hex');
    writeJsonDurably(this.pendingFile, { key, checkpoints: positions, bytes: body.byteLength, md5 } satisfies Pending);
    for (let attempt = 0; ; attempt++) {
      try {
        await this.options.s3.send(
          // No Content-Encoding on a .gz object, as Firehose writes it: readers get the gzip bytes as stored.
          new PutObjectCommand({
            Bucket: this.options.bucket,
            Key: key,
            Body: body,
            ContentType: compression === 'GZIP' ? 'application/gzip' : 'application/x-ndjson',
          }),
        );
        break;
      } catch (error) {
        this.stats.failedWrites++;
        this.options.log?.('firehose: S3 write failed; retrying', { key, attempt, error: String(error) });
        await sleep(Math.min(5_000, 100 * 2 ** attempt));
      }
    }
    // Delivered: out of the buffer now, so that nothing below can make them delivered twice.
    this.buffer.splice(0, count);
    this.bufferBytes -= bytes;
    this.bufferEvents -= events;
    this.commit(positions);
    removeFile(this.pendingFile);
    this.stats.deliveredFiles++;
    this.stats.deliveredRecords += batch.length;
    this.stats.deliveredEvents += events;
    this.stats.deliveredBytes += bytes;
    this.stats.storedBytes += body.byteLength;
  }

  snapshot(): FirehoseStats {
    return {
      ...this.stats,
      bufferedEvents: this.bufferEvents,
      bufferedRecords: this.buffer.length,
      bufferedBytes: this.bufferBytes,
      oldestBufferedMs: this.buffer.length ? Date.now() - this.buffer[0]!.at : 0,
    };
  }
}

const gzipAsync = promisify(gzip);
const NEWLINE = Buffer.from('\n');
const NEWLINE_BYTE = 0x0a;
const RECORD_FIELD = Buffer.from(',"record":');
const REPLAY_FIELD = Buffer.from(',"replay":');

/**
 * How many envelopes a Kinesis record carries (its lines: several when packed),
 * and how many of them carry a replay marker. Only an envelope's head is looked
 * at, the fields before `"record"`, where replay puts its marker: the payload
 * may hold any text, `"replay":` included.
 *
 * @example
 * countEnvelopes(Buffer.from('{"received_at":"…","request_id":"r","replay":{"run":"x","object":"k","index":0},"record":{"id":1}}\n{"received_at":"…","request_id":"r","record":{"id":2}}'))
 * // → { events: 2, replayed: 1 }
 */
export function countEnvelopes(data: Uint8Array): { events: number; replayed: number } {
  const bytes = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  // Most records hold no replay marker anywhere: then only the newlines are counted.
  const mayBeReplayed = bytes.includes(REPLAY_FIELD);
  let events = 0;
  let replayed = 0;
  for (let start = 0; start <= bytes.length; ) {
    const end = bytes.indexOf(NEWLINE_BYTE, start);
    events++;
    if (mayBeReplayed) {
      const line = bytes.subarray(start, end === -1 ? bytes.length : end);
      const head = line.indexOf(RECORD_FIELD);
      if (head !== -1 && line.subarray(0, head).includes(REPLAY_FIELD)) replayed++;
    }
    if (end === -1) break;
    start = end + 1;
  }
  return { events, replayed };
}

/** The pending object, whole: its length and, for a plain PUT's ETag (an MD5), its checksum. Pending files of older twins carry neither. */
function isWhole(head: HeadObjectCommandOutput, pending: Pending): boolean {
  if (pending.bytes !== undefined && head.ContentLength !== pending.bytes) return false;
  const etag = head.ETag?.replaceAll('"', '');
  return pending.md5 === undefined || etag === undefined || !/^[0-9a-f]{32}$/.test(etag) || etag === pending.md5;
}

function sleep(ms: number) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Firehose's default object name under a custom prefix. */
export function objectKey(prefix: string, name: string, at: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const [y, m, d, h, mi, s] = [
    at.getUTCFullYear(),
    p(at.getUTCMonth() + 1),
    p(at.getUTCDate()),
    p(at.getUTCHours()),
    p(at.getUTCMinutes()),
    p(at.getUTCSeconds()),
  ];
  return `${prefix}${y}/${m}/${d}/${h}/${name}-1-${y}-${m}-${d}-${h}-${mi}-${s}-${randomUUID()}`;
}
