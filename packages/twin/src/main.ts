/**
 * `pnpm start`: runs the local twin until Ctrl-C, then drains it: every
 * accepted record is delivered and loaded before the process exits.
 */
import { startTwin, type Twin } from './twin';
import { twinOptionsFromCli } from './options';
import { readyBanner } from './banner';
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
console.log(readyBanner({ endpoints: twin.endpoints, contracts: twin.status().contracts, auth: twin.auth, dataDir: twin.dataDir }));

function line(twin: Twin): string {
  const s = twin.status();
  return `accepted ${s.api.accepted} · quarantined ${s.api.quarantinedRecords}${s.contracts.mode === 'warn' ? ` · schema warnings ${s.api.schemaWarnings}` : ''} · files ${s.firehose.deliveredFiles} · loaded rows ${s.snowpipe.loadedRows} · skipped files ${s.snowpipe.skippedFiles} · buffered ${s.lag.bufferedRecords} · files waiting ${s.lag.filesWaiting}${s.deliveryFailed ? ` · DELIVERY FAILED: ${s.deliveryFailed}` : ''}`;
}
if (process.stdout.isTTY && !stopping) ticker = setInterval(() => console.log(line(twin)), 10_000);

