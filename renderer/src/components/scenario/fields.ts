/**
 * Fields of the scenario form as data, and the mapping from validation problems (by field path,
 * e.g. `domains[1].guestPageSize`) to the field that shows them. A problem whose path no shown
 * field claims is listed at the top of its domain card or of the form, so none is lost.
 */
import { COST_KEYS, type Problem } from '../../../../core/api/index.js';
import { workloadParams } from '../../../../core/api/workloadFields.js';
import { isObj } from './edit.js';
import { ioClaims, ioDomainPaths } from './io.js';

export interface Option {
  value: string;
  label: string;
}

interface Base {
  /** The problem path this field answers for. */
  path: string;
  label: string;
  /** Width of the control in px. */
  width?: number;
  /** A muted line of help (why the field exists, its default). */
  hint?: string;
  title?: string;
  /** Id of an element elsewhere that describes the field (read after its problems). */
  describedBy?: string;
}

export type FieldSpec =
  | (Base & { kind: 'number'; value: unknown; unit?: string; placeholder?: string; step?: number; set: (v: number | string | undefined) => void })
  | (Base & { kind: 'text'; value: unknown; placeholder?: string; set: (v: string) => void })
  | (Base & { kind: 'textarea'; value: unknown; placeholder?: string; set: (v: string) => void })
  | (Base & { kind: 'select'; value: unknown; options: Option[]; set: (v: string) => void })
  | (Base & { kind: 'check'; value: unknown; set: (v: boolean) => void });

/** DOM id of a field's control. */
export function fieldId(path: string): string {
  return `sc-${path.replace(/[^A-Za-z0-9]+/g, '-')}`;
}

/** DOM id of the k-th problem shown for a field. */
export function problemId(path: string, k: number): string {
  return `${fieldId(path)}--p${k}`;
}

export function problemsAt(problems: readonly Problem[], path: string): Problem[] {
  return problems.filter((p) => p.path === path);
}

/** `aria-describedby` for a field: its problems (in order), then its hint. */
export function describedBy(problems: readonly Problem[], path: string, hintId?: string): string | undefined {
  const ids = problemsAt(problems, path).map((_, k) => problemId(path, k));
  if (hintId) ids.push(hintId);
  return ids.length ? ids.join(' ') : undefined;
}

/** Options of a select, plus the current value if the list does not have it (so it shows, flagged). */
export function withCurrent(options: Option[], value: unknown): Option[] {
  if (value === undefined || options.some((o) => o.value === value)) return options;
  return [...options, { value: String(value), label: `${typeof value === 'string' ? value : JSON.stringify(value)} (not allowed)` }];
}

const TLBS = ['tlb4k', 'tlb2m', 'tlb1g'] as const;

/** Every path the machine, hypervisor and scenario fields show. */
export const SCENARIO_PATHS: ReadonlySet<string> = new Set([
  'name',
  'description',
  'seed',
  'hypervisor',
  'domains',
  'machine.memoryMiB',
  'machine.pcpus',
  'machine.cpu',
  ...TLBS.flatMap((t) => [`machine.mmu.${t}`, `machine.mmu.${t}.entries`, `machine.mmu.${t}.ways`]),
  'machine.mmu.psc.enabled',
  'machine.mmu.nestedTlb.enabled',
  'machine.mmu.nestedTlb.entries',
  'machine.mmu.dataCache.sizeKiB',
  ...COST_KEYS.map((k) => `machine.costs.${k}`),
]);

/** Whether the domain form shows the shadow-only fields (shadow mode, or set and so wrong). */
export function showsShadowFields(d: Record<string, unknown>): { oos: boolean; early: boolean; pool: boolean } {
  const shadow = d.mode === 'shadow';
  return {
    oos: shadow || d.shadowOutOfSync !== undefined,
    early: shadow || d.shadowEarlyUnshadow !== undefined,
    pool: shadow || d.shadowPoolPages !== undefined,
  };
}

/** The paths a domain's form shows, for domain `i`. */
export function domainPaths(d: unknown, i: number): Set<string> {
  const at = (f: string) => `domains[${i}].${f}`;
  const out = new Set<string>();
  if (!isObj(d)) return out;
  for (const f of ['name', 'role', 'mode', 'memoryMiB', 'maxMemoryMiB', 'vcpus', 'guestPageSize', 'hostPageSize', 'workload', 'workload.kind']) out.add(at(f));
  const sh = showsShadowFields(d);
  if (sh.oos) out.add(at('shadowOutOfSync'));
  if (sh.early) out.add(at('shadowEarlyUnshadow'));
  if (sh.pool) out.add(at('shadowPoolPages'));
  const kind = isObj(d.workload) ? d.workload.kind : undefined;
  for (const p of workloadParams(String(kind))) if (p.type !== 'structured') out.add(at(`workload.${p.key}`));
  for (const p of ioDomainPaths(d, i)) out.add(p);
  return out;
}

/** Problems of domain `i` that no shown field claims (all of them when the form is not shown). */
export function unclaimedDomainProblems(problems: readonly Problem[], i: number, claimed: ReadonlySet<string>): Problem[] {
  const prefix = `domains[${i}]`;
  return problems.filter((p) => (p.path === prefix || p.path.startsWith(`${prefix}.`) || p.path.startsWith(`${prefix}[`)) && !claimed.has(p.path));
}

/** Problems outside the domains that no field claims (unknown fields, a scenario that is not an object …). */
export function unclaimedScenarioProblems(problems: readonly Problem[]): Problem[] {
  return problems.filter((p) => !/^domains\[\d+\]/.test(p.path) && !SCENARIO_PATHS.has(p.path) && !ioClaims(p.path));
}
