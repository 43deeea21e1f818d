/**
 * Monthly cost model of a stage: what a steady load costs, service
 * by service, at us-east-1 list prices. The model is `packages/cost/src/`
 * (prices, units, assumptions, input, load, model); the method, prices and sources are in docs/COST.md.
 *
 *   pnpm cost --events-per-second 1000 --event-bytes 500 --batch 100
 *   pnpm cost --events-per-second 1000 --event-bytes 1000 --batch 100 --stream provisioned --packing single
 *   pnpm cost --events-per-second 50 --event-bytes 800 --stream provisioned --buffer-seconds 60
 *   pnpm cost --events-per-second 1000 --event-bytes 500 --batch 100 --delivery streaming   # beside files
 *   pnpm cost --events-per-second 1000 --event-bytes 500 --json     # the whole estimate as JSON
 *   pnpm cost --prices                                               # every price, its source and how it was checked
 */
import { ConfigError, DEFAULT_LIMITS } from '@snowgate/core';
import {
  DEFAULT_MAX_PACKED_RECORD_BYTES,
  PRICE_LIST,
  largestSharedEventBytes,
  estimateMonthlyCost,
  requestBodyBytes,
  type CostEstimate,
  type CostInputRaw,
  type ListPrice,
  type Packing,
} from '@snowgate/cost';
import { parseCommandLine, usageError } from './args';

const usage = `Usage: pnpm cost --events-per-second N --event-bytes B [--batch K] [options]

  --events-per-second N   average events per second, sustained over a 30-day month
  --event-bytes B         average size of one event's JSON as sent
  --batch K               events per request (default 1; at most ${DEFAULT_LIMITS.maxRecordsPerRequest})
  --region R              only us-east-1 prices are shipped (default us-east-1)
  --stream MODE           on-demand (default) or provisioned
  --shards N              provisioned: shards to pay for (default: the fewest that take the load)
  --retention-hours H     hours the stream keeps records, 24..8760 (default 72, the stage default);
                          beyond 24 h billed per shard-hour (provisioned) or per GB held (on-demand)
  --packing MODE          packed (default) or single, as the stage writes records: packed joins a
                          request's accepted events by newlines into few Kinesis records; single
                          writes one record per event
  --max-record-bytes B    packed: largest record, data + partition key (default ${DEFAULT_MAX_PACKED_RECORD_BYTES}:
                          one 25 KB PUT payload unit, five 5 KB Firehose increments)
  --compression C         landing files GZIP (default, the stage default) or UNCOMPRESSED
  --buffer-seconds S      Firehose buffer interval (default 5)
  --buffer-mib M          Firehose buffer size (default 1)
  --reject-rate R         share of events rejected and quarantined, 0..1 (default 0)
  --memory-mb M           Lambda memory (default 1024)
  --network-ms MS         time per invocation waiting on Kinesis, added to the CPU estimate (default 20)
  --lambda-ms MS          billed duration per invocation, replacing the estimate
  --log-bytes B           CloudWatch log bytes per request (default 1200)
  --credit-usd USD        Snowflake credit price (default 3.00: Enterprise, AWS us-east-1, on demand)
  --delivery MODE         files (default: Snowpipe loads Firehose's files) or streaming (a consumer
                          of the stream appends rows through Snowpipe Streaming); streaming also
                          prints files beside it
  --batch-window-seconds S  streaming: the consumer's batching window (default 0, the stage's)
  --consumer-batch-size N   streaming: Kinesis records per consumer invocation, at most (default 100)
  --consumer-memory-mb M    streaming: the consumer's memory (default 512)
  --consumer-ms MS          streaming: billed time per consumer invocation, an append and the wait
                            for its commit (default 2000, an assumption)
  --json                  print the estimate as JSON
  --prices                list every price with its source and how it was checked
  -h, --help              print this help

The output compares packed and single records side by side, and shows what the
saving depends on: the batch (a one-event request is one record either way) and
the event size (fewer events fit a record as they grow).

Example:
  pnpm cost --events-per-second 1000 --event-bytes 500 --batch 100`;

const { values } = parseCommandLine('pnpm cost', usage, {
  options: {
    'events-per-second': { type: 'string' },
    'event-bytes': { type: 'string' },
    batch: { type: 'string', default: '1' },
    region: { type: 'string' },
    stream: { type: 'string' },
    shards: { type: 'string' },
    'retention-hours': { type: 'string' },
    compression: { type: 'string' },
    packing: { type: 'string' },
    'max-record-bytes': { type: 'string' },
    'buffer-seconds': { type: 'string' },
    'buffer-mib': { type: 'string' },
    'reject-rate': { type: 'string' },
    'memory-mb': { type: 'string' },
    'network-ms': { type: 'string' },
    'lambda-ms': { type: 'string' },
    'log-bytes': { type: 'string' },
    'credit-usd': { type: 'string' },
    delivery: { type: 'string' },
    'batch-window-seconds': { type: 'string' },
    'consumer-batch-size': { type: 'string' },
    'consumer-memory-mb': { type: 'string' },
    'consumer-ms': { type: 'string' },
    json: { type: 'boolean', default: false },
    prices: { type: 'boolean', default: false },
  },
});

if (values.prices) {
  printPrices(PRICE_LIST);
  process.exit(0);
}
if (values['events-per-second'] === undefined || values['event-bytes'] === undefined) {
  usageError('pnpm cost', '--events-per-second and --event-bytes are required');
}

/** A number option as given, or absent: the model's schema validates and defaults it. */
const num = (text: string | undefined) => (text === undefined ? undefined : Number(text));
const input: CostInputRaw = {
  eventsPerSecond: Number(values['events-per-second']),
  eventBytes: Number(values['event-bytes']),
  batch: Number(values.batch),
  ...(values.region !== undefined ? { region: values.region as 'us-east-1' } : {}),
  ...(values.stream !== undefined ? { stream: values.stream as 'on-demand' | 'provisioned' } : {}),
  shards: num(values.shards),
  retentionHours: num(values['retention-hours']),
  ...(values.compression !== undefined ? { landingCompression: values.compression as 'GZIP' | 'UNCOMPRESSED' } : {}),
  ...(values.packing !== undefined ? { packing: values.packing as Packing } : {}),
  maxPackedRecordBytes: num(values['max-record-bytes']),
  bufferSeconds: num(values['buffer-seconds']),
  bufferMiB: num(values['buffer-mib']),
  rejectRate: num(values['reject-rate']),
  memoryMb: num(values['memory-mb']),
  networkMs: num(values['network-ms']),
  lambdaMs: num(values['lambda-ms']),
  logBytesPerRequest: num(values['log-bytes']),
  creditUsd: num(values['credit-usd']),
  ...(values.delivery !== undefined ? { delivery: values.delivery as 'files' | 'streaming' } : {}),
  consumerBatchWindowSeconds: num(values['batch-window-seconds']),
  consumerBatchSize: num(values['consumer-batch-size']),
  consumerMemoryMb: num(values['consumer-memory-mb']),
  consumerMs: num(values['consumer-ms']),
};

let estimate: CostEstimate;
try {
  estimate = estimateMonthlyCost(input);
} catch (error) {
  if (error instanceof ConfigError) {
    console.error(error.message);
    process.exit(2);
  }
  throw error;
}

if (values.json) {
  console.log(JSON.stringify(estimate, null, 2));
  process.exit(0);
}

function usd(n: number): string {
  return n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}
function count(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}
function qty(n: number): string {
  return n >= 100 ? count(n) : n.toLocaleString('en-US', { maximumFractionDigits: 2 });
}
function rate(p: ListPrice): string {
  const amount = p.amount.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 10 });
  return p.unit.startsWith('USD per ') ? `$${amount} per ${p.unit.slice(8)}` : `${p.amount} ${p.unit}`;
}

function table(header: string[], rows: string[][], right: number[] = []) {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const cell = (text: string, i: number) => (right.includes(i) ? text.padStart(widths[i]!) : text.padEnd(widths[i]!));
  console.log(header.map(cell).join('  ').trimEnd());
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(row.map(cell).join('  ').trimEnd());
}

const { input: i, derived: d } = estimate;
console.log(
  `Snowgate, monthly cost of one stage (30 days) at ${i.region} list prices read ${PRICE_LIST[0]!.read}: an estimate, not a quote`,
);
console.log(
  `Load: ${i.eventsPerSecond.toLocaleString('en-US')} events/s × ${count(i.eventBytes)} B, ${i.batch === 1 ? 'one event per request' : `batches of ${i.batch}`}` +
    ` → ${qty(d.requestsPerSecond)} requests/s, ${count(d.requestsPerMonth)} requests/month` +
    (i.rejectRate > 0 ? `, ${(i.rejectRate * 100).toFixed(2)} % of events rejected` : ''),
);
console.log(
  `Stage: Kinesis ${i.stream}${d.shards !== undefined ? ` (${d.shards} shard${d.shards === 1 ? '' : 's'})` : ''} keeping records ${i.retentionHours} h, Firehose buffer ${i.bufferMiB} MiB / ${i.bufferSeconds} s, landing files ${i.landingCompression === 'GZIP' ? 'gzip' : 'uncompressed'},` +
    ` Lambda ${count(i.memoryMb)} MB billed ${d.lambdaBilledMs} ms per invocation${i.lambdaMs === undefined ? ` (${i.networkMs} ms network + CPU estimate)` : ' (given)'}`,
);
console.log(`Records: ${i.packing}, ${recordsSummary(estimate)}`);
console.log(
  i.delivery === 'streaming'
    ? `Delivery: streaming, a consumer on ${d.consumerShards} shard(s) (batches of ≤ ${i.consumerBatchSize} records, ${i.consumerBatchWindowSeconds} s window), ${count(i.consumerMemoryMb)} MB billed ${count(i.consumerMs)} ms per invocation; Firehose still writes the landing files`
    : "Delivery: files, Snowpipe loads Firehose's landing files",
);
console.log('');
table(
  ['service', 'item', 'quantity / month', 'rate', 'USD / month'],
  [
    ...estimate.lines.map((l) => [l.service, l.item, `${qty(l.quantity)} ${l.unit}`, rate(l.price), usd(l.usd)]),
    ['', 'total', '', '', usd(estimate.monthlyUsd)],
    ['', 'per million events', '', '', usd(estimate.usdPerMillionEvents)],
  ],
  [2, 4],
);
console.log('');
console.log(
  'By service: ' +
    Object.entries(estimate.byService)
      .map(([service, amount]) => `${service} ${usd(amount)}`)
      .join(' | '),
);

console.log('');
console.log('What drives it:');
const perRequest =
  estimate.byService['API Gateway'] +
  estimate.byService.Lambda +
  estimate.lines.filter((l) => l.item.startsWith('logs')).reduce((s, l) => s + l.usd, 0);
console.log(
  `- Per request (API Gateway, Lambda, logs): $${usd(perRequest)} of $${usd(estimate.monthlyUsd)}. These fall with the batch size` +
    (i.packing === 'packed'
      ? '; so do Kinesis and Firehose, packed (fewer, fuller records).'
      : '; nothing else does while records are single.'),
);
const billedPerEvent = (d.firehoseBilledBytes * d.kinesisRecordsPerRequest) / (i.batch * (1 - i.rejectRate));
console.log(
  d.kinesisRecordsPerRequest === 0
    ? '- No record reaches the stream: every event is rejected.'
    : i.packing === 'single'
      ? `- Firehose bills each record as ${count(d.firehoseBilledBytes)} B (actual ${count(d.firehoseRecordBytes)} B, ${(d.firehoseBilledBytes / d.firehoseRecordBytes).toFixed(1)}×):` +
        ' rounding is per record, so batching alone does not change it; packing does (--packing packed).'
      : `- Firehose rounds each record up to 5 KB: packed, that is ${count(billedPerEvent)} B billed per event (actual ${count(d.envelopeBytes)} B, ${(billedPerEvent / d.envelopeBytes).toFixed(2)}×).`,
);
const byInterval =
  d.flushSeconds < i.bufferSeconds
    ? `${i.bufferMiB} MiB fills every ${d.flushSeconds.toFixed(2)} s`
    : `the ${i.bufferSeconds} s interval comes first`;
console.log(
  `- Landing files: ${byInterval} → ${count(d.landingFilesPerDay)} files/day of ~${fileSize(d.landingFileBytes)}` +
    ` (a delivery stream with data in every ${i.bufferSeconds} s window writes ${count(86_400 / i.bufferSeconds)} files/day).` +
    (i.delivery === 'streaming'
      ? ' Each is one S3 PUT; streaming, nothing loads them (they are the archive).'
      : ' Each is one S3 PUT, one S3 GET and one Snowpipe load.'),
);
if (i.delivery === 'files') {
  console.log(
    `- Snowpipe is billed per GB loaded (credit-per-GB model), so small files no longer cost Snowpipe more; under the legacy model the per-file overhead alone would be $${usd(d.snowpipeLegacyFileOverheadUsd)}/month.`,
  );
}

if (i.delivery === 'streaming') {
  // Files and streaming side by side: what the seconds cost.
  const files = estimateMonthlyCost({ ...input, delivery: 'files' });
  // Lines that differ only in their figures (the alarm count) are the same line.
  const key = (l: CostEstimate['lines'][number]) => `${l.service}|${l.item.replace(/\d[\d,.]*/g, '#')}`;
  const filesByKey = new Map(files.lines.map((l) => [key(l), l]));
  const streamingKeys = new Set(estimate.lines.map(key));
  console.log('');
  console.log('Delivery, everything else as above:');
  table(
    ['service', 'item', 'files', 'streaming', 'difference'],
    [
      ...estimate.lines.flatMap((l) => {
        const f = filesByKey.get(key(l))?.usd ?? 0;
        return Math.abs(l.usd - f) >= 0.005 ? [[l.service, l.item, usd(f), usd(l.usd), usd(l.usd - f)]] : [];
      }),
      ...files.lines
        .filter((l) => !streamingKeys.has(key(l)) && l.usd >= 0.005)
        .map((l) => [l.service, l.item, usd(l.usd), usd(0), usd(-l.usd)]),
      ['', 'total', usd(files.monthlyUsd), usd(estimate.monthlyUsd), usd(estimate.monthlyUsd - files.monthlyUsd)],
      [
        '',
        'per million events',
        usd(files.usdPerMillionEvents),
        usd(estimate.usdPerMillionEvents),
        usd(estimate.usdPerMillionEvents - files.usdPerMillionEvents),
      ],
    ],
    [2, 3, 4],
  );
  console.log(
    `Streaming adds the consumer (${count(d.consumerInvocationsPerMonth)} invocations/month: one per shard per batch or window), a second read of the stream` +
      (i.stream === 'on-demand' ? ' (on-demand bills retrieval per GB per consumer)' : ' (included in provisioned shards)') +
      ` and Snowpipe Streaming per GB of rows instead of the file loads; Firehose and the landing files stay. The consumer's duration is an assumption (--consumer-ms).`,
  );
}

// Packed and single side by side: what changes, and what the saving depends on.
const packedInput: CostInputRaw = { ...input, packing: 'packed' };
const singleInput: CostInputRaw = { ...input, packing: 'single', maxPackedRecordBytes: undefined };
const packed = i.packing === 'packed' ? estimate : estimateMonthlyCost(packedInput);
const single = i.packing === 'single' ? estimate : estimateMonthlyCost(singleInput);
const saving = single.monthlyUsd - packed.monthlyUsd;
console.log('');
console.log(`Packing, everything else as above (${i.packing === 'packed' ? 'packed' : 'single'} is the stage's mode here):`);
table(
  ['service', 'item, single', 'single', 'packed', 'difference'],
  [
    ...single.lines.flatMap((l, k) => {
      const p = packed.lines[k]!;
      return Math.abs(p.usd - l.usd) >= 0.005 ? [[l.service, l.item, usd(l.usd), usd(p.usd), usd(p.usd - l.usd)]] : [];
    }),
    ['', 'total', usd(single.monthlyUsd), usd(packed.monthlyUsd), usd(-saving)],
    [
      '',
      'per million events',
      usd(single.usdPerMillionEvents),
      usd(packed.usdPerMillionEvents),
      usd(packed.usdPerMillionEvents - single.usdPerMillionEvents),
    ],
  ],
  [2, 3, 4],
);
console.log(`Packed: ${recordsSummary(packed)}. Single: ${recordsSummary(single)}.`);
console.log(
  `Packing saves $${usd(saving)} a month here (${single.monthlyUsd > 0 ? ((saving / single.monthlyUsd) * 100).toFixed(0) : 0} %). It depends on:`,
);
console.log(
  '- the batch: packing joins the events of one request, so a one-event request is one record either way and saves nothing;' +
    ' the more events a request carries, the fewer records per event.',
);
console.log(
  `- the event size: ${count(packed.derived.envelopesPerRecord)} event${packed.derived.envelopesPerRecord === 1 ? '' : 's'} of ${count(packed.derived.envelopeBytes)} B (enveloped) fit a ${count(packed.derived.maxPackedRecordBytes!)} B record.` +
    ' Small events save most (Firehose bills every record as at least 5 KB, on-demand Kinesis as at least 1 KB); an envelope just under a multiple of 5 KB saves little in Firehose;' +
    ` events over ${count(largestSharedEventBytes(packed.derived.maxPackedRecordBytes!))} B share no record and save nothing.`,
);
const packingBatches = [...new Set([1, 10, 100, 500, i.batch])]
  .sort((a, b) => a - b)
  .filter((k) => requestBodyBytes(k, i.eventBytes) <= DEFAULT_LIMITS.maxBodyBytes);
const eventSizes = [...new Set([200, 1_000, 5_000, 20_000, i.eventBytes])]
  .sort((a, b) => a - b)
  .filter((b) => requestBodyBytes(i.batch, b) <= DEFAULT_LIMITS.maxBodyBytes);
const perMillion = (raw: CostInputRaw) => {
  const p = estimateMonthlyCost({ ...raw, packing: 'packed', maxPackedRecordBytes: packedInput.maxPackedRecordBytes });
  const s = estimateMonthlyCost({ ...raw, packing: 'single', maxPackedRecordBytes: undefined });
  return [
    count(p.derived.kinesisRecordsPerRequest),
    usd(s.usdPerMillionEvents),
    usd(p.usdPerMillionEvents),
    `${s.monthlyUsd > 0 ? (((s.monthlyUsd - p.monthlyUsd) / s.monthlyUsd) * 100).toFixed(0) : '0'} %`,
  ];
};
console.log('');
table(
  ['batch', 'packed records / request', 'single, per million events', 'packed', 'saving'],
  packingBatches.map((batch) => [`${batch}${batch === i.batch ? ' *' : '  '}`, ...perMillion({ ...input, batch })]),
  [0, 1, 2, 3, 4],
);
console.log('');
table(
  ['event bytes', 'packed records / request', 'single, per million events', 'packed', 'saving'],
  eventSizes.map((eventBytes) => [
    `${count(eventBytes)}${eventBytes === i.eventBytes ? ' *' : '  '}`,
    ...perMillion({ ...input, eventBytes }),
  ]),
  [0, 1, 2, 3, 4],
);

const batches = [...new Set([1, 10, 100, 500, i.batch])]
  .sort((a, b) => a - b)
  .filter((k) => requestBodyBytes(k, i.eventBytes) <= DEFAULT_LIMITS.maxBodyBytes && k <= DEFAULT_LIMITS.maxRecordsPerRequest);
console.log('');
console.log('Batch size, everything else as above:');
table(
  ['batch', 'requests / month', 'API Gateway', 'Lambda', 'CloudWatch', 'Firehose', 'total', 'per million events'],
  batches.map((batch) => {
    const e = estimateMonthlyCost({ ...input, batch });
    const mark = batch === i.batch ? ' *' : '  ';
    return [
      `${batch}${mark}`,
      count(e.derived.requestsPerMonth),
      usd(e.byService['API Gateway']),
      usd(e.byService.Lambda),
      usd(e.byService.CloudWatch),
      usd(e.byService.Firehose),
      usd(e.monthlyUsd),
      usd(e.usdPerMillionEvents),
    ];
  }),
  [0, 1, 2, 3, 4, 5, 6, 7],
);

const buffers = [
  [1, 5],
  [1, 60],
  [8, 60],
  [64, 300],
  [128, 900],
  [i.bufferMiB, i.bufferSeconds],
]
  .filter(([mib, seconds], index, all) => all.findIndex(([m, s]) => m === mib && s === seconds) === index)
  .sort((a, b) => a[0]! - b[0]! || a[1]! - b[1]!);
console.log('');
console.log('Firehose buffer (size / interval), everything else as above:');
table(
  ['buffer', 'flush every s', 'files / day', 'avg file', 'S3 requests', 'total'],
  buffers.map(([bufferMiB, bufferSeconds]) => {
    const e = estimateMonthlyCost({ ...input, bufferMiB, bufferSeconds });
    const s3Requests = e.lines
      .filter((l) => l.item.startsWith('landing PUT') || l.item.startsWith('landing GET'))
      .reduce((s, l) => s + l.usd, 0);
    const mark = bufferMiB === i.bufferMiB && bufferSeconds === i.bufferSeconds ? ' *' : '  ';
    return [
      `${bufferMiB} MiB / ${bufferSeconds} s${mark}`,
      e.derived.flushSeconds.toFixed(2),
      count(e.derived.landingFilesPerDay),
      fileSize(e.derived.landingFileBytes),
      usd(s3Requests),
      usd(e.monthlyUsd),
    ];
  }),
  [1, 2, 3, 4, 5],
);

if (estimate.warnings.length > 0) {
  console.log('');
  for (const warning of estimate.warnings) console.log(`warning: ${warning}`);
}
console.log('');
console.log(
  'Not modelled: free tiers; data transfer (none if Snowflake runs in the same region); KMS calls of the encrypted stream; reading back records older than 7 days;' +
    " Lambda init (cold start) time, and the handler's CPU time for packing; the ingest function's custom metrics; tiers above the first for Lambda, Firehose and S3;" +
    ' Snowflake storage and queries. Method and sources: docs/COST.md.',
);

function recordsSummary(e: CostEstimate): string {
  const d = e.derived;
  const perRequest = d.kinesisRecordsPerRequest.toLocaleString('en-US', { maximumFractionDigits: 2 });
  return e.input.packing === 'single'
    ? `one Kinesis record per event, ${count(d.kinesisRecordBytes)} B with its partition key (${perRequest} per request)`
    : `up to ${count(d.envelopesPerRecord)} events per record of at most ${count(d.maxPackedRecordBytes!)} B, ${perRequest} record${perRequest === '1' ? '' : 's'} per request, ${count(d.kinesisRecordBytes)} B on average`;
}

function fileSize(bytes: number): string {
  if (bytes >= 1_048_576) return `${(bytes / 1_048_576).toFixed(2)} MiB`;
  if (bytes >= 1_024) return `${(bytes / 1_024).toFixed(1)} KiB`;
  return `${Math.round(bytes)} B`;
}

function printPrices(prices: readonly ListPrice[]) {
  for (const p of prices) {
    console.log(`${p.name}: ${rate(p)}`);
    console.log(`  source: ${p.source} (read ${p.read})`);
    console.log(`  check:  ${p.check}`);
  }
}
