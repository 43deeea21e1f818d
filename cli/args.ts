import { parseArgs, type ParseArgsConfig } from 'node:util';

/** The command line was wrong (an unknown option, a missing value, a bad argument): one line, exit 2, never a stack. */
export class UsageError extends Error {
  override name = 'UsageError';
  /** @param parserMessage node:util parseArgs's own first line, when it was parseArgs that refused the command line. */
  constructor(
    message: string,
    readonly parserMessage?: string,
  ) {
    super(message);
  }
}

type Parsed<T extends ParseArgsConfig> = ReturnType<typeof parseArgs<T>> & { values: { help?: boolean } };

/**
 * node:util parseArgs with `--help` / `-h` added to the options. A malformed command line
 * throws a {@link UsageError} whose message names the argument in a few words.
 *
 * @example
 * parseArguments({ options: { send: { type: 'boolean' } } }); // `--nope` → UsageError('unknown option --nope')
 */
export function parseArguments<const T extends ParseArgsConfig>(config: T): Parsed<T> {
  try {
    return parseArgs({ ...config, options: { ...config.options, help: { type: 'boolean', short: 'h' } } }) as Parsed<T>;
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    const firstLine = message.split('\n')[0]!;
    const quoted = /'([^']*)'/.exec(message)?.[1];
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') throw new UsageError(`unknown option ${quoted}`, firstLine);
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') throw new UsageError(`unexpected argument ${quoted}`, firstLine);
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      throw new UsageError(
        quoted?.endsWith(' <value>') ? `${quoted.slice(0, -' <value>'.length)} needs a value` : `${quoted} takes no value`,
        firstLine,
      );
    }
    throw new UsageError(firstLine, firstLine);
  }
}

/**
 * A command's line, parsed the same way in every command (node:util parseArgs):
 * `--help` / `-h` prints `usage` and exits 0; an unknown or malformed option prints
 * one line naming the command and exits 2.
 *
 * @example
 * const { values } = parseCommandLine('pnpm synth', USAGE, { options: { stage: { type: 'string', default: 'dev' } } });
 */
export function parseCommandLine<const T extends ParseArgsConfig>(command: string, usage: string, config: T): Parsed<T> {
  let parsed: Parsed<T>;
  try {
    parsed = parseArguments(config);
  } catch (error) {
    usageError(command, (error as UsageError).parserMessage ?? (error as Error).message);
  }
  if (parsed.values.help) {
    console.log(usage);
    process.exit(0);
  }
  return parsed;
}

/** Prints one line naming the command and exits 2: bad input, not a crash. */
export function usageError(command: string, message: string): never {
  console.error(`${command}: ${message} (see ${command} --help)`);
  process.exit(2);
}
