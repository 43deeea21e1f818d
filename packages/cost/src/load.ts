import {
  API_HTTP_METERING_BYTES,
  FIREHOSE_ROUNDING_BYTES,
  KINESIS_ON_DEMAND_ROUNDING_BYTES,
  KINESIS_PUT_PAYLOAD_UNIT_BYTES,
  KINESIS_SHARD_WRITE_BYTES_PER_SECOND,
  KINESIS_SHARD_WRITE_RECORDS_PER_SECOND,
  LAMBDA_MB_PER_VCPU,
  MIB,
  SECONDS_PER_DAY,
} from './units';
import {
  ASSUMED_PARTITION_KEY_BYTES,
  ENVELOPE_OVERHEAD_BYTES,
  HANDLER_CPU_MS_PER_EVENT,
  HANDLER_CPU_MS_PER_REQUEST,
  PACKED_PARTITION_KEY_BYTES,
  type Packing,
} from './assumptions';

/** The load model's building blocks: request, record and file sizes and counts, each a small pure function. */
// ── Building blocks ─────────────────────────────────────────────────────────

/**
 * Rounds a size up to a whole number of billing units.
 *
 * @example
 * roundUpTo(3_000, 5 * 1_024) // → 5_120 (a 3 KB record is billed as 5 KB by Firehose)
 */
export function roundUpTo(bytes: number, unitBytes: number): number {
  return Math.max(1, Math.ceil(bytes / unitBytes)) * unitBytes;
}

/**
 * Size of a request body carrying `batch` events: the object itself, or a JSON array of them.
 *
 * @example
 * requestBodyBytes(100, 500) // → 50_101 (100 × 500 bytes, 99 commas, 2 brackets)
 */
export function requestBodyBytes(batch: number, eventBytes: number): number {
  return batch === 1 ? eventBytes : batch * eventBytes + (batch - 1) + 2;
}

/**
 * How many requests API Gateway bills for one HTTP API request (512 KB increments).
 *
 * @example
 * apiRequestUnits(524_289) // → 2
 */
export function apiRequestUnits(bodyBytes: number): number {
  return Math.max(1, Math.ceil(bodyBytes / API_HTTP_METERING_BYTES));
}

/**
 * Bytes of one Kinesis record as Kinesis counts it: the envelope plus the partition key.
 *
 * @example
 * kinesisRecordBytes(500) // → 620
 */
export function kinesisRecordBytes(eventBytes: number): number {
  return eventBytes + ENVELOPE_OVERHEAD_BYTES + ASSUMED_PARTITION_KEY_BYTES;
}

/**
 * Bytes of one record as Firehose receives it from the stream: the envelope (the data blob only).
 *
 * @example
 * firehoseRecordBytes(500) // → 584
 */
export function firehoseRecordBytes(eventBytes: number): number {
  return eventBytes + ENVELOPE_OVERHEAD_BYTES;
}

/**
 * Shards a provisioned stream needs for a write load: 1 MiB/s or 1,000 records/s each, whichever binds.
 *
 * @example
 * provisionedShardsNeeded(2_500, 620) // → 3 (records bind: 2,500 / 1,000; bytes would need 2)
 */
export function provisionedShardsNeeded(recordsPerSecond: number, recordBytes: number): number {
  const byBytes = Math.ceil((recordsPerSecond * recordBytes) / KINESIS_SHARD_WRITE_BYTES_PER_SECOND);
  const byRecords = Math.ceil(recordsPerSecond / KINESIS_SHARD_WRITE_RECORDS_PER_SECOND);
  return Math.max(1, byBytes, byRecords);
}

/** One kind of Kinesis record a request writes: `count` records of `envelopes` envelopes each. */
export interface RecordGroup {
  count: number;
  envelopes: number;
  /** The data blob: the envelopes joined by "\n" (Firehose appends the closing newline). */
  dataBytes: number;
  partitionKeyBytes: number;
}

/**
 * Envelopes of `envelopeBytes` that fit one packed record: n envelopes and
 * n − 1 newlines plus the packed partition key, at most `maxRecordBytes`. At
 * least 1: an envelope larger than that goes alone in its own record.
 *
 * @example
 * envelopesPerPackedRecord(1_084, 25_600) // → 23 (23 × 1,084 + 22 + 40 = 24,994 B)
 */
export function envelopesPerPackedRecord(envelopeBytes: number, maxRecordBytes: number): number {
  return Math.max(1, Math.floor((maxRecordBytes - PACKED_PARTITION_KEY_BYTES + 1) / (envelopeBytes + 1)));
}

/**
 * The largest event (as sent) that still shares a packed record with another:
 * two envelopes, a newline and the packed partition key within `maxRecordBytes`.
 * Larger events go one per record, packed or not.
 *
 * @example
 * largestSharedEventBytes(25_600) // → 12_695
 */
export function largestSharedEventBytes(maxRecordBytes: number): number {
  return Math.floor((maxRecordBytes - PACKED_PARTITION_KEY_BYTES - 1) / 2) - ENVELOPE_OVERHEAD_BYTES;
}

/**
 * The Kinesis records one request writes for `accepted` envelopes of equal
 * size. Packed, the handler fills records in order, so all are full but the
 * last. A record of one envelope is the record single mode writes (partition
 * key = the event's id): a single-event request cannot be packed.
 *
 * @example
 * requestRecords(100, 1_084, 'packed', 25_600) // → 4 records of 23 envelopes, 1 of 8
 * requestRecords(100, 1_084, 'single', 25_600) // → 100 records of 1
 */
export function requestRecords(accepted: number, envelopeBytes: number, packing: Packing, maxRecordBytes: number): RecordGroup[] {
  const perRecord = packing === 'packed' ? envelopesPerPackedRecord(envelopeBytes, maxRecordBytes) : 1;
  const group = (count: number, envelopes: number): RecordGroup => ({
    count,
    envelopes,
    dataBytes: envelopes * envelopeBytes + (envelopes - 1),
    partitionKeyBytes: envelopes === 1 ? ASSUMED_PARTITION_KEY_BYTES : PACKED_PARTITION_KEY_BYTES,
  });
  const full = Math.floor(accepted / perRecord);
  const rest = accepted % perRecord;
  return [...(full > 0 ? [group(full, perRecord)] : []), ...(rest > 0 ? [group(1, rest)] : [])];
}

/** What one request's records add up to, in each service's billing unit. */
export interface RecordTotals {
  records: number;
  /** Data plus partition keys, as Kinesis counts a record's size. */
  kinesisBytes: number;
  /** On-demand data in: each record rounded up to 1 KB. */
  kinesisOnDemandBilledBytes: number;
  /** Provisioned: 25 KB PUT payload units, per record. */
  putPayloadUnits: number;
  /** The data blobs, as Firehose receives them. */
  firehoseBytes: number;
  /** Firehose ingestion: each record rounded up to 5 KB. */
  firehoseBilledBytes: number;
  /** Landed NDJSON: each record and the newline Firehose appends. */
  landingBytes: number;
}

const NO_RECORDS: RecordTotals = {
  records: 0,
  kinesisBytes: 0,
  kinesisOnDemandBilledBytes: 0,
  putPayloadUnits: 0,
  firehoseBytes: 0,
  firehoseBilledBytes: 0,
  landingBytes: 0,
};

/**
 * Sums what each service bills for a request's records.
 *
 * @example
 * recordTotals(requestRecords(100, 1_084, 'packed', 25_600)).firehoseBilledBytes // → 112_640 (4 × 25,600 + 10,240)
 */
export function recordTotals(groups: readonly RecordGroup[]): RecordTotals {
  const totals = { ...NO_RECORDS };
  for (const g of groups) {
    const kinesis = g.dataBytes + g.partitionKeyBytes;
    totals.records += g.count;
    totals.kinesisBytes += g.count * kinesis;
    totals.kinesisOnDemandBilledBytes += g.count * roundUpTo(kinesis, KINESIS_ON_DEMAND_ROUNDING_BYTES);
    totals.putPayloadUnits += g.count * Math.ceil(kinesis / KINESIS_PUT_PAYLOAD_UNIT_BYTES);
    totals.firehoseBytes += g.count * g.dataBytes;
    totals.firehoseBilledBytes += g.count * roundUpTo(g.dataBytes, FIREHOSE_ROUNDING_BYTES);
    totals.landingBytes += g.count * (g.dataBytes + 1);
  }
  return totals;
}

/**
 * The records an average request writes: each of its `batch` events is
 * rejected independently with probability `rejectRate`, so the accepted count
 * is binomial, and the totals are its expectation (exact, over every count).
 *
 * @example
 * expectedRequestRecords({ batch: 100, rejectRate: 0, envelopeBytes: 1_084, packing: 'packed', maxRecordBytes: 25_600 }).records // → 5
 */
export function expectedRequestRecords(load: {
  batch: number;
  rejectRate: number;
  envelopeBytes: number;
  packing: Packing;
  maxRecordBytes: number;
}): RecordTotals {
  const { batch, rejectRate, envelopeBytes, packing, maxRecordBytes } = load;
  const totalsOf = (accepted: number) => recordTotals(requestRecords(accepted, envelopeBytes, packing, maxRecordBytes));
  if (rejectRate === 0) return totalsOf(batch);
  if (rejectRate === 1) return { ...NO_RECORDS };
  // P(accepted = a) = C(batch, a) · (1 − r)^a · r^(batch − a), in logarithms.
  const logFactorial = [0];
  for (let k = 1; k <= batch; k++) logFactorial.push(logFactorial[k - 1]! + Math.log(k));
  const expected = { ...NO_RECORDS };
  for (let a = 1; a <= batch; a++) {
    const p = Math.exp(
      logFactorial[batch]! - logFactorial[a]! - logFactorial[batch - a]! + a * Math.log1p(-rejectRate) + (batch - a) * Math.log(rejectRate),
    );
    if (p === 0) continue;
    const t = totalsOf(a);
    for (const key of Object.keys(expected) as (keyof RecordTotals)[]) expected[key] += p * t[key];
  }
  return expected;
}

/**
 * Seconds between Firehose deliveries: the buffer is flushed when it holds
 * `bufferMiB` or when `bufferSeconds` have passed, whichever comes first.
 *
 * @example
 * firehoseFlushSeconds(585_000, 1, 5) // → 1.79… (1 MiB fills before 5 s)
 */
export function firehoseFlushSeconds(bytesPerSecond: number, bufferMiB: number, bufferSeconds: number): number {
  if (bytesPerSecond <= 0) return bufferSeconds;
  return Math.min(bufferSeconds, (bufferMiB * MIB) / bytesPerSecond);
}

/**
 * Landing files a delivery stream writes per day. A flush window with no
 * record writes no file: with records arriving at random (Poisson) at
 * `recordsPerSecond`, a window of T seconds has data with probability
 * 1 − e^(−rate·T). So a busy stream on the default 5 s buffer writes
 * 86,400 / 5 = 17,280 files a day, and more once 1 MiB fills first.
 *
 * @example
 * landingFilesPerDay({ recordsPerSecond: 10, lineBytes: 585, bufferMiB: 1, bufferSeconds: 5 }) // → 17,280 (to 5 figures)
 * landingFilesPerDay({ recordsPerSecond: 1_000, lineBytes: 585, bufferMiB: 1, bufferSeconds: 5 }) // → 48,202 (1 MiB every 1.79 s)
 */
export function landingFilesPerDay(load: {
  recordsPerSecond: number;
  lineBytes: number;
  bufferMiB: number;
  bufferSeconds: number;
}): number {
  const interval = firehoseFlushSeconds(load.recordsPerSecond * load.lineBytes, load.bufferMiB, load.bufferSeconds);
  const windowHasData = -Math.expm1(-load.recordsPerSecond * interval);
  return (SECONDS_PER_DAY / interval) * windowHasData;
}

/**
 * Billed milliseconds of one invocation: waiting on the network plus the
 * handler's CPU time, scaled to the function's share of a vCPU, rounded up to
 * Lambda's 1 ms granularity.
 *
 * @example
 * lambdaBilledMs({ batch: 1, memoryMb: 1_024, networkMs: 20 })   // → 21
 * lambdaBilledMs({ batch: 100, memoryMb: 1_024, networkMs: 20 }) // → 22
 */
export function lambdaBilledMs({ batch, memoryMb, networkMs }: { batch: number; memoryMb: number; networkMs: number }): number {
  const cpuShare = Math.min(1, memoryMb / LAMBDA_MB_PER_VCPU);
  const cpuMs = (HANDLER_CPU_MS_PER_REQUEST + HANDLER_CPU_MS_PER_EVENT * batch) / cpuShare;
  return Math.ceil(networkMs + cpuMs);
}
