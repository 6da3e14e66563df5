/**
 * Runs a reproduction (core/api/reproduction.ts): every row's baseline and variants as changes of
 * the file's one guest, each a plain scenario run, then paper and lab side by side with the pass
 * rules:
 *  - a point ratio passes when |lab ratio / paper ratio − 1| ≤ tolerance (the row's, else the
 *    file's); a range [lo, hi] when lo ≤ lab ratio ≤ hi (the range is its own tolerance);
 *  - ordering: entries whose paper ratios are more than 2 % apart (ranges: the upper end of one
 *    more than 2 % below the lower end of the other) must not be inverted in the lab (equal lab
 *    ratios are not an inversion); closer ones are ties and may come in any order;
 *  - a row passes when every variant passes and its ordering holds; a file when every row does.
 *    A row the file marks with a `gap` (the mechanism the lab lacks) is run and judged the same;
 *    its failure is reported as a known gap, and `passExceptGaps` ignores it.
 * Deterministic: each run is the scenario's seeded simulation; runs with the same scenario are
 * run once.
 */
import type { DomainResults, Results } from '../api/results.js';
import {
  DEFAULT_TOLERANCE,
  ORDER_TIE,
  microsPerUnit,
  paperFigure,
  validateReproduction,
  type PaperFigure,
  type ReproCounters,
  type ReproEntryResult,
  type ReproResult,
  type ReproRow,
  type ReproRowResult,
  type ReproSet,
  type Reproduction,
  type ReproductionValidation,
} from '../api/reproduction.js';
import { scenarioSchema, validateScenario, type PagingMode, type Problem, type Scenario } from '../api/scenario.js';
import { describeJsonError } from '../api/jsonWhere.js';
import { modeVariant } from './compare.js';
import { Simulation } from './simulation.js';

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** `a` with `b` merged in: objects merged key by key (recursively), anything else replaced. */
function deepMerge(a: unknown, b: unknown): unknown {
  if (!isObject(a) || !isObject(b)) return b;
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) out[k] = k in a ? deepMerge(a[k], v) : v;
  return out;
}

/**
 * The scenario of one run: the file's scenario with the row's workload and the entry's `set`
 * applied to its one guest (a mode change through modeVariant, as `lab compare` does it).
 */
export function variantScenario(file: Pick<Reproduction, 'scenario'>, row: Pick<ReproRow, 'workload'>, set: ReproSet): { ok: true; scenario: Scenario } | { ok: false; problems: Problem[] } {
  const base = JSON.parse(JSON.stringify(file.scenario)) as Record<string, unknown>;
  let domains = Array.isArray(base.domains) ? (base.domains as Record<string, unknown>[]) : [];
  const gi = domains.findIndex((d) => isObject(d) && d.role !== 'dom0');
  if (gi < 0) return { ok: false, problems: [{ path: 'domains', message: 'the scenario has no guest domain' }] };
  const guest: Record<string, unknown> = { ...domains[gi] };
  const workload = set.workload ?? row.workload;
  if (workload) guest.workload = workload;
  for (const k of ['shadowOutOfSync', 'shadowEarlyUnshadow', 'guestPageSize', 'hostPageSize', 'memoryMiB'] as const) if (set[k] !== undefined) guest[k] = set[k];
  if (set.vif && Array.isArray(guest.vifs)) guest.vifs = (guest.vifs as unknown[]).map((v) => (isObject(v) ? { ...v, ...set.vif } : v));
  domains[gi] = guest;
  if (set.runIn === 'dom0') {
    // The guest's workload in dom0's kernel, on dom0's own devices; no guest at all.
    const di = domains.findIndex((d) => isObject(d) && d.role === 'dom0');
    if (di < 0) return { ok: false, problems: [{ path: 'scenario.domains', message: 'runIn "dom0" needs the scenario to list its dom0 (with the devices it owns)' }] };
    domains = [{ ...domains[di], ...(guest.workload !== undefined ? { workload: guest.workload } : {}) }];
    base.domains = domains;
    base.timeline = [];
  }
  if (set.machine) base.machine = deepMerge(base.machine, set.machine);
  if (set.mode === undefined) {
    const v = validateScenario(base);
    return v.ok ? v : { ok: false, problems: v.problems };
  }
  // The mode is changed last, by modeVariant (native: no hypervisor, one domain; else Xen's).
  const parsed = scenarioSchema.safeParse(base);
  if (!parsed.success) {
    const v = validateScenario(base);
    return { ok: false, problems: v.ok ? [{ path: '(scenario)', message: 'not valid' }] : v.problems };
  }
  const mv = modeVariant(parsed.data, set.mode);
  // modeVariant's reason already names the field ("domains[0].guestPageSize: …").
  return mv.ok ? mv : { ok: false, problems: [{ path: '', message: mv.reason }] };
}

/** Validates a parsed reproduction, including the scenario of every run. */
export function checkReproduction(input: unknown): ReproductionValidation {
  return validateReproduction(input, (file, row, set) => {
    const v = variantScenario(file, row, set);
    return v.ok ? { ok: true } : v;
  });
}

/** "mode pv, hostPageSize 2m" — what a `set` changes, in one line. */
export function describeSet(set: ReproSet): string {
  const parts: string[] = [];
  const flat = (prefix: string, v: unknown): void => {
    if (isObject(v)) for (const [k, x] of Object.entries(v)) flat(prefix ? `${prefix}.${k}` : k, x);
    else parts.push(`${prefix} ${String(v)}`);
  };
  for (const [k, v] of Object.entries(set)) {
    if (v === undefined) continue;
    if (k === 'workload' && isObject(v)) {
      const { kind, ...rest } = v;
      parts.push(`workload ${String(kind)}${Object.keys(rest).length ? ` ${Object.entries(rest).map(([a, b]) => `${a}=${String(b)}`).join(' ')}` : ''}`);
    } else flat(k, v);
  }
  return parts.length ? parts.join(', ') : 'as the scenario';
}

/** One run's lab figures, as the pass rules see them. */
export interface LabRun {
  mode: PagingMode;
  /** Time per operation, µs: the measured domain's CPU time (as the row measures it, once evaluated). */
  us: number;
  /** Simulated wall time per operation, µs (I/O: its measured window over its requests). */
  elapsedUs?: number;
  /** Every domain's CPU time together per operation of the measured domain, µs. */
  machineUs?: number;
  cyclesPerOp: number;
  ops: number;
  counters: ReproCounters;
}

/** The lab figures of the scenario's one guest in a run's results. */
export function labRunOf(r: Results, guestName: string): LabRun {
  const d: DomainResults | undefined = r.domains.find((x) => x.name === guestName) ?? r.domains.find((x) => x.role !== 'dom0');
  if (!d) throw new Error(`the results have no guest "${guestName}"`);
  const ops = d.ops;
  const per = (n: number) => (ops > 0 ? n / ops : 0);
  const io = d.io;
  const elapsedUs = io && io.throughputMBps > 0 && io.requests > 0 ? io.bytes / io.throughputMBps / io.requests : per(r.simulatedMs * 1000);
  let allUs = 0;
  for (const x of r.domains) allUs += x.timeUs.total;
  return {
    mode: d.mode,
    us: d.timeUs.perOp,
    elapsedUs,
    machineUs: per(allUs),
    cyclesPerOp: d.cycles.perOp,
    ops,
    counters: {
      hypercalls: per(d.hypercalls.total),
      vmexits: per(d.vmexits.total),
      ptUpdates: per(d.ptUpdates),
      pageFaults: per(d.pageFaults.guest),
      hiddenFaults: per(d.pageFaults.hidden),
      tlbMisses: per(d.tlb.misses),
      walkRefs: per(d.walk.refs),
      entriesValidated: per(d.counters.entriesValidated ?? 0),
      emulatedWrites: per(d.counters.emulatedWrites ?? 0),
      shadowResyncs: per(d.counters.shadowResyncs ?? 0),
    },
  };
}

const r2 = (x: number) => x.toFixed(2);
const pct = (x: number) => `${Math.round(x * 100)} %`;

/** The paper's interval for ordering: baseline [1, 1], a point [r, r], a range [lo, hi]. */
function interval(f: PaperFigure | null): [number, number] {
  if (f === null) return [1, 1];
  return f.kind === 'ratio' ? [f.ratio, f.ratio] : [f.lo, f.hi];
}

/**
 * The first pair whose lab order differs from the paper's, or null. A pair is ordered when one's
 * paper interval ends more than ORDER_TIE below the other's start; then its lab ratio must not be
 * higher (equal lab ratios are not an inversion; each one's own tolerance judges how close it is).
 */
export function orderingProblem(entries: { name: string; paper: [number, number]; lab: number }[]): string | null {
  for (const a of entries) {
    for (const b of entries) {
      if (a === b) continue;
      if (a.paper[1] * (1 + ORDER_TIE) < b.paper[0] && !(a.lab <= b.lab)) {
        const pa = a.paper[0] === a.paper[1] ? r2(a.paper[0]) : `${r2(a.paper[0])}–${r2(a.paper[1])}`;
        const pb = b.paper[0] === b.paper[1] ? r2(b.paper[0]) : `${r2(b.paper[0])}–${r2(b.paper[1])}`;
        return `order: the paper has "${a.name}" (${pa}) below "${b.name}" (${pb}); the lab has ${r2(a.lab)} vs ${r2(b.lab)}`;
      }
    }
  }
  return null;
}

/** Paper against lab for one row, from its runs (baseline first, then the variants in order). */
export function evaluateRow(row: ReproRow, file: { tolerance?: number; absolute?: boolean }, labs: readonly LabRun[], sets?: readonly string[]): ReproRowResult {
  const tolerance = row.tolerance ?? file.tolerance ?? DEFAULT_TOLERANCE;
  const usPerUnit = microsPerUnit(row.unit);
  const absolute = (file.absolute ?? false) && usPerUnit !== null;
  if (labs.length !== row.variants.length + 1) throw new Error(`row "${row.id}": ${labs.length} runs for ${row.variants.length + 1} entries`);
  const measure = row.measure ?? 'cpu';
  labs = labs.map((l) => ({ ...l, us: measure === 'elapsed' ? (l.elapsedUs ?? l.us) : measure === 'machine-cpu' ? (l.machineUs ?? l.us) : l.us }));
  const base = labs[0]!;
  const ratioOf = (l: LabRun) => (base.us > 0 ? l.us / base.us : l.us > 0 ? Infinity : 1);
  const toUs = (v: number | undefined) => (v !== undefined && usPerUnit !== null ? v * usPerUnit : null);
  const entries: ReproEntryResult[] = [
    {
      name: row.baseline.name,
      baseline: true,
      set: sets?.[0] ?? describeSet(row.baseline.set),
      mode: base.mode,
      paper: { value: row.baseline.published ?? null, ratio: 1, range: null, us: toUs(row.baseline.published) },
      lab: { us: base.us, cyclesPerOp: base.cyclesPerOp, ops: base.ops, ratio: 1, counters: base.counters },
      pass: true,
      reason: null,
    },
  ];
  const figures: (PaperFigure | null)[] = [null];
  row.variants.forEach((v, i) => {
    const lab = labs[i + 1]!;
    const ratio = ratioOf(lab);
    const f = paperFigure(row, v);
    figures.push(f);
    let pass: boolean;
    let reason: string | null = null;
    if (f.kind === 'ratio') {
      const dev = ratio / f.ratio - 1;
      pass = Math.abs(dev) <= tolerance + 1e-12;
      if (!pass) reason = `lab ratio ${r2(ratio)} is ${pct(Math.abs(dev))} ${dev > 0 ? 'above' : 'below'} the paper's ${r2(f.ratio)} (tolerance ±${pct(tolerance)})`;
    } else {
      pass = ratio >= f.lo && ratio <= f.hi;
      if (!pass) reason = `lab ratio ${r2(ratio)} is ${ratio < f.lo ? 'below' : 'above'} the paper's range ${r2(f.lo)}–${r2(f.hi)}`;
    }
    entries.push({
      name: v.name,
      baseline: false,
      set: sets?.[i + 1] ?? describeSet(v.set),
      mode: lab.mode,
      paper: { value: v.published ?? null, ratio: f.kind === 'ratio' ? f.ratio : null, range: f.kind === 'range' ? [f.lo, f.hi] : null, us: toUs(v.published) },
      lab: { us: lab.us, cyclesPerOp: lab.cyclesPerOp, ops: lab.ops, ratio, counters: lab.counters },
      pass,
      reason,
    });
  });
  const orderingReason = orderingProblem(entries.map((e, i) => ({ name: e.name, paper: interval(figures[i]!), lab: e.lab.ratio })));
  return {
    id: row.id,
    label: row.label,
    where: row.where,
    unit: row.unit,
    better: row.better,
    tolerance,
    absolute,
    pass: orderingReason === null && entries.every((e) => e.pass),
    gap: row.gap ?? null,
    orderingOk: orderingReason === null,
    orderingReason,
    entries,
  };
}

interface PlannedRun {
  key: string;
  scenario: Scenario;
  guest: string;
}

export interface ReproPlan {
  file: Reproduction;
  /** Distinct runs, in first-use order. */
  runs: PlannedRun[];
  /** Per row, per entry (baseline first): the index of its run. */
  rows: number[][];
}

/** Every run a (valid) reproduction needs, identical scenarios once. Throws if one is not valid. */
export function planReproduction(file: Reproduction): ReproPlan {
  const runs: PlannedRun[] = [];
  const byKey = new Map<string, number>();
  const rows = file.rows.map((row) =>
    [row.baseline, ...row.variants].map((e) => {
      const v = variantScenario(file, row, e.set);
      if (!v.ok) throw new Error(`row "${row.id}", "${e.name}": ${v.problems.map((p) => (p.path ? `${p.path}: ${p.message}` : p.message)).join('; ')}`);
      const key = JSON.stringify(v.scenario);
      let idx = byKey.get(key);
      if (idx === undefined) {
        idx = runs.length;
        byKey.set(key, idx);
        // The measured domain: the guest, or dom0 when the workload runs there.
        const guest = v.scenario.domains.find((d) => d.role !== 'dom0') ?? v.scenario.domains[0]!;
        runs.push({ key, scenario: v.scenario, guest: guest.name });
      }
      return idx;
    }),
  );
  return { file, runs, rows };
}

/** Puts a plan's results together: rows, pass marks, the CPU. */
export function assembleResult(plan: ReproPlan, results: readonly Results[]): ReproResult {
  const { file } = plan;
  const labs = plan.runs.map((r, i) => labRunOf(results[i]!, r.guest));
  const rows = file.rows.map((row, i) => evaluateRow(row, file, plan.rows[i]!.map((idx) => labs[idx]!)));
  const first = plan.rows[0]![0]!;
  return {
    id: file.id,
    title: file.title,
    source: file.source,
    hardware: file.hardware,
    claim: file.claim,
    explain: file.explain ?? null,
    cpu: { ...results[first]!.cpu },
    pass: rows.every((r) => r.pass),
    passExceptGaps: rows.every((r) => r.pass || r.gap !== null),
    rows,
    runs: plan.runs.length,
  };
}

export interface ReproduceOptions {
  /** Called after each run with the runs done and the total. */
  onProgress?: (done: number, total: number, label: string) => void;
}

/** Steps a reproduction's runs a turn at a time (the worker interleaves it with its other work). */
export class ReproRun {
  private next = 0;
  private sim: Simulation | null = null;
  private readonly results: Results[] = [];
  private result: ReproResult | null = null;

  constructor(
    readonly plan: ReproPlan,
    private readonly opts: ReproduceOptions & { now?: () => number } = {},
  ) {}

  get total(): number {
    return this.plan.runs.length;
  }

  /** Runs until the wall clock passes `deadline` (at least one round) or the end; true while runs remain. */
  turn(deadline = Infinity): boolean {
    const now = this.opts.now ?? (() => 0);
    const runs = this.plan.runs;
    while (this.next < runs.length) {
      const sim = (this.sim ??= new Simulation(runs[this.next]!.scenario));
      let more: boolean;
      do more = sim.step(1);
      while (more && now() < deadline);
      if (more) return true;
      this.results.push(sim.results(0));
      this.sim = null;
      this.next++;
      const g = runs[this.next - 1]!.scenario.domains.find((d) => d.role !== 'dom0');
      this.opts.onProgress?.(this.next, runs.length, `${g?.name ?? 'guest'} ${g?.mode ?? ''} ${g?.workload.kind ?? ''}`.trim());
      if (now() >= deadline) break;
    }
    if (this.next < runs.length) return true;
    this.result ??= assembleResult(this.plan, this.results);
    return false;
  }

  /** The result, once turn() has returned false. */
  get done(): ReproResult | null {
    return this.result;
  }
}

/** Runs a valid reproduction to the end. */
export function runReproduction(file: Reproduction, opts: ReproduceOptions = {}): ReproResult {
  const run = new ReproRun(planReproduction(file), opts);
  while (run.turn()) {
    /* every run to its end */
  }
  return run.done!;
}

/** Parses a reproduction's JSON text and validates it, every run's scenario included. */
export function checkReproductionText(text: string): ReproductionValidation {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [{ path: '(file)', message: describeJsonError(text, e as Error) }] };
  }
  return checkReproduction(json);
}
