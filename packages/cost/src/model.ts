import {
  API_HTTP_REQUESTS_FIRST_300M,
  API_HTTP_REQUESTS_OVER_300M,
  CLOUDWATCH_ALARM_METRIC_MONTH,
  CLOUDWATCH_DASHBOARD_MONTH,
  CLOUDWATCH_LOGS_INGEST_GB,
  FIREHOSE_INGEST_GB,
  KINESIS_EXTENDED_RETENTION_SHARD_HOUR,
  KINESIS_LONG_TERM_RETENTION_GB_MONTH,
  KINESIS_ON_DEMAND_DATA_IN_GB,
  KINESIS_ON_DEMAND_DATA_OUT_GB,
  KINESIS_ON_DEMAND_EXTENDED_RETENTION_GB_MONTH,
  KINESIS_ON_DEMAND_STREAM_HOUR,
  KINESIS_PUT_PAYLOAD_UNITS,
  KINESIS_SHARD_HOUR,
  LAMBDA_ARM_GB_SECOND,
  LAMBDA_REQUESTS,
  type ListPrice,
  S3_GET_REQUESTS,
  S3_PUT_REQUESTS,
  S3_STANDARD_GB_MONTH,
  SNOWPIPE_CREDITS_PER_GB,
  SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES,
  SNOWPIPE_STREAMING_CREDITS_PER_GB,
} from './prices';
import {
  API_HTTP_FIRST_TIER_REQUESTS,
  DAYS_PER_MONTH,
  GIB,
  HOURS_PER_MONTH,
  KINESIS_EXTENDED_RETENTION_MAX_HOURS,
  KINESIS_INCLUDED_RETENTION_HOURS,
  KINESIS_ON_DEMAND_INITIAL_WRITE,
  LAMBDA_DEFAULT_CONCURRENCY,
  SECONDS_PER_DAY,
  KINESIS_ON_DEMAND_INITIAL_SHARDS,
  LAMBDA_KINESIS_POLL_SECONDS,
  SECONDS_PER_MONTH,
  stageAlarms,
} from './units';
import {
  CONSUMER_LOG_BYTES_PER_INVOCATION,
  DEFAULT_MAX_PACKED_RECORD_BYTES,
  LANDING_GZIP_STORED_SHARE,
  QUARANTINE_BYTES_PER_REJECTED_RECORD,
  QUARANTINE_OBJECT_OVERHEAD_BYTES,
  STREAMED_ROW_EXTRA_BYTES,
} from './assumptions';
import { type CostInput, type CostInputRaw, parseCostInput, stageDefaults } from './input';
import {
  apiRequestUnits,
  envelopesPerPackedRecord,
  expectedRequestRecords,
  firehoseFlushSeconds,
  firehoseRecordBytes,
  lambdaBilledMs,
  landingFilesPerDay,
  provisionedShardsNeeded,
  requestBodyBytes,
} from './load';

/** The bill: each line priced from the load model. A new line in the bill touches only this file. */
// ── The model ───────────────────────────────────────────────────────────────

export type CostService = 'API Gateway' | 'Lambda' | 'Kinesis' | 'Firehose' | 'S3' | 'Snowpipe' | 'CloudWatch';

/** One line of the bill: a quantity for the month at one list price. */
export interface CostLine {
  service: CostService;
  item: string;
  /** Per month, in `unit`. */
  quantity: number;
  unit: string;
  price: ListPrice;
  usd: number;
}

/** The intermediate figures the lines come from, for the table and for the tests. */
export interface CostDerived {
  eventsPerMonth: number;
  acceptedEventsPerSecond: number;
  requestsPerSecond: number;
  requestsPerMonth: number;
  requestBodyBytes: number;
  apiUnitsPerRequest: number;
  lambdaBilledMs: number;
  lambdaConcurrency: number;
  /** One event in its envelope: what Firehose sees of an unpacked record. */
  envelopeBytes: number;
  /** Packed: the most envelopes a record holds (1 when single). */
  envelopesPerRecord: number;
  maxPackedRecordBytes: number | undefined;
  /** Expected Kinesis records per request (with rejections, an average). */
  kinesisRecordsPerRequest: number;
  kinesisRecordsPerSecond: number;
  /** Per record, on average: data plus partition key. */
  kinesisRecordBytes: number;
  kinesisOnDemandBilledBytes: number;
  putPayloadUnitsPerRecord: number;
  shardsNeeded: number;
  shards: number | undefined;
  firehoseRecordBytes: number;
  firehoseBilledBytes: number;
  landingLineBytes: number;
  flushSeconds: number;
  landingFilesPerDay: number;
  landingFileBytes: number;
  landingGiBPerMonth: number;
  quarantinedRequestsPerMonth: number;
  /** What the legacy Snowpipe model would add for file overhead alone, in USD. For comparison, not in the total. */
  snowpipeLegacyFileOverheadUsd: number;
  /** Streaming: the shards the consumer reads (provisioned: the stage's; on-demand: at least the initial 4), its invocations, and the rows it appends. */
  consumerShards: number | undefined;
  consumerInvocationsPerMonth: number;
  streamedRowBytes: number;
  streamedGiBPerMonth: number;
}

export interface CostEstimate {
  input: CostInput;
  derived: CostDerived;
  lines: CostLine[];
  byService: Record<CostService, number>;
  monthlyUsd: number;
  usdPerMillionEvents: number;
  /** Where the load meets a default limit of the stage or the account. */
  warnings: string[];
}

const line = (service: CostService, item: string, quantity: number, unit: string, price: ListPrice, usd: number): CostLine => ({
  service,
  item,
  quantity,
  unit,
  price,
  usd,
});

/**
 * The monthly (30-day) cost of a stage under a steady load, line by line.
 *
 * @example
 * const single = estimateMonthlyCost({ eventsPerSecond: 1_000, eventBytes: 500, batch: 1 });
 * const batched = estimateMonthlyCost({ eventsPerSecond: 1_000, eventBytes: 500, batch: 100 });
 * single.byService['API Gateway']  // → 2_362.80
 * batched.byService['API Gateway'] // → 25.92
 * // Firehose bills per record: packed, 100 events share 3 records; one event per request is one record either way.
 * batched.byService.Firehose < single.byService.Firehose // → true
 * estimateMonthlyCost({ eventsPerSecond: 1_000, eventBytes: 500, batch: 100, packing: 'single' }).byService.Firehose === single.byService.Firehose // → true
 * // Streaming: the consumer, a second reader of the stream and Snowpipe Streaming instead of the file loads.
 * estimateMonthlyCost({ eventsPerSecond: 1_000, eventBytes: 500, batch: 100, delivery: 'streaming' }).derived.consumerInvocationsPerMonth // → 10_368_000
 */
export function estimateMonthlyCost(raw: CostInputRaw): CostEstimate {
  const input = parseCostInput(raw);
  const { eventsPerSecond, eventBytes, batch, rejectRate } = input;

  // Requests and what API Gateway and Lambda make of them.
  const eventsPerMonth = eventsPerSecond * SECONDS_PER_MONTH;
  const requestsPerSecond = eventsPerSecond / batch;
  const requestsPerMonth = requestsPerSecond * SECONDS_PER_MONTH;
  const bodyBytes = requestBodyBytes(batch, eventBytes);
  const apiUnitsPerRequest = apiRequestUnits(bodyBytes);
  const apiUnits = requestsPerMonth * apiUnitsPerRequest;
  const billedMs = input.lambdaMs ?? lambdaBilledMs({ batch, memoryMb: input.memoryMb, networkMs: input.networkMs });
  const gbSeconds = requestsPerMonth * (billedMs / 1_000) * (input.memoryMb / 1_024);

  // Records: only accepted events reach the stream, Firehose and the landing bucket; packed, a request's
  // accepted envelopes share few records.
  const acceptedEventsPerSecond = eventsPerSecond * (1 - rejectRate);
  const envelope = firehoseRecordBytes(eventBytes);
  const maxPackedRecordBytes = input.maxPackedRecordBytes ?? DEFAULT_MAX_PACKED_RECORD_BYTES;
  const perRequest = expectedRequestRecords({
    batch,
    rejectRate,
    envelopeBytes: envelope,
    packing: input.packing,
    maxRecordBytes: maxPackedRecordBytes,
  });
  const recordsPerSecond = requestsPerSecond * perRequest.records;
  const perRecord = (total: number) => (perRequest.records > 0 ? total / perRequest.records : 0);
  const recordBytes = perRecord(perRequest.kinesisBytes);
  const onDemandBilledBytes = perRecord(perRequest.kinesisOnDemandBilledBytes);
  const putPayloadUnitsPerRecord = perRecord(perRequest.putPayloadUnits);
  const shardsNeeded = provisionedShardsNeeded(recordsPerSecond, recordBytes);
  const shards = input.stream === 'provisioned' ? (input.shards ?? shardsNeeded) : undefined;
  // Streaming: the event source mapping invokes the consumer per shard, when a batch fills or its window (at least
  // the one-second poll) ends, and only when there are records.
  const streaming = input.delivery === 'streaming';
  const consumerShards = streaming ? (shards ?? Math.max(KINESIS_ON_DEMAND_INITIAL_SHARDS, shardsNeeded)) : undefined;
  const recordsPerShardPerSecond = consumerShards ? recordsPerSecond / consumerShards : 0;
  const pollSeconds = Math.max(input.consumerBatchWindowSeconds, LAMBDA_KINESIS_POLL_SECONDS);
  const consumerInvocationsPerMonth =
    recordsPerShardPerSecond === 0 || !consumerShards
      ? 0
      : Math.min(recordsPerShardPerSecond, Math.max(1 / pollSeconds, recordsPerShardPerSecond / input.consumerBatchSize)) *
        consumerShards *
        SECONDS_PER_MONTH;
  const consumerGbSeconds = consumerInvocationsPerMonth * (input.consumerMs / 1_000) * (input.consumerMemoryMb / 1_024);
  const streamedRowBytes = envelope + STREAMED_ROW_EXTRA_BYTES;
  const streamedGiBPerMonth = streaming ? (acceptedEventsPerSecond * SECONDS_PER_MONTH * streamedRowBytes) / GIB : 0;
  const fhBytes = perRecord(perRequest.firehoseBytes);
  const fhBilledBytes = perRecord(perRequest.firehoseBilledBytes);
  const recordsLabel =
    input.packing === 'single'
      ? `${fmt(recordBytes)} B records`
      : `packed records (${fmtFew(perRequest.records)} per request) of ${fmt(recordBytes)} B avg.`;
  const fhRecordsLabel = input.packing === 'single' ? `${fmt(fhBytes)} B records` : `packed records of ${fmt(fhBytes)} B avg.`;

  // Landing files: one NDJSON line per event (packed records hold several; Firehose appends the last newline).
  const lineBytes = envelope + 1;
  const landingBytesPerSecond = requestsPerSecond * perRequest.landingBytes;
  const flushSeconds = firehoseFlushSeconds(landingBytesPerSecond, input.bufferMiB, input.bufferSeconds);
  const filesPerDay = landingFilesPerDay({
    recordsPerSecond,
    lineBytes: perRecord(perRequest.landingBytes),
    bufferMiB: input.bufferMiB,
    bufferSeconds: input.bufferSeconds,
  });
  const filesPerMonth = filesPerDay * DAYS_PER_MONTH;
  const landingBytesPerDay = landingBytesPerSecond * SECONDS_PER_DAY;
  const landingGiBPerMonth = (landingBytesPerDay * DAYS_PER_MONTH) / GIB;
  // Steady state: the bucket holds `landingExpirationDays` of files.
  const landingStoredGiB =
    ((landingBytesPerDay * input.landingExpirationDays) / GIB) * (input.landingCompression === 'GZIP' ? LANDING_GZIP_STORED_SHARE : 1);

  // Quarantine: one object per request with anything rejected.
  const quarantinedShare = rejectRate === 0 ? 0 : 1 - (1 - rejectRate) ** batch;
  const quarantinedRequestsPerMonth = requestsPerMonth * quarantinedShare;
  const quarantineBytesPerMonth =
    quarantinedRequestsPerMonth * QUARANTINE_OBJECT_OVERHEAD_BYTES +
    eventsPerMonth * rejectRate * (eventBytes + QUARANTINE_BYTES_PER_REJECTED_RECORD);
  // Upper bound: held for `errorsExpirationDays` at Standard price (the move to Infrequent Access is ignored).
  const quarantineStoredGiB = (quarantineBytesPerMonth / GIB) * (input.errorsExpirationDays / DAYS_PER_MONTH);

  const apiFirst = Math.min(apiUnits, API_HTTP_FIRST_TIER_REQUESTS);
  const apiOver = apiUnits - apiFirst;
  const lines: CostLine[] = [
    line(
      'API Gateway',
      `requests × ${apiUnitsPerRequest} (512 KB units), first 300M`,
      apiFirst,
      'requests',
      API_HTTP_REQUESTS_FIRST_300M,
      (apiFirst / 1e6) * API_HTTP_REQUESTS_FIRST_300M.amount,
    ),
  ];
  if (apiOver > 0) {
    lines.push(
      line(
        'API Gateway',
        'requests beyond 300M',
        apiOver,
        'requests',
        API_HTTP_REQUESTS_OVER_300M,
        (apiOver / 1e6) * API_HTTP_REQUESTS_OVER_300M.amount,
      ),
    );
  }
  lines.push(
    line('Lambda', 'invocations', requestsPerMonth, 'requests', LAMBDA_REQUESTS, (requestsPerMonth / 1e6) * LAMBDA_REQUESTS.amount),
    line(
      'Lambda',
      `duration, ${billedMs} ms × ${fmt(input.memoryMb)} MB`,
      gbSeconds,
      'GB-s',
      LAMBDA_ARM_GB_SECOND,
      gbSeconds * LAMBDA_ARM_GB_SECOND.amount,
    ),
  );
  if (streaming) {
    lines.push(
      line(
        'Lambda',
        `stream consumer invocations (${consumerShards} shard(s), ≤ ${input.consumerBatchSize} records or ${pollSeconds} s each)`,
        consumerInvocationsPerMonth,
        'requests',
        LAMBDA_REQUESTS,
        (consumerInvocationsPerMonth / 1e6) * LAMBDA_REQUESTS.amount,
      ),
      line(
        'Lambda',
        `stream consumer duration, ${fmt(input.consumerMs)} ms × ${fmt(input.consumerMemoryMb)} MB`,
        consumerGbSeconds,
        'GB-s',
        LAMBDA_ARM_GB_SECOND,
        consumerGbSeconds * LAMBDA_ARM_GB_SECOND.amount,
      ),
    );
  }
  if (input.stream === 'on-demand') {
    const inGiB = (requestsPerMonth * perRequest.kinesisOnDemandBilledBytes) / GIB;
    const outGiB = (requestsPerMonth * perRequest.kinesisBytes) / GIB;
    lines.push(
      line(
        'Kinesis',
        'on-demand stream-hours',
        HOURS_PER_MONTH,
        'stream-hours',
        KINESIS_ON_DEMAND_STREAM_HOUR,
        HOURS_PER_MONTH * KINESIS_ON_DEMAND_STREAM_HOUR.amount,
      ),
      line(
        'Kinesis',
        `data in, ${recordsLabel} billed as ${fmt(onDemandBilledBytes)} B`,
        inGiB,
        'GB',
        KINESIS_ON_DEMAND_DATA_IN_GB,
        inGiB * KINESIS_ON_DEMAND_DATA_IN_GB.amount,
      ),
      line(
        'Kinesis',
        'data retrieved by Firehose',
        outGiB,
        'GB',
        KINESIS_ON_DEMAND_DATA_OUT_GB,
        outGiB * KINESIS_ON_DEMAND_DATA_OUT_GB.amount,
      ),
    );
    // On demand, retrieval is billed per GB per consumer: the stream consumer reads everything a second time.
    if (streaming) {
      lines.push(
        line(
          'Kinesis',
          'data retrieved by the stream consumer',
          outGiB,
          'GB',
          KINESIS_ON_DEMAND_DATA_OUT_GB,
          outGiB * KINESIS_ON_DEMAND_DATA_OUT_GB.amount,
        ),
      );
    }
  } else {
    const shardHours = shards! * HOURS_PER_MONTH;
    const units = requestsPerMonth * perRequest.putPayloadUnits;
    lines.push(
      line(
        'Kinesis',
        `${shards} shard(s) × ${HOURS_PER_MONTH} h`,
        shardHours,
        'shard-hours',
        KINESIS_SHARD_HOUR,
        shardHours * KINESIS_SHARD_HOUR.amount,
      ),
      line(
        'Kinesis',
        `PUT payload units (${fmtFew(putPayloadUnitsPerRecord)} per record, ${fmtFew(perRequest.putPayloadUnits)} per request)`,
        units,
        'units',
        KINESIS_PUT_PAYLOAD_UNITS,
        (units / 1e6) * KINESIS_PUT_PAYLOAD_UNITS.amount,
      ),
    );
  }
  // Retention beyond the included 24 h: a steady load holds `rate × hours` of data; on-demand is billed on the
  // data-in size (each record rounded up to 1 KB), provisioned per shard-hour up to 7 days, both per GB beyond.
  const retainedGiB = (hours: number) =>
    (requestsPerSecond * (input.stream === 'on-demand' ? perRequest.kinesisOnDemandBilledBytes : perRequest.kinesisBytes) * hours * 3_600) /
    GIB;
  const extendedHours = Math.max(
    0,
    Math.min(input.retentionHours, KINESIS_EXTENDED_RETENTION_MAX_HOURS) - KINESIS_INCLUDED_RETENTION_HOURS,
  );
  const longTermHours = Math.max(0, input.retentionHours - KINESIS_EXTENDED_RETENTION_MAX_HOURS);
  if (extendedHours > 0 && input.stream === 'on-demand') {
    const gbMonths = retainedGiB(extendedHours);
    lines.push(
      line(
        'Kinesis',
        `retention ${input.retentionHours} h: data held ${extendedHours} h beyond the included 24 h`,
        gbMonths,
        'GB-month',
        KINESIS_ON_DEMAND_EXTENDED_RETENTION_GB_MONTH,
        gbMonths * KINESIS_ON_DEMAND_EXTENDED_RETENTION_GB_MONTH.amount,
      ),
    );
  } else if (extendedHours > 0) {
    const shardHours = shards! * HOURS_PER_MONTH;
    lines.push(
      line(
        'Kinesis',
        `retention ${input.retentionHours} h: extended retention, ${shards} shard(s) × ${HOURS_PER_MONTH} h`,
        shardHours,
        'shard-hours',
        KINESIS_EXTENDED_RETENTION_SHARD_HOUR,
        shardHours * KINESIS_EXTENDED_RETENTION_SHARD_HOUR.amount,
      ),
    );
  }
  if (longTermHours > 0) {
    const gbMonths = retainedGiB(longTermHours);
    lines.push(
      line(
        'Kinesis',
        `retention ${input.retentionHours} h: data held ${longTermHours} h beyond 7 days`,
        gbMonths,
        'GB-month',
        KINESIS_LONG_TERM_RETENTION_GB_MONTH,
        gbMonths * KINESIS_LONG_TERM_RETENTION_GB_MONTH.amount,
      ),
    );
  }
  const fhGiB = (requestsPerMonth * perRequest.firehoseBilledBytes) / GIB;
  lines.push(
    line(
      'Firehose',
      `ingestion, ${fhRecordsLabel} billed as ${fmt(fhBilledBytes)} B`,
      fhGiB,
      'GB',
      FIREHOSE_INGEST_GB,
      fhGiB * FIREHOSE_INGEST_GB.amount,
    ),
    line('S3', 'landing PUTs (one per file)', filesPerMonth, 'requests', S3_PUT_REQUESTS, (filesPerMonth / 1_000) * S3_PUT_REQUESTS.amount),
    ...(streaming
      ? []
      : [
          line(
            'S3',
            'landing GETs (Snowpipe reads each file)',
            filesPerMonth,
            'requests',
            S3_GET_REQUESTS,
            (filesPerMonth / 1_000) * S3_GET_REQUESTS.amount,
          ),
        ]),
    line(
      'S3',
      `landing storage, ${input.landingExpirationDays} days held${input.landingCompression === 'GZIP' ? `, gzip (${(LANDING_GZIP_STORED_SHARE * 100).toFixed(1)} % of the bytes)` : ', uncompressed'}`,
      landingStoredGiB,
      'GB-month',
      S3_STANDARD_GB_MONTH,
      landingStoredGiB * S3_STANDARD_GB_MONTH.amount,
    ),
  );
  if (quarantinedRequestsPerMonth > 0) {
    lines.push(
      line(
        'S3',
        'quarantine PUTs (one per request with rejections)',
        quarantinedRequestsPerMonth,
        'requests',
        S3_PUT_REQUESTS,
        (quarantinedRequestsPerMonth / 1_000) * S3_PUT_REQUESTS.amount,
      ),
      line(
        'S3',
        `quarantine storage, ≤ ${input.errorsExpirationDays} days at Standard`,
        quarantineStoredGiB,
        'GB-month',
        S3_STANDARD_GB_MONTH,
        quarantineStoredGiB * S3_STANDARD_GB_MONTH.amount,
      ),
    );
  }
  if (streaming) {
    // The landing files stay (the archive), but nothing loads them: the rows arrive through the streaming pipe.
    const credits = streamedGiBPerMonth * SNOWPIPE_STREAMING_CREDITS_PER_GB.amount;
    lines.push(
      line(
        'Snowpipe',
        `Streaming: ${streamedGiBPerMonth.toFixed(2)} GB of rows (${fmt(streamedRowBytes)} B each) appended, ${credits.toFixed(2)} credits at $${input.creditUsd}`,
        streamedGiBPerMonth,
        'GB',
        SNOWPIPE_STREAMING_CREDITS_PER_GB,
        credits * input.creditUsd,
      ),
    );
  } else {
    const snowpipeCredits = landingGiBPerMonth * SNOWPIPE_CREDITS_PER_GB.amount;
    lines.push(
      line(
        'Snowpipe',
        `${landingGiBPerMonth.toFixed(2)} GB loaded, ${snowpipeCredits.toFixed(2)} credits at $${input.creditUsd}`,
        landingGiBPerMonth,
        'GB',
        SNOWPIPE_CREDITS_PER_GB,
        snowpipeCredits * input.creditUsd,
      ),
    );
  }
  const logGiB = (requestsPerMonth * input.logBytesPerRequest) / GIB;
  const alarmsBilled = stageAlarms(input.delivery);
  lines.push(
    line(
      'CloudWatch',
      `logs, ${fmt(input.logBytesPerRequest)} B per request`,
      logGiB,
      'GB',
      CLOUDWATCH_LOGS_INGEST_GB,
      logGiB * CLOUDWATCH_LOGS_INGEST_GB.amount,
    ),
  );
  if (streaming) {
    const consumerLogGiB = (consumerInvocationsPerMonth * CONSUMER_LOG_BYTES_PER_INVOCATION) / GIB;
    lines.push(
      line(
        'CloudWatch',
        `stream consumer logs, ${fmt(CONSUMER_LOG_BYTES_PER_INVOCATION)} B per invocation`,
        consumerLogGiB,
        'GB',
        CLOUDWATCH_LOGS_INGEST_GB,
        consumerLogGiB * CLOUDWATCH_LOGS_INGEST_GB.amount,
      ),
    );
  }
  lines.push(
    line(
      'CloudWatch',
      `${alarmsBilled.alarms} alarms (${alarmsBilled.alarmMetrics} alarm metrics)`,
      alarmsBilled.alarmMetrics,
      'alarm metric-months',
      CLOUDWATCH_ALARM_METRIC_MONTH,
      alarmsBilled.alarmMetrics * CLOUDWATCH_ALARM_METRIC_MONTH.amount,
    ),
    line(
      'CloudWatch',
      `${alarmsBilled.dashboards} dashboard`,
      alarmsBilled.dashboards,
      'dashboard-months',
      CLOUDWATCH_DASHBOARD_MONTH,
      alarmsBilled.dashboards * CLOUDWATCH_DASHBOARD_MONTH.amount,
    ),
  );

  const byService = { 'API Gateway': 0, Lambda: 0, Kinesis: 0, Firehose: 0, S3: 0, Snowpipe: 0, CloudWatch: 0 } satisfies Record<
    CostService,
    number
  >;
  for (const l of lines) byService[l.service] += l.usd;
  const monthlyUsd = lines.reduce((sum, l) => sum + l.usd, 0);

  const lambdaConcurrency = requestsPerSecond * (billedMs / 1_000);
  const warnings: string[] = [];
  if (requestsPerSecond > stageDefaults.api.throttleRate) {
    warnings.push(
      `${fmt(requestsPerSecond)} requests/s is above the stage's default API throttle (${stageDefaults.api.throttleRate}/s): raise api.throttleRate, or batch`,
    );
  }
  if (lambdaConcurrency > LAMBDA_DEFAULT_CONCURRENCY) {
    warnings.push(
      `about ${fmt(lambdaConcurrency)} concurrent invocations: above Lambda's default quota of ${LAMBDA_DEFAULT_CONCURRENCY} per account and region`,
    );
  }
  const writeBytesPerSecond = requestsPerSecond * perRequest.kinesisBytes;
  if (
    input.stream === 'on-demand' &&
    (writeBytesPerSecond > KINESIS_ON_DEMAND_INITIAL_WRITE.bytesPerSecond ||
      recordsPerSecond > KINESIS_ON_DEMAND_INITIAL_WRITE.recordsPerSecond)
  ) {
    warnings.push(
      "above a new on-demand stream's initial write capacity (4 MB/s, 4,000 records/s): it scales up, but ramp traffic or expect throttling at first",
    );
  }
  if (shards !== undefined && shards < shardsNeeded) {
    warnings.push(`${shards} shard(s) cannot take this write load: it needs ${shardsNeeded}`);
  }

  return {
    input,
    derived: {
      eventsPerMonth,
      acceptedEventsPerSecond,
      requestsPerSecond,
      requestsPerMonth,
      requestBodyBytes: bodyBytes,
      apiUnitsPerRequest,
      lambdaBilledMs: billedMs,
      lambdaConcurrency,
      envelopeBytes: envelope,
      envelopesPerRecord: input.packing === 'packed' ? envelopesPerPackedRecord(envelope, maxPackedRecordBytes) : 1,
      maxPackedRecordBytes: input.packing === 'packed' ? maxPackedRecordBytes : undefined,
      kinesisRecordsPerRequest: perRequest.records,
      kinesisRecordsPerSecond: recordsPerSecond,
      kinesisRecordBytes: recordBytes,
      kinesisOnDemandBilledBytes: onDemandBilledBytes,
      putPayloadUnitsPerRecord,
      shardsNeeded,
      shards,
      firehoseRecordBytes: fhBytes,
      firehoseBilledBytes: fhBilledBytes,
      landingLineBytes: lineBytes,
      flushSeconds,
      landingFilesPerDay: filesPerDay,
      landingFileBytes: filesPerDay > 0 ? landingBytesPerDay / filesPerDay : 0,
      landingGiBPerMonth,
      quarantinedRequestsPerMonth,
      snowpipeLegacyFileOverheadUsd: (filesPerMonth / 1_000) * SNOWPIPE_LEGACY_CREDITS_PER_1000_FILES.amount * input.creditUsd,
      consumerShards,
      consumerInvocationsPerMonth,
      streamedRowBytes,
      streamedGiBPerMonth,
    },
    lines,
    byService,
    monthlyUsd,
    usdPerMillionEvents: (monthlyUsd / eventsPerMonth) * 1e6,
    warnings,
  };
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
function fmtFew(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
}
