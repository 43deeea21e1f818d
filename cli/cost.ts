/**
 * Monthly cost model of a stage: what a steady load costs, service
 * by service, at us-east-1 list prices. The model is `packages/cost/src/cost.ts`;
 * the method, prices and sources are in docs/COST.md.
 *
 *   pnpm cost --events-per-second 1000 --event-bytes 500 --batch 100
 *   pnpm cost --events-per-second 50 --event-bytes 800 --stream provisioned --buffer-seconds 60
 *   pnpm cost --events-per-second 1000 --event-bytes 500 --json     # the whole estimate as JSON
 *   pnpm cost --prices                                               # every price, its source and how it was checked
 */
import { ConfigError, DEFAULT_LIMITS } from '@snowgate/core';
import { PRICE_LIST, estimateMonthlyCost, requestBodyBytes, type CostEstimate, type CostInputRaw, type ListPrice } from '@snowgate/cost';
import { parseCommandLine, usageError } from './args';

const usage = `Usage: pnpm cost --events-per-second N --event-bytes B [--batch K] [options]

  --events-per-second N   average events per second, sustained over a 30-day month
  --event-bytes B         average size of one event's JSON as sent
  --batch K               events per request (default 1; at most ${DEFAULT_LIMITS.maxRecordsPerRequest})
  --region R              only us-east-1 prices are shipped (default us-east-1)
  --stream MODE           on-demand (default) or provisioned
  --shards N              provisioned: shards to pay for (default: the fewest that take the load)
  --buffer-seconds S      Firehose buffer interval (default 5)
  --buffer-mib M          Firehose buffer size (default 1)
  --reject-rate R         share of events rejected and quarantined, 0..1 (default 0)
  --memory-mb M           Lambda memory (default 1024)
  --network-ms MS         time per invocation waiting on Kinesis, added to the CPU estimate (default 20)
  --lambda-ms MS          billed duration per invocation, replacing the estimate
  --log-bytes B           CloudWatch log bytes per request (default 1200)
  --credit-usd USD        Snowflake credit price (default 3.00: Enterprise, AWS us-east-1, on demand)
  --json                  print the estimate as JSON
  --prices                list every price with its source and how it was checked
  -h, --help              print this help

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
    'buffer-seconds': { type: 'string' },
    'buffer-mib': { type: 'string' },
    'reject-rate': { type: 'string' },
    'memory-mb': { type: 'string' },
    'network-ms': { type: 'string' },
    'lambda-ms': { type: 'string' },
    'log-bytes': { type: 'string' },
    'credit-usd': { type: 'string' },
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
  bufferSeconds: num(values['buffer-seconds']),
  bufferMiB: num(values['buffer-mib']),
  rejectRate: num(values['reject-rate']),
  memoryMb: num(values['memory-mb']),
  networkMs: num(values['network-ms']),
  lambdaMs: num(values['lambda-ms']),
  logBytesPerRequest: num(values['log-bytes']),
  creditUsd: num(values['credit-usd']),
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
  `Stage: Kinesis ${i.stream}${d.shards !== undefined ? ` (${d.shards} shard${d.shards === 1 ? '' : 's'})` : ''}, Firehose buffer ${i.bufferMiB} MiB / ${i.bufferSeconds} s,` +
    ` Lambda ${count(i.memoryMb)} MB billed ${d.lambdaBilledMs} ms per invocation${i.lambdaMs === undefined ? ` (${i.networkMs} ms network + CPU estimate)` : ' (given)'}`,
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
  `- Per request (API Gateway, Lambda, logs): $${usd(perRequest)} of $${usd(estimate.monthlyUsd)}. These fall with the batch size; nothing else does.`,
);
console.log(
  `- Firehose bills each record as ${count(d.firehoseBilledBytes)} B (actual ${count(d.firehoseRecordBytes)} B, ${(d.firehoseBilledBytes / d.firehoseRecordBytes).toFixed(1)}×):` +
    ' rounding is per record, so batching records into requests does not change it; bigger events up to the next 5 KB cost nothing more.',
);
const byInterval =
  d.flushSeconds < i.bufferSeconds
    ? `${i.bufferMiB} MiB fills every ${d.flushSeconds.toFixed(2)} s`
    : `the ${i.bufferSeconds} s interval comes first`;
console.log(
  `- Landing files: ${byInterval} → ${count(d.landingFilesPerDay)} files/day of ~${fileSize(d.landingFileBytes)}` +
    ` (a delivery stream with data in every ${i.bufferSeconds} s window writes ${count(86_400 / i.bufferSeconds)} files/day). Each is one S3 PUT, one S3 GET and one Snowpipe load.`,
);
console.log(
  `- Snowpipe is billed per GB loaded (credit-per-GB model), so small files no longer cost Snowpipe more; under the legacy model the per-file overhead alone would be $${usd(d.snowpipeLegacyFileOverheadUsd)}/month.`,
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
  'Not modelled: free tiers; data transfer (none if Snowflake runs in the same region); KMS calls of the encrypted stream; stream retention beyond 24 h;' +
    ' Lambda init (cold start) time; tiers above the first for Lambda, Firehose and S3; Snowflake storage and queries. Method and sources: docs/COST.md.',
);

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
