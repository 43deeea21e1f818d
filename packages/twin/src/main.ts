/**
 * `pnpm start`: runs the local twin until Ctrl-C, then drains it: every
 * accepted record is delivered and loaded before the process exits.
 */
import { startTwin, type Twin } from './twin';
import { twinOptionsFromCli } from './options';
import { drainOnSignals } from './shutdown';

let ticker: NodeJS.Timeout | undefined;
let stopping = false;
const starting = startTwin(twinOptionsFromCli(process.argv.slice(2), process.env));
// Attached before the twin is up, so that a Ctrl-C during start-up also waits for it and drains.
drainOnSignals({
  drain: async () => {
    stopping = true;
    clearInterval(ticker);
    const twin = await starting;
    await twin.stop();
    console.log(`Stopped. ${line(twin)}`);
  },
  exit: (code) => process.exit(code),
});
const twin = await starting;
const e = twin.endpoints;
console.log(`Snowgate local twin is ready.

  Dashboard ${e.api}/         counts, throughput, lag, the quarantine, copy history, a query box
  POST ${e.api}/events      send events (application/json or application/x-ndjson)
  GET  ${e.api}/health
  GET  ${e.api}/status      counts and lag
  Contracts ${twin.status().contracts.mode}${twin.status().contracts.schemas.length ? ` (${twin.status().contracts.schemas.join(', ')})` : ''}
  Kinesis ${e.kinesis}  stream ${e.stream}
  S3      ${e.s3}  buckets ${e.buckets.landing}, ${e.buckets.errors}
  DuckDB  ${e.warehouse}

  Try:   curl -s -X POST ${e.api}/events -H 'content-type: application/json' -d '{"id":"hello-1","type":"greeting"}'
  Query: pnpm query "select record->>'id' as id, received_at from raw_events order by loaded_at desc limit 5"

Ctrl-C stops it after delivering and loading everything accepted.`);

function line(twin: Twin): string {
  const s = twin.status();
  return `accepted ${s.api.accepted} · quarantined ${s.api.quarantinedRecords}${s.contracts.mode === 'warn' ? ` · schema warnings ${s.api.schemaWarnings}` : ''} · files ${s.firehose.deliveredFiles} · loaded rows ${s.snowpipe.loadedRows} · skipped files ${s.snowpipe.skippedFiles} · buffered ${s.lag.bufferedRecords} · files waiting ${s.lag.filesWaiting}${s.deliveryFailed ? ` · DELIVERY FAILED: ${s.deliveryFailed}` : ''}`;
}
if (process.stdout.isTTY && !stopping) ticker = setInterval(() => console.log(line(twin)), 10_000);

