/** How the CLI prints: tables for people (cli-table3), JSON for scripts (`--json`). */
import Table from 'cli-table3';

export interface Output {
  json: boolean;
}

export type Column<T> = [header: string, value: (row: T) => unknown];

/** One result: pretty JSON with --json, else `render` for people. */
export function emit(out: Output, result: unknown, render: () => void): void {
  if (out.json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
  else render();
}

/** Rows as a table (or as JSON with --json). */
export function table<T>(out: Output, rows: T[], columns: Array<Column<T>>, empty = '(none)'): void {
  emit(out, rows, () => {
    if (rows.length === 0) {
      process.stdout.write(`${empty}\n`);
      return;
    }
    // compact: no rule between rows, so a long table stays readable in a terminal
    const t = new Table({ head: columns.map(([h]) => h), style: { head: [], border: [], compact: true } });
    for (const row of rows) t.push(columns.map(([, value]) => cell(value(row))));
    process.stdout.write(`${t.toString()}\n`);
  });
}

/** An object as `key  value` lines (nested objects as compact JSON). */
export function details(out: Output, value: Record<string, unknown>, fields?: string[]): void {
  emit(out, value, () => {
    const keys = fields ?? Object.keys(value);
    const width = Math.max(...keys.map((k) => k.length));
    for (const k of keys) {
      if (value[k] === undefined) continue;
      process.stdout.write(`${k.padEnd(width)}  ${cell(value[k])}\n`);
    }
  });
}

export function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toPrecision(4);
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/** A short time: `2026-12-06 16:03:36`. */
export function when(iso: unknown): string {
  return typeof iso === 'string' ? iso.replace('T', ' ').replace(/\.\d+Z$/, '') : '-';
}

/** The most telling test metric of a metrics object ({test: {...}}). */
export function headlineMetric(metrics: unknown): string {
  const test = (metrics as { test?: Record<string, number> } | null)?.test;
  if (!test) return '-';
  for (const name of ['rocAuc', 'macroF1', 'accuracy', 'rmse', 'r2']) {
    if (typeof test[name] === 'number') return `${name} ${test[name].toPrecision(4)}`;
  }
  return '-';
}
