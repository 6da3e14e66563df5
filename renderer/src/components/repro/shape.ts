/**
 * What a row's paired bar chart draws, from the file (the paper's figures, before any run) and,
 * once run, its result (the lab's): per entry the paper bar (a point or a range) beside the lab
 * bar on one scale where the baseline is 1, the labels, and a line of the counters that explain
 * the lab figure. Pure, so the page and its tests read the same numbers.
 */
import { paperFigure, type PagingMode, type ReproCounters, type ReproRow, type ReproRowResult, type Reproduction } from '../../../../core/api/index.js';
import { MODE_LABEL, fmtNum } from '../../lib/format.js';
import { niceTicks } from '../../lib/compare/shape.js';

const THIN = '\u2009';

/** A ratio as the page writes it: 1.80×, 17.7×, 0.754×. */
export function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return '–';
  return `${x >= 10 ? x.toFixed(1) : x >= 1 ? x.toFixed(2) : x.toFixed(3)}×`;
}

/** µs with three significant digits: 0.268 µs, 198 µs, 1 093 µs. */
export function fmtUs(us: number): string {
  if (!Number.isFinite(us)) return '–';
  const a = Math.abs(us);
  const s = a >= 100 ? fmtNum(us, 0) : a >= 10 ? us.toFixed(1) : a >= 1 ? us.toFixed(2) : us.toPrecision(3);
  return `${s}${THIN}µs`;
}

/** An axis tick: 0, 0.25, 0.5, 1, 2.5, 10 (no more decimals than it has). */
export function fmtTick(t: number): string {
  return String(Number(t.toPrecision(3)));
}

export interface PaperBar {
  kind: 'point' | 'range';
  /** Point: lo = hi = the ratio. */
  lo: number;
  hi: number;
  label: string;
  /** The published value with its unit ("198 µs"), when the file gives one. */
  value: string | null;
}

export interface LabBar {
  ratio: number;
  us: number;
  cyclesPerOp: number;
  label: string;
}

export interface BarPair {
  name: string;
  baseline: boolean;
  mode: PagingMode;
  set: string;
  paper: PaperBar;
  lab: LabBar | null;
  /** null before a run. */
  pass: boolean | null;
  reason: string | null;
  /** "PV: 2.0 hypercalls/op, 512 validated entries/op" (after a run). */
  counters: string | null;
}

/** A row's `measure` in the words the chart uses. */
export const MEASURE_WORDS: Record<NonNullable<ReproRow['measure']>, string> = {
  cpu: 'CPU time',
  elapsed: 'simulated time',
  'machine-cpu': 'CPU of every domain',
};

export interface RowShape {
  id: string;
  label: string;
  where: string;
  unit: string;
  absolute: boolean;
  tolerance: number;
  pass: boolean | null;
  /** The mechanism the lab lacks for this row, as the file says (shown before a run too). */
  gap: string | null;
  orderingReason: string | null;
  /** What the lab's time per op is (the row's `measure`), in words: "CPU time", "simulated time", "CPU of every domain". */
  measure: string;
  /** The axis: 0 … max, the ticks, and the baseline (1) on it. */
  max: number;
  ticks: number[];
  pairs: BarPair[];
}

const COUNTER_LABEL: Record<keyof ReproCounters, string> = {
  hypercalls: 'hypercalls',
  vmexits: 'VM exits',
  ptUpdates: 'PT updates',
  pageFaults: 'guest faults',
  hiddenFaults: 'hidden faults',
  tlbMisses: 'TLB misses',
  walkRefs: 'walk refs',
  entriesValidated: 'validated entries',
  emulatedWrites: 'emulated PT writes',
  shadowResyncs: 'shadow resyncs',
};

/** The counters that explain each mode's cost, most telling first. */
const COUNTERS_OF: Record<PagingMode, (keyof ReproCounters)[]> = {
  native: ['tlbMisses', 'walkRefs', 'pageFaults', 'ptUpdates'],
  pv: ['hypercalls', 'entriesValidated', 'ptUpdates', 'pageFaults', 'walkRefs'],
  shadow: ['vmexits', 'hiddenFaults', 'emulatedWrites', 'shadowResyncs', 'walkRefs'],
  hap: ['walkRefs', 'tlbMisses', 'vmexits', 'pageFaults'],
};

/** A count per op with about three significant digits: 0.031, 2.00, 24.0, 512. */
function perOp(n: number): string {
  const a = Math.abs(n);
  return a >= 100 ? fmtNum(n, 0) : a >= 10 ? n.toFixed(1) : a >= 1 ? n.toFixed(2) : n.toPrecision(2);
}

/** "PV: 2.00 hypercalls/op, 512 validated entries/op": up to three non-zero counters of the mode. */
export function countersLine(mode: PagingMode, c: ReproCounters): string {
  const parts = COUNTERS_OF[mode]
    .filter((k) => c[k] > 0)
    .slice(0, 3)
    .map((k) => `${perOp(c[k])} ${COUNTER_LABEL[k]}/op`);
  return `${MODE_LABEL[mode] ?? mode}: ${parts.length ? parts.join(', ') : 'no hypervisor or walk events'}`;
}

/** The mode an entry runs in: its `set.mode`, else the scenario guest's. */
function modeOf(file: Reproduction, set: { mode?: PagingMode }): PagingMode {
  if (set.mode) return set.mode;
  const doms = (file.scenario as { domains?: { role?: string; mode?: PagingMode }[] }).domains ?? [];
  return doms.find((d) => d.role !== 'dom0')?.mode ?? 'native';
}

/** One row's chart: the paper's figures from the file, the lab's from the result when there is one. */
export function rowShape(file: Reproduction, row: ReproRow, result?: ReproRowResult): RowShape {
  const entries = [row.baseline, ...row.variants];
  const absolute = result?.absolute ?? false;
  const pairs: BarPair[] = entries.map((e, i) => {
    const base = i === 0;
    const f = base ? ({ kind: 'ratio', ratio: 1 } as const) : paperFigure(row, row.variants[i - 1]!);
    const value = e.published !== undefined ? `${fmtNum(e.published, Number.isInteger(e.published) ? 0 : e.published >= 10 ? 1 : 2)}${THIN}${row.unit}` : null;
    const paper: PaperBar =
      f.kind === 'ratio'
        ? { kind: 'point', lo: f.ratio, hi: f.ratio, label: base ? '1× (baseline)' : fmtRatio(f.ratio), value }
        : { kind: 'range', lo: f.lo, hi: f.hi, label: `${f.lo.toFixed(2)}–${f.hi.toFixed(2)}×`, value };
    const r = result?.entries[i];
    const lab: LabBar | null = r
      ? { ratio: r.lab.ratio, us: r.lab.us, cyclesPerOp: r.lab.cyclesPerOp, label: base ? '1× (baseline)' : fmtRatio(r.lab.ratio) }
      : null;
    const mode = r?.mode ?? modeOf(file, e.set);
    return {
      name: e.name,
      baseline: base,
      mode,
      set: r?.set ?? '',
      paper,
      lab,
      pass: r ? r.pass : null,
      reason: r?.reason ?? null,
      counters: r ? countersLine(mode, r.lab.counters) : null,
    };
  });
  const top = Math.max(1, ...pairs.flatMap((p) => [p.paper.hi, p.lab?.ratio ?? 0]).filter(Number.isFinite));
  const scale = niceTicks(top * 1.02, 5);
  return {
    id: row.id,
    label: row.label,
    where: row.where,
    unit: row.unit,
    measure: MEASURE_WORDS[row.measure ?? 'cpu'],
    absolute,
    tolerance: result?.tolerance ?? row.tolerance ?? file.tolerance,
    pass: result ? result.pass : null,
    gap: row.gap ?? null,
    orderingReason: result?.orderingReason ?? null,
    max: scale.max,
    ticks: scale.ticks,
    pairs,
  };
}
