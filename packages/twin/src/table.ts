/**
 * Rows as a plain text table, as psql prints them: a header, a rule, one line
 * per row (numbers right-aligned, NULL for null, JSON for objects), then the count.
 *
 * @example
 * formatTable(['id', 'n'], [{ id: 'a', n: 3 }])
 * // → ' id | n\n----+---\n a  | 3\n(1 row)'
 */
export function formatTable(columns: string[], rows: Record<string, unknown>[]): string {
  const cell = (value: unknown) =>
    value === null || value === undefined ? 'NULL' : typeof value === 'object' ? JSON.stringify(value) : String(value);
  const cells = rows.map((row) => columns.map((c) => cell(row[c])));
  const numeric = columns.map((c) => rows.length > 0 && rows.every((row) => typeof row[c] === 'number' || row[c] === null));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((line) => line[i]!.length)));
  const line = (values: string[], header = false) =>
    values
      .map((v, i) => ` ${!header && numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)} `)
      .join('|')
      .trimEnd();
  return [
    line(columns, true),
    widths.map((w) => '-'.repeat(w + 2)).join('+'),
    ...cells.map((values) => line(values)),
    `(${rows.length} ${rows.length === 1 ? 'row' : 'rows'})`,
  ].join('\n');
}
