/**
 * The Compare view's data shaping, pure: a comparison's results into bar stacks, the "why" table,
 * walk-length histograms, and CSV text (the sweep's lines and crossovers are in sweep.ts). Charts
 * draw exactly these numbers, so every number on screen (and in an export) is one of these.
 */
import type { DomainResults, PagingMode, Results } from '../../../../core/api/index.js';
import { fmtNum } from '../format.js';

export const MODE_ORDER: readonly PagingMode[] = ['native', 'pv', 'shadow', 'hap'];

/** The compared guest's results in one mode. */
export interface ModeRun {
  mode: PagingMode;
  guest: DomainResults;
}

/**
 * The compared guest in a results document: the domain named `name` (the scenario's first guest),
 * else the first non-dom0 domain. Native runs drop dom0, the others keep it, so position is no guide.
 */
export function guestOf(results: Results, name?: string): DomainResults | undefined {
  return results.domains.find((d) => d.name === name) ?? results.domains.find((d) => d.role !== 'dom0');
}

export function modeRuns(runs: readonly { mode: PagingMode; results: Results }[], guestName?: string): ModeRun[] {
  const out: ModeRun[] = [];
  for (const r of runs) {
    const g = guestOf(r.results, guestName);
    if (g) out.push({ mode: r.mode, guest: g });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Stacked bars: cycles per operation split into guest / hypervisor / page walk.

export const PARTS = ['guest', 'hypervisor', 'walk'] as const;
export type Part = (typeof PARTS)[number];
export const PART_LABEL: Record<Part, string> = { guest: 'guest', hypervisor: 'hypervisor', walk: 'page walk' };

export interface BarSegment {
  part: Part;
  cycles: number;
  perOp: number;
  /** Where the segment starts, in cycles per op (the sum of the segments before it). */
  start: number;
  /** Fraction of the mode's total cycles. */
  share: number;
}

export interface BarStack {
  mode: PagingMode;
  ops: number;
  totalCycles: number;
  perOp: number;
  /** Simulated µs per operation at the run's CPU clock (timeUs.perOp); null for a comparison saved before results had times. */
  usPerOp: number | null;
  segments: BarSegment[];
  /** perOp over the cheapest mode's perOp (1 for the cheapest). */
  relative: number;
}

export function barStacks(runs: readonly ModeRun[]): BarStack[] {
  const stacks = runs.map(({ mode, guest }): BarStack => {
    const ops = guest.ops;
    let start = 0;
    const segments = PARTS.map((part): BarSegment => {
      const cycles = guest.cycles[part];
      const perOp = ops > 0 ? cycles / ops : 0;
      const seg = { part, cycles, perOp, start, share: guest.cycles.total > 0 ? cycles / guest.cycles.total : 0 };
      start += perOp;
      return seg;
    });
    const us = guest.timeUs?.perOp;
    return { mode, ops, totalCycles: guest.cycles.total, perOp: guest.cycles.perOp, usPerOp: typeof us === 'number' ? us : null, segments, relative: 1 };
  });
  const positive = stacks.map((s) => s.perOp).filter((v) => v > 0);
  const min = positive.length ? Math.min(...positive) : 0;
  for (const s of stacks) s.relative = min > 0 ? s.perOp / min : 1;
  return stacks;
}

// ---------------------------------------------------------------------------------------------
// The "why" table: counters per operation, ranked by how much they differ between modes.

export interface WhyRow {
  key: string;
  label: string;
  /** What the counter is, for a tooltip. */
  hint: string;
  /** Events per operation, by mode. */
  perOp: Partial<Record<PagingMode, number>>;
  /** Raw totals, by mode. */
  totals: Partial<Record<PagingMode, number>>;
  /**
   * Most ÷ fewest events per op over the modes (1 when all agree, Infinity when some mode has
   * none, null with fewer than two modes): the one number the table shows and the CSV writes.
   */
  spread: number | null;
  /** The ordering key, not shown: (max + ε) / (min + ε), ε = SPREAD_FLOOR (see rankOf). */
  rank: number;
  /** The mode with the most events per op. */
  maxMode: PagingMode;
}

/**
 * Events per op added to both ends of the ratio the rows are ordered by (never shown): a counter
 * that happens less than once per thousand operations in every mode cannot outrank one that
 * explains real cycles just because it is zero somewhere.
 */
export const SPREAD_FLOOR = 1e-3;

interface CounterDef {
  key: string;
  label: string;
  hint: string;
  get: (d: DomainResults) => number;
}

const FIXED: CounterDef[] = [
  { key: 'entriesValidated', label: 'entries validated', hint: 'page-table entries Xen checked before a PV update took effect', get: (d) => d.counters.entriesValidated ?? 0 },
  { key: 'trapBounces', label: 'trap bounces', hint: 'faults a PV guest took through Xen (Xen bounces them to the guest kernel)', get: (d) => d.counters.trapBounces ?? 0 },
  { key: 'emulatedWrites', label: 'emulated PT writes', hint: 'writes to write-protected guest page tables trapped and emulated by the hypervisor (shadow)', get: (d) => d.counters.emulatedWrites ?? 0 },
  { key: 'shadowUnsyncs', label: 'shadow unsyncs', hint: 'shadow L1 tables let go out of sync (writable to the guest until the next flush)', get: (d) => d.counters.shadowUnsyncs ?? 0 },
  { key: 'shadowResyncs', label: 'shadow resyncs', hint: 'out-of-sync shadow tables brought back in sync on a flush or CR3 switch', get: (d) => d.counters.shadowResyncs ?? 0 },
  { key: 'shadowsBuilt', label: 'shadows built', hint: 'shadow page tables built on hidden faults', get: (d) => d.counters.shadowsBuilt ?? 0 },
  { key: 'eptViolations', label: 'EPT violations', hint: 'nested-table misses the hypervisor filled in (hap)', get: (d) => d.counters.eptViolations ?? 0 },
  { key: 'walkRefs', label: 'walk references', hint: 'page-table entries read by page walks (4 per walk one-dimensional, up to 24 nested)', get: (d) => d.walk.refs },
  { key: 'walkRefsMemory', label: 'walk refs from DRAM', hint: 'walk references that missed the data cache and went to memory', get: (d) => d.walk.refsMemory },
  { key: 'tlbMisses', label: 'TLB misses', hint: 'translations that missed every TLB and needed a walk', get: (d) => d.tlb.misses },
  { key: 'pfGuest', label: 'page faults (guest)', hint: 'page faults the guest kernel saw', get: (d) => d.pageFaults.guest },
  { key: 'pfHidden', label: 'page faults (hidden)', hint: 'faults the hypervisor handled without the guest knowing (shadow fills)', get: (d) => d.pageFaults.hidden },
  { key: 'ptUpdates', label: 'page-table updates', hint: 'page-table entries the guest changed (the same work in every mode)', get: (d) => d.ptUpdates },
];

function counterDefs(runs: readonly ModeRun[]): CounterDef[] {
  const ops = new Set<string>();
  const reasons = new Set<string>();
  for (const { guest } of runs) {
    for (const k of Object.keys(guest.hypercalls.byOp)) ops.add(k);
    for (const k of Object.keys(guest.vmexits.byReason)) reasons.add(k);
  }
  const defs: CounterDef[] = [];
  for (const op of [...ops].sort()) {
    defs.push({ key: `hypercall:${op}`, label: `hypercall ${op}`, hint: `${op} hypercalls (PV)`, get: (d) => d.hypercalls.byOp[op] ?? 0 });
  }
  for (const r of [...reasons].sort()) {
    defs.push({ key: `vmexit:${r}`, label: `VM exit ${r}`, hint: `VM exits with basic reason ${r}`, get: (d) => d.vmexits.byReason[r] ?? 0 });
  }
  return [...defs, ...FIXED];
}

/**
 * The spread of a counter over the modes: most ÷ fewest events per operation. Infinity when some
 * mode has none (and another some), 1 when all are equal (zeros included), null with fewer than
 * two modes (nothing to compare).
 */
export function spreadOf(values: readonly number[]): number | null {
  if (values.length < 2) return null;
  const max = Math.max(...values);
  const min = Math.min(...values);
  if (max === min) return 1;
  return min === 0 ? Infinity : max / min;
}

/** How a spread reads on screen: ×732, ×6.0, ∞, – (no other modes). The CSV has it unrounded. */
export function fmtSpread(spread: number | null): string {
  if (spread === null) return '–';
  if (spread === Infinity) return '∞';
  return `×${fmtNum(spread, spread >= 10 ? 0 : 1)}`;
}

/** The spread as a CSV field: the full number, `inf` when some mode has none, empty with one mode. */
export function csvSpread(spread: number | null): string {
  if (spread === null) return '';
  return spread === Infinity ? 'inf' : String(spread);
}

/** The order of the rows: the spread with SPREAD_FLOOR added to both ends. */
export function rankOf(values: readonly number[]): number {
  if (values.length === 0) return 1;
  return (Math.max(...values) + SPREAD_FLOOR) / (Math.min(...values) + SPREAD_FLOOR);
}

/**
 * Rows for every counter non-zero somewhere, most different first by rank (ties: the bigger count
 * first).
 */
export function whyRows(runs: readonly ModeRun[]): WhyRow[] {
  const rows: WhyRow[] = [];
  for (const def of counterDefs(runs)) {
    const perOp: Partial<Record<PagingMode, number>> = {};
    const totals: Partial<Record<PagingMode, number>> = {};
    let maxMode: PagingMode = runs[0]?.mode ?? 'native';
    let max = -1;
    for (const { mode, guest } of runs) {
      const t = def.get(guest);
      totals[mode] = t;
      const v = guest.ops > 0 ? t / guest.ops : 0;
      perOp[mode] = v;
      if (v > max) [max, maxMode] = [v, mode];
    }
    if (max <= 0) continue;
    const values = Object.values(perOp);
    rows.push({ key: def.key, label: def.label, hint: def.hint, perOp, totals, spread: spreadOf(values), rank: rankOf(values), maxMode });
  }
  return rows.sort((a, b) => b.rank - a.rank || (b.perOp[b.maxMode] ?? 0) - (a.perOp[a.maxMode] ?? 0));
}

// ---------------------------------------------------------------------------------------------
// Walk-length histograms.

export interface HistBin {
  refs: number;
  walks: number;
  share: number;
}

export interface Histogram {
  bins: HistBin[];
  walks: number;
  /** Mean references per walk, from the histogram. */
  mean: number;
  /** The longest walk with a non-zero count. */
  maxRefs: number;
}

/** histogram[n] = walks that took n references → one bin per n up to the last non-empty one. */
export function histogramBins(histogram: readonly number[]): Histogram {
  let last = -1;
  let walks = 0;
  let refs = 0;
  histogram.forEach((c, n) => {
    if (c > 0) last = n;
    walks += c;
    refs += c * n;
  });
  const bins: HistBin[] = [];
  for (let n = 0; n <= last; n++) {
    const c = histogram[n] ?? 0;
    bins.push({ refs: n, walks: c, share: walks > 0 ? c / walks : 0 });
  }
  return { bins, walks, mean: walks > 0 ? refs / walks : 0, maxRefs: Math.max(last, 0) };
}

// ---------------------------------------------------------------------------------------------
// Axes.

/** Round tick values from 0 to at least `max`, about `count` of them. */
export function niceTicks(max: number, count = 5): { max: number; ticks: number[] } {
  if (!(max > 0) || !Number.isFinite(max)) return { max: 1, ticks: [0, 1] };
  const raw = max / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const f = raw / mag;
  const step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * mag;
  const top = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= top + step * 1e-9; i++) ticks.push(Number((i * step).toPrecision(12)));
  return { max: top, ticks };
}

/**
 * Labels for ticks that are fractions, as percentages with the fewest decimals (up to 3) that
 * write every tick exactly: [0, 0.005, 0.01] → 0 %, 0.5 %, 1 % (never 0 %, 1 %, 1 %).
 */
export function pctTickLabels(ticks: readonly number[]): string[] {
  const THIN = '\u2009';
  for (let d = 0; d <= 3; d++) {
    if (ticks.every((t) => Math.abs(Number((t * 100).toFixed(d)) - t * 100) < 1e-9)) return ticks.map((t) => `${(t * 100).toFixed(d)}${THIN}%`);
  }
  return ticks.map((t) => `${Number((t * 100).toPrecision(3))}${THIN}%`);
}

// ---------------------------------------------------------------------------------------------
// CSV.

function csvField(v: string | number): string {
  const s = typeof v === 'number' ? (Number.isFinite(v) ? String(v) : '') : v;
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export function toCsv(header: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(',')).join('\n') + '\n';
}

export function barsCsv(stacks: readonly BarStack[]): string {
  return toCsv(
    ['mode', 'ops', 'guest_cycles_per_op', 'hypervisor_cycles_per_op', 'walk_cycles_per_op', 'total_cycles_per_op', 'guest_cycles', 'hypervisor_cycles', 'walk_cycles', 'total_cycles', 'us_per_op'],
    // us_per_op is empty for a comparison saved before results had times.
    stacks.map((s) => [s.mode, s.ops, ...s.segments.map((g) => g.perOp), s.perOp, ...s.segments.map((g) => g.cycles), s.totalCycles, s.usPerOp ?? '']),
  );
}

export function whyCsv(rows: readonly WhyRow[], modes: readonly PagingMode[]): string {
  return toCsv(
    ['counter', 'label', ...modes.map((m) => `${m}_per_op`), ...modes.map((m) => `${m}_total`), 'spread'],
    rows.map((r) => [r.key, r.label, ...modes.map((m) => r.perOp[m] ?? ''), ...modes.map((m) => r.totals[m] ?? ''), csvSpread(r.spread)]),
  );
}

/** One row per walk length, walks per mode. */
export function histogramCsv(hists: readonly { mode: PagingMode; hist: Histogram }[]): string {
  const n = Math.max(0, ...hists.map((h) => h.hist.bins.length));
  const rows: (string | number)[][] = [];
  for (let i = 0; i < n; i++) rows.push([i, ...hists.map((h) => h.hist.bins[i]?.walks ?? 0)]);
  return toCsv(['refs_per_walk', ...hists.map((h) => `${h.mode}_walks`)], rows);
}
