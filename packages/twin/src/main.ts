/**
 * `pnpm start`: runs the local twin until Ctrl-C, then drains it: every
 * accepted record is delivered and loaded before the process exits.
 */
import { startTwin } from './twin';
import { twinOptionsFromCli } from './options';
import { readyBanner } from './banner';

const twin = await startTwin(twinOptionsFromCli(process.argv.slice(2), process.env));
console.log(readyBanner({ endpoints: twin.endpoints, contracts: twin.status().contracts, auth: twin.auth, dataDir: twin.dataDir }));

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
