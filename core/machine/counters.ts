/**
 * Event counters, as an enum indexing one Float64Array per domain (the v86 habit: no objects on
 * the hot path). Results and the "why" tables are built from these.
 */
// A plain frozen object, not an enum: tsx/vitest/Vite transpile each file alone, and an
// imported `const enum` becomes a reverse-mapped object in V8's slow dictionary mode.
export const C = Object.freeze({
  Ops: 0,
  CycGuest: 1,
  CycHv: 2,
  CycWalk: 3,
  TlbLookups: 4,
  TlbHits: 5,
  TlbMisses: 6,
  Walks: 7,
  WalkRefs: 8,
  WalkRefsCached: 9,
  WalkRefsMemory: 10,
  PscHits: 11,
  NtlbHits: 12,
  PtUpdates: 13,
  PfGuest: 14,
  PfHidden: 15,
  Hypercalls: 16,
  VmExits: 17,
  EntriesValidated: 18,
  EmulatedWrites: 19,
  ShadowUnsyncs: 20,
  ShadowResyncs: 21,
  ShadowBuilt: 22,
  ShadowEvictions: 23,
  EptViolations: 24,
  TlbFlushes: 25,
  Invlpgs: 26,
  CowCopies: 27,
  ZeroedPages: 28,
  ContextSwitches: 29,
  PtPagesAllocated: 30,
  TrapBounces: 31,
  Count: 32,
} as const);
export type C = (typeof C)[keyof typeof C];

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
// A plain frozen object, not an enum: tsx/vitest/Vite transpile each file alone, and an
// imported `const enum` becomes a reverse-mapped object in V8's slow dictionary mode.
export const Hc = Object.freeze({
  MmuUpdate: 0,
  UpdateVaMapping: 1,
  MmuextOp: 2,
  Multicall: 3,
  Iret: 4,
  SetTrapTable: 5,
  StackSwitch: 6,
  Count: 7,
} as const);
export type Hc = (typeof Hc)[keyof typeof Hc];

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
// A plain frozen object, not an enum: tsx/vitest/Vite transpile each file alone, and an
// imported `const enum` becomes a reverse-mapped object in V8's slow dictionary mode.
export const Vx = Object.freeze({
  ExceptionNmi: 0,
  CrAccess: 1,
  Invlpg: 2,
  EptViolation: 3,
  Vmcall: 4,
  IoInstruction: 5,
  ExternalInterrupt: 6,
  Count: 7,
} as const);
export type Vx = (typeof Vx)[keyof typeof Vx];

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
