// Printing results: aligned plain-text tables on the terminal, the same rows as Markdown for bench/README.md.
import type { Spread } from './stats.js';

export interface Table {
  title: string;
  columns: string[];
  rows: string[][];
  notes?: string[];
}

export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** "1,234 (1,100–1,300)" */
export function formatSpread(value: Spread, digits = 0, unit = ''): string {
  if (value.n === 0) return 'n/a';
  if (value.n === 1) return `${formatNumber(value.median, digits)}${unit}`;
  return `${formatNumber(value.median, digits)}${unit} (${formatNumber(value.min, digits)}–${formatNumber(value.max, digits)})`;
}

/** A ratio with two decimals, "×" suffix, with its min–max; a target verdict when given. */
export function formatRatio(value: Spread, target?: { op: '>=' | '<='; bound: number }): string {
  const text = formatSpread(value, 2, '×');
  if (!target || value.n === 0) return text;
  const met = target.op === '>=' ? value.median >= target.bound : value.median <= target.bound;
  return `${text} ${met ? 'met' : 'MISSED'} (target ${target.op} ${target.bound})`;
}

export function renderText(table: Table): string {
  const widths = table.columns.map((column, index) => Math.max(column.length, ...table.rows.map((row) => (row[index] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, index) => cell.padEnd(widths[index]!))
      .join('  ')
      .trimEnd();
  const out = [`\n== ${table.title}`, line(table.columns), line(widths.map((width) => '-'.repeat(width)))];
  for (const row of table.rows) out.push(line(row));
  for (const note of table.notes ?? []) out.push(`  * ${note}`);
  return out.join('\n');
}

export function renderMarkdown(table: Table): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  const out = [`### ${table.title}`, '', `| ${table.columns.map(escape).join(' | ')} |`, `|${table.columns.map(() => '---').join('|')}|`];
  for (const row of table.rows) out.push(`| ${row.map(escape).join(' | ')} |`);
  if (table.notes?.length) out.push('', ...table.notes.map((note) => `- ${note}`));
  return out.join('\n');
}
