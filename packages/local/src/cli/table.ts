/** A plain-text table for the terminal: a header, a rule, and left-aligned columns. */
export function formatTable(
  rows: Array<Record<string, string | number | null | undefined>>,
  columns: string[],
): string {
  const cell = (value: string | number | null | undefined) =>
    value === null || value === undefined ? '-' : String(value);
  const widths = columns.map((column) =>
    Math.max(column.length, ...rows.map((row) => cell(row[column]).length)),
  );
  const line = (values: string[]) =>
    values
      .map((value, i) => value.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [
    line(columns),
    line(widths.map((w) => '-'.repeat(w))),
    ...rows.map((row) => line(columns.map((c) => cell(row[c])))),
  ].join('\n');
}

export const formatDuration = (ms: number) =>
  ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
