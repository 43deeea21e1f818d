/**
 * `pnpm start`: runs the local twin until Ctrl-C, then drains it: every
 * accepted record is delivered and loaded before the process exits.
 */
import { startTwin } from './twin';
import { twinOptionsFromCli } from './options';

const twin = await startTwin(twinOptionsFromCli(process.argv.slice(2), process.env));
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

const line = () => {
  const s = twin.status();
  return `accepted ${s.api.accepted} · quarantined ${s.api.quarantinedRecords}${s.contracts.mode === 'warn' ? ` · schema warnings ${s.api.schemaWarnings}` : ''} · files ${s.firehose.deliveredFiles} · loaded rows ${s.snowpipe.loadedRows} · skipped files ${s.snowpipe.skippedFiles} · buffered ${s.lag.bufferedRecords} · files waiting ${s.lag.filesWaiting}${s.deliveryFailed ? ` · DELIVERY FAILED: ${s.deliveryFailed}` : ''}`;
};
const ticker = process.stdout.isTTY ? setInterval(() => console.log(line()), 10_000) : undefined;

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) {
      console.error('Stopping now, without draining.');
      process.exit(130);
    }
    stopping = true;
    clearInterval(ticker);
    console.log(`\n${signal}: draining (delivering buffered records and loading them)…`);
    twin.stop().then(
      () => {
        console.log(`Stopped. ${line()}`);
        process.exit(0);
      },
      (error) => {
        console.error('Drain failed:', error);
        process.exit(1);
      },
    );
  });
}
