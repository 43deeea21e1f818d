import type { $ZodErrorMap } from 'zod/v4/core';

/**
 * Edit distance (optimal string alignment): the fewest single-character insertions,
 * deletions, substitutions or swaps of two neighbours that turn `a` into `b`. Swaps
 * count once because they are the commonest typo (`emial`).
 *
 * @example
 * editDistance('bufferIntervalSecond', 'bufferIntervalSeconds') // → 1
 * editDistance('emial', 'email')                                // → 1
 */
export function editDistance(a: string, b: string): number {
  // The full table: the names compared here are short.
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[i - 2]![j - 2]! + 1);
      d[i]![j] = best;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The known name closest to `name`, ignoring case, when it is close enough to be
 * a likely typo: at most a third of the name's characters differ (one for short names).
 *
 * @example
 * closestName('bufferIntervalSecond', ['bufferSizeMiB', 'bufferIntervalSeconds']) // → 'bufferIntervalSeconds'
 * closestName('delivery', ['firehose', 'ingest'])                                 // → undefined
 */
export function closestName(name: string, known: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(name.length / 3));
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(name.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { name: candidate, distance };
  }
  return best?.name;
}

/**
 * What to say of one unknown key: the closest known name, or else every known name.
 *
 * @example
 * unknownKeyMessage('bufferIntervalSecond', ['bufferSizeMiB', 'bufferIntervalSeconds']) // → 'unknown key; did you mean "bufferIntervalSeconds"?'
 */
export function unknownKeyMessage(key: string, known: readonly string[]): string {
  const closest = closestName(key, known);
  return closest ? `unknown key; did you mean "${closest}"?` : `unknown key; known here: ${known.join(', ')}`;
}

/**
 * A zod error map for strict objects (pass it as `error` to `safeParse`): an
 * `unrecognized_keys` issue gets one line per key, in the issue's order, each
 * with a suggestion from the object's own keys. `formatZodError` lists each
 * line under its key's path. Other issues keep zod's message.
 */
export const unknownKeysErrorMap: $ZodErrorMap = (issue) => {
  if (issue.code !== 'unrecognized_keys') return undefined;
  const shape = (issue.inst as { _zod?: { def?: { shape?: object } } } | undefined)?._zod?.def?.shape;
  if (!shape) return undefined;
  const known = Object.keys(shape);
  return issue.keys.map((key) => unknownKeyMessage(key, known)).join('\n');
};
