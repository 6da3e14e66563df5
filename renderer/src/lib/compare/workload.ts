/**
 * What a comparison runs: the scenario being edited with its first guest's workload either kept
 * ("the scenario's") or replaced by one of a few kinds with its main parameter set; and the sweep
 * (one numeric workload parameter over a list of values). Pure: the view keeps the state.
 */
import type { ScenarioInput, WorkloadKind } from '../../../../core/api/index.js';

type WorkloadDoc = Record<string, unknown> & { kind: string };

export interface KindSpec {
  kind: WorkloadKind;
  /** The parameter the selector lets you edit. */
  main: string;
  /** Small enough that four modes run in a few seconds, big enough to leave the TLB's reach. */
  defaults: WorkloadDoc;
}

export const COMPARE_KINDS: readonly KindSpec[] = [
  { kind: 'update-vs-access', main: 'updatesPerKiloAccess', defaults: { kind: 'update-vs-access', workingSetMiB: 64, accesses: 20_000, updatesPerKiloAccess: 20, updateKind: 'mix' } },
  { kind: 'random-access', main: 'accesses', defaults: { kind: 'random-access', workingSetMiB: 64, accesses: 50_000 } },
  { kind: 'cold-walk', main: 'pages', defaults: { kind: 'cold-walk', pages: 2000 } },
  { kind: 'page-fault', main: 'pages', defaults: { kind: 'page-fault', pages: 4000 } },
  { kind: 'fork-exit', main: 'forks', defaults: { kind: 'fork-exit', forks: 20, residentMiB: 8 } },
  { kind: 'mmap-churn', main: 'maps', defaults: { kind: 'mmap-churn', maps: 200, pagesPerMap: 16 } },
  { kind: 'context-switch', main: 'switches', defaults: { kind: 'context-switch', switches: 5000, processes: 4 } },
  { kind: 'kernel-build', main: 'jobs', defaults: { kind: 'kernel-build', jobs: 4 } },
];

export type WorkloadChoice = { source: 'scenario' } | { source: 'kind'; kind: WorkloadKind; main: number };

export function kindSpec(kind: string): KindSpec | undefined {
  return COMPARE_KINDS.find((k) => k.kind === kind);
}

/** Index of the first guest (the domain a comparison varies), or -1. */
export function firstGuestIndex(s: ScenarioInput): number {
  return (s.domains ?? []).findIndex((d) => d.role !== 'dom0');
}

export function scenarioWorkload(s: ScenarioInput): WorkloadDoc {
  const g = s.domains?.[firstGuestIndex(s)];
  return (g?.workload as WorkloadDoc | undefined) ?? { kind: 'idle' };
}

/**
 * The workload a choice means. A kind equal to the scenario's keeps the scenario's other
 * parameters (so "update-vs-access at 50" is the user's own workload at 50).
 */
export function chosenWorkload(s: ScenarioInput, choice: WorkloadChoice): WorkloadDoc {
  const own = scenarioWorkload(s);
  if (choice.source === 'scenario') return { ...own };
  const spec = kindSpec(choice.kind)!;
  const base = own.kind === choice.kind ? own : spec.defaults;
  return { ...base, [spec.main]: choice.main };
}

/** The scenario to send: a copy with the first guest's workload replaced by the choice. */
export function compareScenario(s: ScenarioInput, choice: WorkloadChoice): ScenarioInput {
  const i = firstGuestIndex(s);
  const copy = structuredClone(s);
  if (i < 0) return copy;
  copy.domains[i] = { ...copy.domains[i]!, workload: chosenWorkload(s, choice) as never };
  return copy;
}

export function numericParams(w: WorkloadDoc): string[] {
  return Object.keys(w).filter((k) => typeof w[k] === 'number');
}

/** "0, 1, 2 5;10" → numbers; anything else names the bad item. */
export function parseValues(text: string): { ok: true; values: number[] } | { ok: false; message: string } {
  const items = text.split(/[\s,;]+/).filter((t) => t !== '');
  if (items.length === 0) return { ok: false, message: 'give at least one value, e.g. 0, 1, 2, 5, 10' };
  const values: number[] = [];
  for (const t of items) {
    const v = Number(t);
    if (!Number.isFinite(v)) return { ok: false, message: `"${t}" is not a number` };
    if (values.includes(v)) return { ok: false, message: `${t} is listed twice` };
    values.push(v);
  }
  if (values.length > 40) return { ok: false, message: `${values.length} values is too many for one sweep (at most 40)` };
  return { ok: true, values };
}

const UNITS: Record<string, { short: string; axis: string }> = {
  updatesPerKiloAccess: { short: 'updates/1k', axis: 'page-table updates per 1\u2009000 accesses' },
  workingSetMiB: { short: 'MiB', axis: 'working set (MiB)' },
  accesses: { short: 'accesses', axis: 'accesses' },
  pages: { short: 'pages', axis: 'pages' },
  passes: { short: 'passes', axis: 'passes' },
  forks: { short: 'forks', axis: 'forks' },
  residentMiB: { short: 'MiB', axis: 'resident memory (MiB)' },
  execs: { short: 'execs', axis: 'execs' },
  imageMiB: { short: 'MiB', axis: 'image size (MiB)' },
  maps: { short: 'maps', axis: 'mmaps' },
  pagesPerMap: { short: 'pages/map', axis: 'pages per mmap' },
  switches: { short: 'switches', axis: 'context switches' },
  processes: { short: 'processes', axis: 'processes' },
  jobs: { short: 'jobs', axis: 'build jobs' },
};

export function paramUnit(param: string): { short: string; axis: string } {
  return UNITS[param] ?? { short: param, axis: param };
}

/** A first sweep to offer: the C8 ratios for updates, else a spread around the current value. */
export function defaultSweep(param: string, current: number): number[] {
  if (param === 'updatesPerKiloAccess') return [0, 1, 2, 5, 10, 20, 50, 100];
  const c = current > 0 ? current : 1;
  const vals = [0.25, 0.5, 1, 2, 4].map((f) => Math.max(1, Math.round(c * f)));
  return [...new Set(vals)];
}

/** A short file-name-safe tag for exports: compare-<workload>-<chart>.<ext>. */
export function fileStem(workloadKind: string): string {
  return `compare-${workloadKind.replace(/[^A-Za-z0-9_.-]+/g, '-') || 'workload'}`;
}

/** "update-vs-access · updatesPerKiloAccess 20 · workingSetMiB 64 · …" */
export function describeWorkload(w: Record<string, unknown>): string {
  const params = Object.entries(w)
    .filter(([k, v]) => k !== 'kind' && (typeof v === 'number' || typeof v === 'string'))
    .map(([k, v]) => `${k} ${String(v)}`);
  return [String(w.kind), ...params].join(' · ');
}
