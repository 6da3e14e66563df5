/**
 * Everything the Compare charts draw, shaped once from the per-mode runs and the sweep's points:
 * the Compare view shapes its live outcome with it, History a saved one (inside a try: saved data
 * may be damaged, and shaping it is where that shows).
 */
import type { PagingMode, SweepPoint } from '../../../../core/api/index.js';
import { barStacks, histogramBins, whyRows, type BarStack, type Histogram, type ModeRun, type WhyRow } from './shape.js';
import { crossovers, sweepLines, type Crossover, type SweepLine } from './sweep.js';
import { paramUnit } from './workload.js';

export interface CompareCharts {
  runs: ModeRun[];
  modes: PagingMode[];
  stacks: BarStack[];
  why: WhyRow[];
  hists: { mode: PagingMode; hist: Histogram }[];
  /** The swept parameter ('' without a sweep), its unit, one line per mode and where they cross. */
  param: string;
  unit: { short: string; axis: string };
  lines: SweepLine[];
  crossings: Crossover[];
}

export function compareCharts(runs: ModeRun[], sweep: { param: string; points: readonly SweepPoint[] } | null): CompareCharts {
  const lines = sweep && sweep.points.length > 0 ? sweepLines(sweep.points) : [];
  const param = sweep?.param ?? '';
  return {
    runs,
    modes: runs.map((r) => r.mode),
    stacks: barStacks(runs),
    why: whyRows(runs),
    hists: runs.map((r) => ({ mode: r.mode, hist: histogramBins(r.guest.walk.histogram) })),
    param,
    unit: paramUnit(param),
    lines,
    crossings: crossovers(lines),
  };
}
