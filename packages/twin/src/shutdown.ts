/**
 * Stopping on a signal, with a drain first.
 *
 * A terminal's Ctrl-C sends SIGINT to the whole process group: the twin gets it
 * from the terminal and, moments later, again from every wrapper in front of it
 * that relays what it received (pnpm relays SIGINT and SIGTERM to its script;
 * tsx's CLI relays once more when the child does not confirm in time). Those
 * echoes are the same keypress, not a person asking twice. So a signal that
 * arrives within `echoWindowMs` of the first is ignored, and only one after that
 * window forces a stop without draining.
 */

export type ShutdownSignal = 'SIGINT' | 'SIGTERM';

export interface ShutdownOptions {
  /** Starts the drain; its promise settles when everything accepted is delivered and loaded. */
  drain(signal: ShutdownSignal): Promise<void>;
  /** Called once the drain settled (`code` 0, or 1 if it failed) or on a forced stop (`code` 130). */
  exit(code: number): void;
  /** Signals within this many ms of the first are echoes of it. Default 1,000. */
  echoWindowMs?: number;
  /** Where the messages go. */
  log?: (line: string) => void;
  error?: (line: string, cause?: unknown) => void;
  /** The clock, for tests. */
  now?: () => number;
}

/**
 * Returns the listener to attach to SIGINT and SIGTERM.
 *
 * @example
 * const onSignal = shutdownHandler({ drain: () => twin.stop(), exit: (code) => process.exit(code) });
 * process.on('SIGINT', onSignal); process.on('SIGTERM', onSignal);
 */
export function shutdownHandler(options: ShutdownOptions): (signal: ShutdownSignal) => void {
  const { echoWindowMs = 1_000, log = console.log, error = console.error, now = Date.now } = options;
  let firstAt: number | undefined;
  return (signal) => {
    if (firstAt === undefined) {
      firstAt = now();
      log(`\n${signal}: draining (delivering buffered records and loading them)… Ctrl-C again to stop without draining.`);
      options.drain(signal).then(
        () => options.exit(0),
        (cause) => {
          error('Drain failed:', cause);
          options.exit(1);
        },
      );
      return;
    }
    if (now() - firstAt < echoWindowMs) return;
    error('Stopping now, without draining: what was accepted and not yet loaded is loaded at the next start.');
    options.exit(130);
  };
}

/** Attaches {@link shutdownHandler} to SIGINT and SIGTERM of this process. */
export function drainOnSignals(options: ShutdownOptions): void {
  const onSignal = shutdownHandler(options);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}
