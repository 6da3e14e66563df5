/**
 * Runs one workload under several paging modes, everything else equal.
 */
import type { DomainConfig, PagingMode, Scenario } from '../api/scenario.js';
import { validateScenario } from '../api/scenario.js';
import type { CompareResult, Results } from '../api/results.js';
import { runScenario, type RunOptions } from './run.js';

export interface CompareOptions extends RunOptions {
  modes: PagingMode[];
}

/**
 * The scenario rewritten so that its first guest runs in `mode`: `native` runs it alone on bare
 * metal; the others under the scenario's hypervisor (Xen if it had none). Page sizes a mode cannot
 * have are a reason, not a silent change.
 */
export function modeVariant(s: Scenario, mode: PagingMode): { ok: true; scenario: Scenario } | { ok: false; reason: string } {
  const guestIdx = s.domains.findIndex((d) => d.role !== 'dom0');
  if (guestIdx < 0) return { ok: false, reason: 'the scenario has no guest domain to compare' };
  const g = s.domains[guestIdx];
  const { shadowOutOfSync, shadowEarlyUnshadow, shadowPoolPages, ...rest } = g;
  const guest: DomainConfig = {
    ...rest,
    mode,
    hostPageSize: mode === 'hap' ? g.hostPageSize : '4k',
    ...(mode === 'shadow' && shadowOutOfSync !== undefined ? { shadowOutOfSync } : {}),
    ...(mode === 'shadow' && shadowEarlyUnshadow !== undefined ? { shadowEarlyUnshadow } : {}),
    ...(mode === 'shadow' && shadowPoolPages !== undefined ? { shadowPoolPages } : {}),
  };
  let variant: Scenario;
  if (mode === 'native') {
    // On bare metal the guest drives the devices its vifs and disks reached through a backend.
    const { vifs, disks, ...own } = guest;
    const devices = [...new Set([...(own.pci ?? []), ...(vifs ?? []).map((v) => v.device), ...(disks ?? []).map((d) => d.device)])];
    const timeline = s.timeline?.filter((t) => t.domain === guest.name);
    variant = { ...s, hypervisor: 'none', domains: [{ ...own, role: 'guest', ...(devices.length ? { pci: devices } : {}) }], ...(s.timeline ? { timeline } : {}) };
  } else {
    const hypervisor = s.hypervisor === 'none' ? 'xen' : s.hypervisor;
    variant = { ...s, hypervisor, domains: s.domains.map((d, i) => (i === guestIdx ? guest : d)) };
  }
  const v = validateScenario(variant);
  if (!v.ok) return { ok: false, reason: v.problems.map((p) => `${p.path}: ${p.message}`).join('; ') };
  return { ok: true, scenario: v.scenario };
}

/** One run of a compare: the first guest under `mode`, the scenario rewritten for it. */
export interface ModeRun {
  mode: PagingMode;
  scenario: Scenario;
}

/** A compare's runs in the order of `modes`, and the modes that cannot run (with the reason). Nothing runs yet. */
export function compareRuns(s: Scenario, modes: readonly PagingMode[]): { runs: ModeRun[]; skipped: { mode: PagingMode; reason: string }[] } {
  const runs: ModeRun[] = [];
  const skipped: { mode: PagingMode; reason: string }[] = [];
  for (const mode of modes) {
    const v = modeVariant(s, mode);
    if (v.ok) runs.push({ mode, scenario: v.scenario });
    else skipped.push({ mode, reason: v.reason });
  }
  return { runs, skipped };
}

/** The compare document of `s` from its runs' results (in run order): what `lab compare --json` prints. */
export function compareDocument(
  s: Scenario,
  runs: readonly { mode: PagingMode; results: Results }[],
  skipped: { mode: PagingMode; reason: string }[],
): CompareResult & { skipped: { mode: PagingMode; reason: string }[] } {
  const guest = s.domains.find((d) => d.role !== 'dom0');
  return {
    scenario: s.name,
    workload: guest?.workload.kind ?? 'idle',
    modes: runs.map((r) => r.mode),
    runs: runs.map((r) => ({ mode: r.mode, results: r.results })),
    skipped,
  };
}

export function compareModes(s: Scenario, opts: CompareOptions): CompareResult & { skipped: { mode: PagingMode; reason: string }[] } {
  const { runs, skipped } = compareRuns(s, opts.modes);
  return compareDocument(
    s,
    runs.map((r) => ({ mode: r.mode, results: runScenario(r.scenario, opts) })),
    skipped,
  );
}
