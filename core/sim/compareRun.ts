/**
 * A comparison across paging modes (and, with a sweep, across values of one workload parameter)
 * run in time slices: the worker steps it a turn at a time beside the live session, so a cancel
 * is handled between turns. Each run is exactly what compareModes / runScenario would do (the same
 * variant, stepped round by round to the end), so the results are the same counters.
 */
import type { PagingMode, Problem, Scenario } from '../api/scenario.js';
import { validateScenario } from '../api/scenario.js';
import type { Results } from '../api/results.js';
import type { CompareRunEvent, SweepPoint, SweepSpec } from '../api/worker.js';
import { modeVariant } from './compare.js';
import { Simulation } from './simulation.js';

export interface CompareItem {
  label: string;
  mode: PagingMode;
  /** The sweep value this run is at, or null without a sweep. */
  value: number | null;
  scenario: Scenario;
}

export interface ComparePlan {
  base: Scenario;
  sweep: SweepSpec | null;
  items: CompareItem[];
  skipped: { mode: PagingMode; reason: string }[];
}

export type PlanResult = { ok: true; plan: ComparePlan } | { ok: false; message: string; problems?: Problem[] };

/** Validates the request and lists the runs; nothing runs yet. */
export function planCompare(input: unknown, modes: readonly PagingMode[], sweep?: SweepSpec): PlanResult {
  const v = validateScenario(input);
  if (!v.ok) return { ok: false, message: 'the scenario to compare is not valid', problems: v.problems };
  const base = v.scenario;
  if (modes.length === 0) return { ok: false, message: 'no paging modes to compare: choose at least one of native, pv, shadow, hap' };
  const guestIdx = base.domains.findIndex((d) => d.role !== 'dom0');
  if (guestIdx < 0) return { ok: false, message: 'the scenario has no guest domain to compare' };

  const points: { value: number | null; scenario: Scenario }[] = [];
  if (!sweep) points.push({ value: null, scenario: base });
  else {
    const w = base.domains[guestIdx]!.workload as Record<string, unknown>;
    if (typeof w[sweep.param] !== 'number') {
      const numeric = Object.keys(w).filter((k) => typeof w[k] === 'number');
      return {
        ok: false,
        message: `sweep.param: the ${String(w.kind)} workload has no numeric parameter "${sweep.param}" (it has: ${numeric.join(', ') || 'none'})`,
      };
    }
    if (sweep.values.length === 0) return { ok: false, message: 'sweep.values: give at least one value' };
    for (const value of sweep.values) {
      const domains = base.domains.map((d, i) => (i === guestIdx ? { ...d, workload: { ...d.workload, [sweep.param]: value } } : d));
      const sv = validateScenario({ ...base, domains });
      if (!sv.ok) return { ok: false, message: `sweep value ${value} for ${sweep.param} is not valid`, problems: sv.problems };
      points.push({ value, scenario: sv.scenario });
    }
  }

  const items: CompareItem[] = [];
  const skipped: { mode: PagingMode; reason: string }[] = [];
  for (const p of points) {
    for (const mode of modes) {
      const mv = modeVariant(p.scenario, mode);
      if (!mv.ok) {
        if (!skipped.some((s) => s.mode === mode)) skipped.push({ mode, reason: mv.reason });
        continue;
      }
      const label = p.value === null ? mode : `${sweep!.param}=${p.value} ${mode}`;
      items.push({ label, mode, value: p.value, scenario: mv.scenario });
    }
  }
  return { ok: true, plan: { base, sweep: sweep ?? null, items, skipped } };
}

/** Steps the runs of a plan a turn at a time. */
export class CompareRun {
  private next = 0;
  private sim: Simulation | null = null;
  private t0 = 0;
  private readonly done: { item: CompareItem; results: Results }[] = [];

  constructor(
    readonly plan: ComparePlan,
    private readonly now: () => number,
    private readonly post: (e: CompareRunEvent) => void,
  ) {}

  private over = false;

  /**
   * Runs until `deadline` (wall ms) or the end, at least one round; posts progress after each run
   * and the result at the end. Returns true while runs remain.
   */
  turn(deadline: number): boolean {
    if (this.over) return false;
    const items = this.plan.items;
    const now = this.now;
    while (this.next < items.length) {
      let sim = this.sim;
      if (sim === null) {
        this.t0 = now();
        sim = this.sim = new Simulation(items[this.next]!.scenario);
      }
      let more: boolean;
      do more = sim.step(1);
      while (more && now() < deadline);
      if (more) return true;
      const item = items[this.next++]!;
      this.done.push({ item, results: sim.results(now() - this.t0) });
      this.sim = null;
      this.post({ type: 'compare-progress', done: this.done.length, total: items.length, label: item.label });
      if (now() >= deadline) break;
    }
    if (this.next < items.length) return true;
    this.over = true;
    this.post(this.result());
    return false;
  }

  private result(): Extract<CompareRunEvent, { type: 'compare-result' }> {
    const { base, sweep, skipped } = this.plan;
    const guest = base.domains.find((d) => d.role !== 'dom0');
    // With a sweep, the bars (result.runs) are those of the first value; every run is a point.
    const first = this.done.length > 0 ? this.done[0]!.item.value : null;
    const runs = this.done.filter((r) => r.item.value === first).map((r) => ({ mode: r.item.mode, results: r.results }));
    const points: SweepPoint[] = this.done.map((r) => {
      const g = r.results.domains.find((d) => d.name === guest?.name) ?? r.results.domains.find((d) => d.role !== 'dom0');
      return { value: r.item.value ?? 0, mode: r.item.mode, cyclesPerOp: g?.cycles.perOp ?? 0, results: r.results };
    });
    return {
      type: 'compare-result',
      result: { scenario: base.name, workload: guest?.workload.kind ?? 'idle', modes: runs.map((r) => r.mode), runs, skipped },
      sweep: sweep ? { param: sweep.param, points } : null,
    };
  }
}
