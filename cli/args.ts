import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * A script's command line, parsed the same way in every script (node:util parseArgs):
 * `--help` / `-h` prints `usage` and exits 0; an unknown or malformed option prints
 * one line naming the command and exits 2.
 *
 * @example
 * const { values } = parseCommandLine('pnpm synth', USAGE, { options: { stage: { type: 'string', default: 'dev' } } });
 */
export function parseCommandLine<const T extends ParseArgsConfig>(command: string, usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  let parsed;
  try {
    parsed = parseArgs({ ...config, options: { ...config.options, help: { type: 'boolean', short: 'h' } } });
  } catch (error) {
    console.error(`${command}: ${(error as Error).message.split('\n')[0]} (see ${command} --help)`);
    process.exit(2);
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed as ReturnType<typeof parseArgs<T>>;
}

/** Prints one line naming the command and exits 2: bad input, not a crash. */
export function usageError(command: string, message: string): never {
  console.error(`${command}: ${message} (see ${command} --help)`);
  process.exit(2);
}
