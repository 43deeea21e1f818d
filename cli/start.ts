/**
 * `pnpm start`: runs the local twin until Ctrl-C, then drains it: every
 * accepted record is delivered and loaded before the process exits.
 */
import { drainOnSignals, readyBanner, startTwin, statusLine, twinOptionsFromCli } from '@snowgate/twin';

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
    console.log(`Stopped. ${statusLine(twin.status())}`);
  },
  exit: (code) => process.exit(code),
});
const twin = await starting;
console.log(readyBanner({ endpoints: twin.endpoints, contracts: twin.status().contracts, auth: twin.auth, dataDir: twin.dataDir }));

if (process.stdout.isTTY && !stopping) ticker = setInterval(() => console.log(statusLine(twin.status())), 10_000);
