/**
 * Plain-text tables for the CLI. Pure functions (no Node), so they are unit-tested directly.
 */
import type { CompareResult, DomainResults, Results } from '../api/results.js';
import type { ReproEntryResult, ReproResult } from '../api/reproduction.js';
import type { SweepDocument } from '../sim/sweep.js';

const THIN = '\u2009';

/** 1234567.8 → "1 234 568" (thin-space thousands, rounded), or fixed decimals below 100. */
export function num(n: number, digits = 0): string {
  if (!Number.isFinite(n)) return '-';
  const fixed = Math.abs(n) < 100 && digits === 0 && !Number.isInteger(n) ? n.toFixed(1) : n.toFixed(digits);
  const [int, frac] = fixed.split('.');
  const withSep = int.replace(/\B(?=(\d{3})+(?!\d))/g, THIN);
  return frac ? `${withSep}.${frac}` : withSep;
}

/** Columns padded to their widest cell; the first (and any `left` column) left-aligned, numbers right. */
export function table(header: string[], rows: string[][], left: readonly number[] = [0]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => (left.includes(i) ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/**
 * Three significant digits (µs per op, ms simulated): 0.0333, 1.92, 45.6, 2 310 ('-' when the results
 * have no times: a document saved before CPU profiles).
 */
export function sig3(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  return num(n, a === 0 ? 0 : Math.min(6, Math.max(0, 2 - Math.floor(Math.log10(a)))));
}

/** "Pentium 4 / Xeon (NetBurst), 2.4 GHz (p4-2003)": the CPU profile a run used, or '' without one. */
export function cpuHeading(r: Pick<Results, 'cpu'>): string {
  const c = r.cpu as Results['cpu'] | undefined;
  return c ? `${c.label} (${c.profile})` : '';
}

function per(n: number, ops: number, scale = 1): number {
  return ops > 0 ? (n * scale) / ops : 0;
}

function top(rec: Record<string, number>, n = 2): string {
  return Object.entries(rec)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${num(v)}`)
    .join(', ');
}

export function formatRun(r: Results): string {
  const header = ['domain', 'mode', 'workload', 'ops', 'cycles/op', 'µs/op', 'guest', 'hyperv.', 'walk', 'TLB misses', 'refs/walk', 'exits', 'hypercalls', 'PF guest', 'PF hidden'];
  const rows = r.domains.map((d: DomainResults) => [
    d.name,
    d.mode,
    d.workload,
    num(d.ops),
    num(d.cycles.perOp),
    sig3(d.timeUs?.perOp),
    num(per(d.cycles.guest, d.ops)),
    num(per(d.cycles.hypervisor, d.ops)),
    num(per(d.cycles.walk, d.ops)),
    num(d.tlb.misses),
    num(d.walk.refsPerWalk, 2),
    num(d.vmexits.total),
    num(d.hypercalls.total),
    num(d.pageFaults.guest),
    num(d.pageFaults.hidden),
  ]);
  const audit = r.audit.ok
    ? `audit: ok (${num(r.audit.checked.frames)} tables, ${num(r.audit.checked.entries)} entries checked)`
    : `audit: ${r.audit.violations.length} violation(s)\n  ${r.audit.violations.slice(0, 10).join('\n  ')}`;
  const cpu = cpuHeading(r);
  const simulated = typeof r.simulatedMs === 'number' ? `, ${sig3(r.simulatedMs)} ms simulated` : '';
  return `${r.scenario} (seed ${r.seed}, ${r.hypervisor}, ${cpu ? `${cpu}, ` : ''}${r.machine.pcpus} pCPU, ${num(r.machine.memoryMiB)} MiB${simulated})\n${table(header, rows)}\ncycles split per op: guest / hypervisor / page walk; µs/op at the CPU's clock\n${audit}`;
}

/** The rows of the side-by-side comparison: label and one value per mode. */
export function compareRows(cmp: CompareResult, domain?: string): { label: string; values: string[] }[] {
  const doms = cmp.runs.map((r) => r.results.domains.find((d) => (domain ? d.name === domain : d.role === 'guest'))!);
  const row = (label: string, f: (d: DomainResults) => string) => ({ label, values: doms.map((d) => (d ? f(d) : '-')) });
  const k = (d: DomainResults, name: string) => d.counters[name] ?? 0;
  return [
    row('cycles / op', (d) => num(d.cycles.perOp)),
    row('µs / op', (d) => sig3(d.timeUs?.perOp)),
    row('  guest / op', (d) => num(per(d.cycles.guest, d.ops))),
    row('  hypervisor / op', (d) => num(per(d.cycles.hypervisor, d.ops))),
    row('  page walk / op', (d) => num(per(d.cycles.walk, d.ops))),
    row('TLB misses / 1k ops', (d) => num(per(d.tlb.misses, d.ops, 1000), 1)),
    row('walk refs / walk', (d) => num(d.walk.refsPerWalk, 2)),
    row('max refs in a walk', (d) => num(d.walk.maxRefs)),
    row('walk refs to DRAM / op', (d) => num(per(d.walk.refsMemory, d.ops), 3)),
    row('hypercalls / op', (d) => num(per(d.hypercalls.total, d.ops), 3)),
    row('  by op', (d) => top(d.hypercalls.byOp) || '-'),
    row('entries validated / op', (d) => num(per(k(d, 'entriesValidated'), d.ops), 3)),
    row('trap bounces / op', (d) => num(per(k(d, 'trapBounces'), d.ops), 3)),
    row('VM exits / op', (d) => num(per(d.vmexits.total, d.ops), 3)),
    row('  by reason', (d) => top(d.vmexits.byReason) || '-'),
    row('emulated PT writes / op', (d) => num(per(k(d, 'emulatedWrites'), d.ops), 3)),
    row('shadow unsyncs / op', (d) => num(per(k(d, 'shadowUnsyncs'), d.ops), 3)),
    row('shadow resyncs / op', (d) => num(per(k(d, 'shadowResyncs'), d.ops), 3)),
    row('EPT violations / op', (d) => num(per(k(d, 'eptViolations'), d.ops), 3)),
    row('PT updates / op', (d) => num(per(d.ptUpdates, d.ops), 3)),
    row('page faults guest / op', (d) => num(per(d.pageFaults.guest, d.ops), 3)),
    row('page faults hidden / op', (d) => num(per(d.pageFaults.hidden, d.ops), 3)),
    row('audit', () => ''),
  ].map((r, i, all) => (i === all.length - 1 ? { label: 'audit', values: cmp.runs.map((x) => (x.results.audit.ok ? 'ok' : `${x.results.audit.violations.length} violations`)) } : r));
}

export function formatCompare(cmp: CompareResult & { skipped?: { mode: string; reason: string }[] }): string {
  const rows = compareRows(cmp);
  const cpu = cmp.runs[0] ? cpuHeading(cmp.runs[0].results) : '';
  const out = [`${cmp.scenario}: ${cmp.workload}, first guest under each mode${cpu ? ` on ${cpu}` : ''}`, table(['', ...cmp.modes], rows.map((r) => [r.label, ...r.values]))];
  for (const s of cmp.skipped ?? []) out.push(`${s.mode}: not run — ${s.reason}`);
  return out.join('\n');
}

/** A sweep as a table: one row per value, one column per mode, the first guest's cycles per op. */
export function formatSweep(doc: SweepDocument): string {
  const cell = (r: SweepDocument['points'][number], mode: string) => {
    const run = r.runs.find((x) => x.mode === mode);
    const g = run?.results.domains.find((d) => d.role !== 'dom0');
    return g ? num(g.cycles.perOp) : '-';
  };
  const first = doc.points.find((p) => p.runs.length > 0)?.runs[0];
  const cpu = first ? cpuHeading(first.results) : '';
  const out = [
    `${doc.scenario}: ${doc.workload}, ${doc.param} over ${doc.values.length} value${doc.values.length === 1 ? '' : 's'}, seed ${doc.seed}${cpu ? `, on ${cpu}` : ''}; cycles per op of the first guest`,
    table([doc.param, ...doc.modes], doc.points.map((p) => [String(p.value), ...doc.modes.map((m) => cell(p, m))]), []),
  ];
  for (const s of doc.skipped) out.push(`${s.mode}: not run — ${s.reason}`);
  return out.join('\n');
}

// ---------------------------------------------------------------------------------------------
// lab reproduce

/** A value with three significant digits (at least), thin-space thousands: 0.268, 2.51, 198, 1 093. */
export function sig(n: number): string {
  if (!Number.isFinite(n)) return '-';
  const a = Math.abs(n);
  if (a >= 100) return num(n, 0);
  if (a >= 10) return n.toFixed(1);
  if (a >= 1) return n.toFixed(2);
  return n.toPrecision(3);
}

/** A ratio as the reproduction tables show it: two decimals. */
export const ratio2 = (x: number): string => (Number.isFinite(x) ? x.toFixed(2) : '-');

/** The paper's figure for an entry: the published value with its unit, then the ratio or range. */
function paperCells(e: ReproEntryResult, unit: string): [string, string] {
  const value = e.paper.value !== null ? `${sig(e.paper.value)} ${unit}` : '';
  const ratio = e.baseline ? '1 (base)' : e.paper.range ? `${ratio2(e.paper.range[0])}–${ratio2(e.paper.range[1])}` : e.paper.ratio !== null ? ratio2(e.paper.ratio) : '-';
  return [value, ratio];
}

/** One reproduction as the CLI prints it: heading, source, hardware, then a table of its rows. */
export function formatReproduction(r: ReproResult): string {
  const passed = r.rows.filter((x) => x.pass).length;
  const gaps = r.rows.filter((x) => !x.pass && x.gap !== null).length;
  const lines = [
    `${r.title}  [${r.pass ? 'pass' : r.passExceptGaps ? 'known gaps' : 'FAIL'}: ${passed} of ${r.rows.length} rows${r.pass ? '' : ' pass'}${gaps ? `, ${gaps} fail${gaps === 1 ? 's' : ''} with a known gap` : ''}]`,
    `  ${r.source.authors}, "${r.source.title}", ${r.source.venue} ${r.source.year}; ${r.source.where}`,
    `  paper's machine: ${r.hardware}`,
    `  lab CPU: ${r.cpu.profile} — ${r.cpu.label}; ratios are time per op over the row's baseline (above 1: slower)`,
  ];
  const header = ['row', 'entry', 'changes', 'paper', 'paper ratio', 'lab µs/op', 'lab ratio', 'result'];
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const row of r.rows) {
    row.entries.forEach((e, i) => {
      const [pv, pr] = paperCells(e, row.unit);
      const paperUs = row.absolute && e.paper.us !== null && row.unit !== 'µs' ? ` (${sig(e.paper.us)} µs)` : '';
      rows.push([
        i === 0 ? row.id : '',
        e.name,
        e.set,
        pv + paperUs,
        pr,
        sig(e.lab.us),
        e.baseline ? '1 (base)' : ratio2(e.lab.ratio),
        e.baseline ? '' : e.pass ? 'pass' : `FAIL: ${e.reason}`,
      ]);
    });
    if (!row.orderingOk) {
      rows.push(['', '(order)', '', '', '', '', '', `FAIL: ${row.orderingReason}`]);
    }
    notes.push(`  ${row.id}: ${row.label} — ${row.where} — ${row.pass ? 'pass' : row.gap !== null ? 'FAIL (known gap)' : 'FAIL'}${row.absolute ? ' (absolute: lab µs comparable with the paper\'s)' : ''}`);
    if (row.gap !== null) notes.push(`    gap: ${row.gap}`);
  }
  return [...lines, table(header, rows, [0, 1, 2, 7]), ...notes].join('\n');
}

/** Every reproduction, then `N rows passed, M failed`. */
export function formatReproductions(rs: readonly ReproResult[]): string {
  const { rowsPassed, rowsFailed, rowsGap } = reproductionsDocument(rs);
  const gaps = rowsGap > 0 ? `, ${rowsGap} failed with a known gap (the file names the mechanism the lab lacks)` : '';
  return [...rs.map(formatReproduction), `${rowsPassed} row${rowsPassed === 1 ? '' : 's'} passed, ${rowsFailed} failed${gaps}`].join('\n\n');
}

/**
 * What `lab reproduce --json` prints: one document for one file or a directory. `rowsFailed`
 * counts failed rows without a declared gap, `rowsGap` those with one; `pass` (exit 0) when every
 * row passed, `passExceptGaps` (exit 5) when the only failures are known gaps.
 */
export function reproductionsDocument(rs: readonly ReproResult[]): {
  pass: boolean;
  passExceptGaps: boolean;
  rowsPassed: number;
  rowsFailed: number;
  rowsGap: number;
  reproductions: ReproResult[];
} {
  const rows = rs.flatMap((r) => r.rows);
  const rowsPassed = rows.filter((x) => x.pass).length;
  const rowsGap = rows.filter((x) => !x.pass && x.gap !== null).length;
  return { pass: rowsPassed === rows.length, passExceptGaps: rowsPassed + rowsGap === rows.length, rowsPassed, rowsFailed: rows.length - rowsPassed - rowsGap, rowsGap, reproductions: [...rs] };
}
