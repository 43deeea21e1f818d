import type { $ZodError } from 'zod/v4/core';

/**
 * A zod error as the problems it lists, one per issue, each naming where it is
 * (`limits.maxDepth: Too big: expected number to be <=1000`). Every place that
 * turns a failed parse into a `ConfigError` uses it, so that all of them read alike.
 *
 * @example
 * formatZodError(error)                   // → '  - limits.maxDepth: …\n  - streamName: …'
 * formatZodError(error, { inline: true }) // → 'limits.maxDepth: …; streamName: …'
 */
export function formatZodError(error: $ZodError, options: { root?: string; inline?: boolean } = {}): string {
  const { root = '(root)', inline = false } = options;
  const problems = error.issues.map((i) => `${i.path.map(String).join('.') || root}: ${i.message}`);
  return inline ? problems.join('; ') : problems.map((p) => `  - ${p}`).join('\n');
}
