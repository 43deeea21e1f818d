/**
 * Debian's Chromium, headless, driven by playwright-core: for `pnpm dashboard:screenshot`
 * and the browser tests. `SNOWGATE_CHROMIUM` names another binary.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.SNOWGATE_CHROMIUM ?? '/usr/bin/chromium';

/** Starts it headless. This machine's network is closed: Chromium is kept from calling home, and runs as root without its sandbox. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
    timeout: 30_000,
  });
}

/**
 * For a test: a browser, or why there is none (the test is then skipped with that message, not passed).
 * Under `CI=true` a missing Chromium fails the run instead: the browser tests are the only proof of what they test.
 */
export async function chromiumForTests(): Promise<{ browser?: Browser; why?: string }> {
  if (!existsSync(CHROMIUM)) {
    if (process.env.CI === 'true') throw new Error(`CI=true but no Chromium at ${CHROMIUM}`);
    return { why: `no Chromium at ${CHROMIUM} (apt-get install chromium, or set SNOWGATE_CHROMIUM)` };
  }
  try {
    return { browser: await launchChromium() };
  } catch (error) {
    return { why: `Chromium did not start: ${(error as Error).message.split('\n')[0]}` };
  }
}
