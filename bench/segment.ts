/**
 * The Segment routes' own cost: what differs between `POST /events` and `POST /v1/batch` is how the body is
 * read (decode, split, the id taken from messageId and appended, the envelope); delivery is the same code.
 * This measures that part, in process and on CPU time, with the same 100 Segment-shaped messages as an
 * `/events` array and as a Segment batch, plain and gzipped (RudderStack's wire format), the scenarios
 * interleaved round by round so that a busy machine weighs on each alike.
 *
 *   pnpm bench:segment              # 30 rounds of 200 requests per scenario
 *   pnpm bench:segment --rounds 10
 *
 * Results print as a table and are written to .bench/segment.json.
 */
import { assessRequest, assessSegmentRequest, limitsSchema, type Assessment, type IncomingRequest } from '@snowgate/core';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { parseCommandLine } from '../cli/args';
import { segmentBatch, segmentMessage } from './support/segment-messages';
import { machineInfo } from './support/machine';

const USAGE = `Usage: pnpm bench:segment [--rounds N] [--requests N]

The in-process cost of reading a body of 100 Segment-shaped messages on POST /events
and on POST /v1/batch (plain, and gzipped as RudderStack sends it), on CPU time,
the scenarios interleaved. Writes .bench/segment.json.

Options:
  --rounds N     rounds, each running every scenario once (default 30)
  --requests N   requests per scenario per round (default 200)
  -h, --help     print this help

Example:
  pnpm bench:segment --rounds 10`;

const { values } = parseCommandLine('pnpm bench:segment', USAGE, {
  options: { rounds: { type: 'string', default: '30' }, requests: { type: 'string', default: '200' } },
});
const rounds = Number(values.rounds);
const requests = Number(values.requests);
const BATCH = 100;
const limits = limitsSchema.parse({});

const ids = Array.from({ length: BATCH }, (_, i) => `m-${i}`);
const eventsBody = JSON.stringify(ids.map((id) => segmentMessage(id, true)));
const batchBody = segmentBatch(ids);
// Compressed once, as a producer would: the same bytes every time, so that the benchmark times reading them.
const eventsGzip = gzipSync(eventsBody);
const batchGzip = gzipSync(batchBody);

const request = (body: string | Buffer, headers: Record<string, string>): IncomingRequest => ({
  requestId: 'bench',
  receivedAt: new Date(),
  headers,
  body: typeof body === 'string' ? body : body.toString('base64'),
  isBase64Encoded: typeof body !== 'string',
});
const json = { 'content-type': 'application/json' };
const scenarios: { name: string; run: () => Assessment }[] = [
  { name: 'POST /events, JSON array', run: () => assessRequest(request(eventsBody, json), limits) },
  { name: 'POST /v1/batch, JSON', run: () => assessSegmentRequest(request(batchBody, json), 'batch', limits) },
  {
    name: 'POST /events, gzip',
    run: () => assessRequest(request(eventsGzip, { ...json, 'content-encoding': 'gzip' }), limits),
  },
  {
    name: 'POST /v1/batch, gzip, form-urlencoded (RudderStack)',
    run: () =>
      assessSegmentRequest(
        request(batchGzip, { 'content-type': 'application/x-www-form-urlencoded', 'content-encoding': 'gzip' }),
        'batch',
        limits,
      ),
  },
];
for (const s of scenarios) if (s.run().accepted.length !== BATCH) throw new Error(`${s.name}: not every message accepted`);

const samples = new Map(scenarios.map((s) => [s.name, [] as number[]]));
for (let round = 0; round < rounds + 2; round++) {
  for (const s of round % 2 ? scenarios : [...scenarios].reverse()) {
    const before = process.cpuUsage();
    for (let i = 0; i < requests; i++) s.run();
    const used = process.cpuUsage(before);
    // The first two rounds warm V8 up.
    if (round >= 2) samples.get(s.name)!.push((requests * BATCH) / ((used.user + used.system) / 1e6));
  }
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const rate = (name: string) => Math.round(median(samples.get(name)!));
const results = scenarios.map((s, i) => {
  const events = rate(s.name);
  const baseline = i % 2 === 1 ? rate(scenarios[i - 1]!.name) : undefined;
  return {
    scenario: s.name,
    body_bytes: [Buffer.byteLength(eventsBody), Buffer.byteLength(batchBody), eventsGzip.byteLength, batchGzip.byteLength][i],
    events_per_cpu_s: events,
    vs_events: baseline ? Math.round((events / baseline) * 100) / 100 : '',
  };
});
const machine = machineInfo();
const root = new URL('../', import.meta.url).pathname;
mkdirSync(join(root, '.bench'), { recursive: true });
writeFileSync(join(root, '.bench/segment.json'), JSON.stringify({ machine, rounds, requests, results }, null, 2));
console.log(
  `machine: ${machine.cpus} × ${machine.model}, Node ${machine.node}; ${rounds} rounds of ${requests} requests of ${BATCH} messages`,
);
console.table(results);
