/**
 * Event counters, as an enum indexing one Float64Array per domain (the v86 habit: no objects on
 * the hot path). Results and the "why" tables are built from these.
 */
export const enum C {
  Ops,
  CycGuest,
  CycHv,
  CycWalk,
  TlbLookups,
  TlbHits,
  TlbMisses,
  Walks,
  WalkRefs,
  WalkRefsCached,
  WalkRefsMemory,
  PscHits,
  NtlbHits,
  PtUpdates,
  PfGuest,
  PfHidden,
  Hypercalls,
  VmExits,
  EntriesValidated,
  EmulatedWrites,
  ShadowUnsyncs,
  ShadowResyncs,
  ShadowBuilt,
  ShadowEvictions,
  EptViolations,
  TlbFlushes,
  Invlpgs,
  CowCopies,
  ZeroedPages,
  ContextSwitches,
  PtPagesAllocated,
  TrapBounces,
  Count,
}

export const COUNTER_NAMES: readonly string[] = [
  'ops',
  'cyclesGuest',
  'cyclesHypervisor',
  'cyclesWalk',
  'tlbLookups',
  'tlbHits',
  'tlbMisses',
  'walks',
  'walkRefs',
  'walkRefsCached',
  'walkRefsMemory',
  'pscHits',
  'nestedTlbHits',
  'ptUpdates',
  'guestPageFaults',
  'hiddenPageFaults',
  'hypercalls',
  'vmexits',
  'entriesValidated',
  'emulatedWrites',
  'shadowUnsyncs',
  'shadowResyncs',
  'shadowsBuilt',
  'shadowEvictions',
  'eptViolations',
  'tlbFlushes',
  'invlpgs',
  'cowCopies',
  'zeroedPages',
  'contextSwitches',
  'ptPagesAllocated',
  'trapBounces',
];

/** Hypercalls by op (Xen's names, xen/include/public/xen.h). */
export const HYPERCALL_OPS = [
  'mmu_update',
  'update_va_mapping',
  'mmuext_op',
  'multicall',
  'iret',
  'set_trap_table',
  'stack_switch',
] as const;
export type HypercallOp = (typeof HYPERCALL_OPS)[number];
export const enum Hc {
  MmuUpdate,
  UpdateVaMapping,
  MmuextOp,
  Multicall,
  Iret,
  SetTrapTable,
  StackSwitch,
  Count,
}

/** VM exits by basic reason (Intel SDM Vol. 3D Appendix C names). */
export const VMEXIT_REASONS = [
  'EXCEPTION_NMI',
  'CR_ACCESS',
  'INVLPG',
  'EPT_VIOLATION',
  'VMCALL',
  'IO_INSTRUCTION',
  'EXTERNAL_INTERRUPT',
] as const;
export type VmExitReason = (typeof VMEXIT_REASONS)[number];
export const enum Vx {
  ExceptionNmi,
  CrAccess,
  Invlpg,
  EptViolation,
  Vmcall,
  IoInstruction,
  ExternalInterrupt,
  Count,
}

/** Longest walk the histogram keeps a bucket for (5-level × 5-level nested is 35). */
export const WALK_HIST_MAX = 35;

export class Counters {
  readonly c = new Float64Array(C.Count);
  readonly hypercalls = new Float64Array(Hc.Count);
  readonly vmexits = new Float64Array(Vx.Count);
  /** walkHist[n] = walks that took n references. */
  readonly walkHist = new Float64Array(WALK_HIST_MAX + 1);
  walkMaxRefs = 0;

  reset(): void {
    this.c.fill(0);
    this.hypercalls.fill(0);
    this.vmexits.fill(0);
    this.walkHist.fill(0);
    this.walkMaxRefs = 0;
  }

  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (let i = 0; i < C.Count; i++) out[COUNTER_NAMES[i]!] = this.c[i]!;
    return out;
  }
}
