/**
 * Turning a run into a file: CSV of the results (one row per domain, the contract fields of
 * DESIGN.md §6 flattened) and the file name the save dialog or download suggests.
 */
import type { RunKind, SavedCompare } from '../../core/api/host.js';
import type { DomainResults, Results } from '../../core/api/results.js';

/**
 * The columns of a results CSV, each a dotted path into DomainResults. The names are the
 * contract's, so a spreadsheet column reads the same as the JSON field it came from.
 */
export const RESULTS_CSV_COLUMNS = [
  'name',
  'mode',
  'ops',
  'cycles.total',
  'cycles.guest',
  'cycles.hypervisor',
  'cycles.walk',
  'cycles.perOp',
  'tlb.lookups',
  'tlb.hits',
  'tlb.misses',
  'tlb.missRate',
  'walk.walks',
  'walk.refs',
  'walk.refsPerWalk',
  'walk.maxRefs',
  'vmexits.total',
  'hypercalls.total',
  'ptUpdates',
  'pageFaults.guest',
  'pageFaults.hidden',
] as const;

/** RFC 4180 line break: CRLF, which every spreadsheet accepts (a bare LF is only tolerated). */
const CRLF = '\r\n';

/** One field, quoted only when it must be (comma, quote, CR or LF), quotes doubled. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return '';
  const s = typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function csvRow(fields: readonly unknown[]): string {
  return fields.map(csvField).join(',');
}

/** A whole document: every row ends with CRLF, including the last (RFC 4180 allows either). */
export function toCsv(rows: readonly (readonly unknown[])[]): string {
  return rows.map((r) => csvRow(r) + CRLF).join('');
}

function at(obj: unknown, path: string): unknown {
  let v: unknown = obj;
  for (const key of path.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[key];
  }
  return v;
}

/** The results as CSV: a header of RESULTS_CSV_COLUMNS, then one row per domain in run order. */
export function resultsCsv(results: Pick<Results, 'domains'>): string {
  const rows: unknown[][] = [[...RESULTS_CSV_COLUMNS]];
  for (const d of results.domains as DomainResults[]) rows.push(RESULTS_CSV_COLUMNS.map((c) => at(d, c)));
  return toCsv(rows);
}

/**
 * A comparison as CSV: the compared guest's row of RESULTS_CSV_COLUMNS under each mode (its mode
 * column says which); a sweep has one row per (value, mode) point, led by a column named after
 * the swept parameter.
 */
export function compareCsv(c: SavedCompare): string {
  const guestRow = (r: Results): DomainResults | undefined => r.domains.find((d) => d.name === c.guest) ?? r.domains.find((d) => d.role !== 'dom0');
  if (c.sweep && c.sweepPoints) {
    const rows: unknown[][] = [[c.sweep.param, ...RESULTS_CSV_COLUMNS]];
    for (const p of c.sweepPoints) {
      const d = guestRow(p.results);
      if (d) rows.push([p.value, ...RESULTS_CSV_COLUMNS.map((col) => at(d, col))]);
    }
    return toCsv(rows);
  }
  const rows: unknown[][] = [[...RESULTS_CSV_COLUMNS]];
  for (const r of c.result.runs) {
    const d = guestRow(r.results);
    if (d) rows.push(RESULTS_CSV_COLUMNS.map((col) => at(d, col)));
  }
  return toCsv(rows);
}

/**
 * A scenario name made safe for a file name on every OS: ASCII letters, digits, '.', '_' and '-'
 * survive, runs of anything else ('/' and '\\' above all) become one '-', and there is no leading
 * dot (a hidden file on Unix) or trailing dot (silently dropped by Windows).
 */
export function sanitizeForFilename(name: string, max = 64): string {
  const s = name
    // é → e rather than '-': decompose, then drop the combining accents.
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z0-9._-]+/g, '-')
    .replace(/-{2,}/g, '-')
    .replace(/^[-.]+|[-.]+$/g, '')
    .slice(0, max)
    .replace(/[-.]+$/g, '');
  return s || 'run';
}

/** `hyperlab-<kind>-<id>-<scenario>.<ext>`, e.g. hyperlab-run-12-walk-4k.csv, hyperlab-sweep-13-walk-4k.json. */
export function exportFilename(id: number, scenarioName: string, ext: 'json' | 'csv', kind: RunKind = 'run'): string {
  return `hyperlab-${kind}-${id}-${sanitizeForFilename(scenarioName)}.${ext}`;
}
