import type { $ZodError } from 'zod/v4/core';

/**
 * A zod error as the problems it lists, one per issue, each naming where it is
 * (`limits.maxDepth: Too big: expected number to be <=1000`), an unknown key at
 * its own path (`firehose.bufferIntervalSecond: unknown key`). Every place that
 * turns a failed parse into a `ConfigError` uses it, so that all of them read alike.
 *
 * @example
 * formatZodError(error)                   // → '  - limits.maxDepth: …\n  - streamName: …'
 * formatZodError(error, { inline: true }) // → 'limits.maxDepth: …; streamName: …'
 */
export function formatZodError(error: $ZodError, options: { root?: string; inline?: boolean } = {}): string {
  const { root = '(root)', inline = false } = options;
  const where = (path: readonly PropertyKey[]) => path.map(String).join('.') || root;
  const problems = error.issues.flatMap((i) => {
    if (i.code !== 'unrecognized_keys') return [`${where(i.path)}: ${i.message}`];
    // A problem per unknown key, at its own path; `unknownKeysErrorMap` writes one message line per key.
    const lines = i.message.split('\n');
    return i.keys.map((key, n) => `${where([...i.path, key])}: ${lines.length === i.keys.length ? lines[n] : 'unknown key'}`);
  });
  return inline ? problems.join('; ') : problems.map((p) => `  - ${p}`).join('\n');
}
