// Hand-built results for the Compare view's tests: every number chosen so the expected shapes can
// be worked out on paper.
import type { DomainResults, PagingMode, Results, SweepPoint } from '../../core/api/index.js';
import type { CompareOutcome } from '../../renderer/src/lib/simWorker.svelte.js';

export interface GuestSpec {
  ops?: number;
  guest: number;
  hypervisor: number;
  walk: number;
  histogram?: number[];
  counters?: Record<string, number>;
  byOp?: Record<string, number>;
  byReason?: Record<string, number>;
  walkRefs?: number;
  refsMemory?: number;
  tlbMisses?: number;
  pf?: { guest: number; hidden: number };
}

export function guest(mode: PagingMode, s: GuestSpec, name = 'g1'): DomainResults {
  const ops = s.ops ?? 1000;
  const total = s.guest + s.hypervisor + s.walk;
  const hist = s.histogram ?? [0, 0, 0, 0, 10];
  const walks = hist.reduce((a, b) => a + b, 0);
  const refs = s.walkRefs ?? hist.reduce((a, c, n) => a + c * n, 0);
  return {
    name,
    domid: mode === 'native' ? 0 : 1,
    role: 'guest',
    mode,
    workload: 'update-vs-access',
    guestPageSize: '4k',
    hostPageSize: '4k',
    ops,
    cycles: { total, guest: s.guest, hypervisor: s.hypervisor, walk: s.walk, perOp: total / ops },
    timeUs: { total: total / 3000, guest: s.guest / 3000, hypervisor: s.hypervisor / 3000, perOp: total / ops / 3000 },
    tlb: { lookups: ops, hits: ops - (s.tlbMisses ?? walks), misses: s.tlbMisses ?? walks, missRate: (s.tlbMisses ?? walks) / ops },
    walk: {
      walks,
      refs,
      refsPerWalk: walks ? refs / walks : 0,
      maxRefs: hist.length - 1,
      refsCached: refs - (s.refsMemory ?? 0),
      refsMemory: s.refsMemory ?? 0,
      pscHits: 0,
      nestedTlbHits: 0,
      histogram: hist,
    },
    vmexits: { total: Object.values(s.byReason ?? {}).reduce((a, b) => a + b, 0), byReason: s.byReason ?? {} },
    hypercalls: { total: Object.values(s.byOp ?? {}).reduce((a, b) => a + b, 0), byOp: s.byOp ?? {} },
    ptUpdates: 50,
    pageFaults: s.pf ?? { guest: 5, hidden: 0 },
    counters: { entriesValidated: 0, trapBounces: 0, emulatedWrites: 0, shadowUnsyncs: 0, shadowResyncs: 0, eptViolations: 0, ...s.counters },
  };
}

export function results(mode: PagingMode, g: DomainResults): Results {
  const dom0: DomainResults = { ...guest('pv', { guest: 0, hypervisor: 0, walk: 0, ops: 0 }, 'Domain-0'), role: 'dom0', domid: 0 };
  return {
    scenario: 'cmp',
    seed: 1,
    hypervisor: mode === 'native' ? 'none' : 'xen',
    machine: { memoryMiB: 2048, pcpus: 1 },
    cpu: { profile: 'modern', label: 'Modern', clockGHz: 3 },
    // Native runs have no dom0; the others list it first, so the guest is not at a fixed index.
    domains: mode === 'native' ? [g] : [dom0, g],
    audit: { ok: true, violations: [], checked: { frames: 10, entries: 100 } },
    simulatedCycles: g.cycles.total,
    simulatedMs: g.cycles.total / 3e6,
    wallMs: 1,
    version: 'test',
  };
}

/** Four modes with the shape of C8 at a moderate update rate. */
export const SPECS: Record<PagingMode, GuestSpec> = {
  native: { guest: 20_000, hypervisor: 0, walk: 10_000, histogram: [0, 900, 50, 0, 50] },
  pv: { guest: 20_000, hypervisor: 40_000, walk: 10_000, histogram: [0, 900, 50, 0, 50], byOp: { mmu_update: 100, mmuext_op: 10 }, counters: { entriesValidated: 200, trapBounces: 5 } },
  shadow: { guest: 20_000, hypervisor: 90_000, walk: 10_000, histogram: [0, 900, 50, 0, 50], byReason: { EXCEPTION_NMI: 300, INVLPG: 20 }, counters: { emulatedWrites: 250 }, pf: { guest: 5, hidden: 40 } },
  hap: { guest: 20_000, hypervisor: 5_000, walk: 60_000, histogram: [0, 10, 0, 0, 0, 800, 0, 0, 0, 0, 100, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 90], byReason: { EPT_VIOLATION: 30 }, counters: { eptViolations: 30 } },
};

export function outcome(modes: PagingMode[] = ['native', 'pv', 'shadow', 'hap'], sweep?: { param: string; points: Omit<SweepPoint, 'results'>[] }): CompareOutcome {
  const runs = modes.map((mode) => ({ mode, results: results(mode, guest(mode, SPECS[mode])) }));
  return {
    result: { scenario: 'cmp', workload: 'update-vs-access', modes, runs, skipped: [] },
    sweep: sweep ? { param: sweep.param, points: sweep.points.map((p) => ({ ...p, results: runs[0]!.results })) } : null,
  };
}
