/**
 * Charts' text alternatives: the numbers a chart draws, as a table (caption, column headers, one
 * row per x value or per bar) that ChartData shows under the chart for keyboards and screen readers.
 */
import { CLOCK_HZ } from '../../../core/api/index.js';
import { groupDigits } from './format.js';

export interface ChartTable {
  caption: string;
  columns: string[];
  rows: string[][];
  /** Per column: every cell is a number (right-aligned, grouped digits). */
  numeric: boolean[];
}

/** A drawn value as the table shows it: up to 4 significant digits past the point, grouped; a gap is "—". */
export function cellValue(v: number | null | undefined): string {
  if (v == null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  const s = Number.isInteger(v) || a >= 1000 ? v.toFixed(0) : a >= 1 ? String(+v.toFixed(2)) : String(+v.toPrecision(3));
  return groupDigits(s);
}

/**
 * A live chart's table: simulated time (ms at the run's clock) and one column per line, from the
 * aligned data the chart draws ([x in cycles, ...one y array per series]).
 */
export function liveChartTable(title: string, yLabel: string, series: readonly { label: string }[], data: readonly (readonly (number | null)[])[], clockHz = CLOCK_HZ): ChartTable {
  const xs = data[0] ?? [];
  const msPerCycle = 1000 / clockHz;
  const rows = xs.map((x, i) => [x == null ? '—' : groupDigits((x * msPerCycle).toFixed(3)), ...series.map((_, s) => cellValue(data[s + 1]?.[i]))]);
  return {
    caption: `${title}: ${yLabel} over simulated time`,
    columns: ['simulated time (ms)', ...series.map((s) => s.label)],
    rows,
    numeric: [true, ...series.map(() => true)],
  };
}

/** RFC 4180 CSV: fields split on commas, quoted fields may hold commas, quotes ("") and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}

const NUMBER = /^-?\d+(\.\d+)?([eE][-+]?\d+)?$/;

/** A chart's CSV export (its first line the headers) as its table: the same numbers the file holds. */
export function csvTable(caption: string, csv: string): ChartTable {
  const [head = [], ...body] = parseCsv(csv).filter((r) => r.some((f) => f !== ''));
  const numeric = head.map((_, c) => body.length > 0 && body.every((r) => NUMBER.test(r[c] ?? '') || (r[c] ?? '') === ''));
  const rows = body.map((r) => head.map((_, c) => (numeric[c] && r[c] !== '' ? cellValue(Number(r[c])) : (r[c] ?? ''))));
  return { caption, columns: head.map((h) => h.replace(/_/g, ' ')), rows, numeric };
}
