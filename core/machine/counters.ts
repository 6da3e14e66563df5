/**
 * Event counters: numbered indices into one Float64Array per domain (the v86 habit: no objects on
 * the hot path). Results and the "why" tables are built from these.
 *
 * Each list below is the one place a counter, hypercall op or VM-exit reason is declared: its
 * identifier in code (`C.PtUpdates`) and its public name in results (`counters.ptUpdates`), at
 * the index it has in the Float64Array. The index objects (`C`, `Hc`, `Vx`) and the name lists
 * are derived from it, so the two cannot drift apart by position. The public names are a
 * contract (DESIGN.md §6, core/api/results.ts); test/machine/counters.test.ts pins them.
 *
 * The index objects are plain frozen objects with literal number properties, not enums:
 * tsx/vitest/Vite transpile each file alone, and an imported `const enum` becomes a
 * reverse-mapped object in V8's slow dictionary mode (every `c[C.TlbHits]++` a hash lookup).
 * `indexObject` builds them so that they stay in V8's fast mode.
 */

type NameList = readonly (readonly [id: string, name: string])[];

/** `{ Ops: 0, CycGuest: 1, …, Count: n }` with each property's exact literal type. */
type IndexObject<T extends NameList> = {
  readonly [I in keyof T & `${number}` as T[I][0]]: I extends `${infer N extends number}` ? N : never;
} & { readonly Count: T['length'] };

/** The public names, in index order, as a tuple of literals. */
type PublicNames<T extends NameList> = { readonly [I in keyof T]: T[I][1] };

function indexObject<const T extends NameList>(what: string, list: T): IndexObject<T> {
  const ids = new Set<string>();
  const names = new Set<string>();
  list.forEach(([id, name]) => {
    if (ids.has(id) || id === 'Count') throw new Error(`${what}: identifier "${id}" declared twice (or reserved)`);
    if (names.has(name)) throw new Error(`${what}: public name "${name}" declared twice`);
    ids.add(id);
    names.add(name);
  });
  // Object.fromEntries, not `o[id] = i` in a loop: measured under node 20 with
  // %HasFastProperties, 30-odd keyed stores put the object in dictionary mode; fromEntries
  // yields a fast-mode object, and freezing keeps it so.
  const entries: [string, number][] = list.map(([id], i) => [id, i]);
  entries.push(['Count', list.length]);
  return Object.freeze(Object.fromEntries(entries)) as IndexObject<T>;
}

function publicNames<const T extends NameList>(list: T): PublicNames<T> {
  return Object.freeze(list.map(([, name]) => name)) as unknown as PublicNames<T>;
}

/** Event counters: [identifier in code, name in results `counters`]. */
const COUNTERS = [
  ['Ops', 'ops'],
  ['CycGuest', 'cyclesGuest'],
  ['CycHv', 'cyclesHypervisor'],
  ['CycWalk', 'cyclesWalk'],
  ['TlbLookups', 'tlbLookups'],
  ['TlbHits', 'tlbHits'],
  ['TlbMisses', 'tlbMisses'],
  ['Walks', 'walks'],
  ['WalkRefs', 'walkRefs'],
  ['WalkRefsCached', 'walkRefsCached'],
  ['WalkRefsMemory', 'walkRefsMemory'],
  ['PscHits', 'pscHits'],
  ['NtlbHits', 'nestedTlbHits'],
  ['PtUpdates', 'ptUpdates'],
  ['PfGuest', 'guestPageFaults'],
  ['PfHidden', 'hiddenPageFaults'],
  ['Hypercalls', 'hypercalls'],
  ['VmExits', 'vmexits'],
  ['EntriesValidated', 'entriesValidated'],
  ['EmulatedWrites', 'emulatedWrites'],
  ['ShadowUnsyncs', 'shadowUnsyncs'],
  ['ShadowResyncs', 'shadowResyncs'],
  ['ShadowBuilt', 'shadowsBuilt'],
  ['ShadowEvictions', 'shadowEvictions'],
  ['EptViolations', 'eptViolations'],
  ['TlbFlushes', 'tlbFlushes'],
  ['Invlpgs', 'invlpgs'],
  ['CowCopies', 'cowCopies'],
  ['ZeroedPages', 'zeroedPages'],
  ['ContextSwitches', 'contextSwitches'],
  ['PtPagesAllocated', 'ptPagesAllocated'],
  ['TrapBounces', 'trapBounces'],
  ['ExitFlushes', 'exitTlbFlushes'],
  ['Syscalls', 'syscalls'],
  ['UserInstructions', 'userInstructions'],
  ['CycUser', 'cyclesUser'],
  ['EvtchnSends', 'evtchnSends'],
  ['Upcalls', 'upcalls'],
  ['GrantMaps', 'grantMaps'],
  ['GrantUnmaps', 'grantUnmaps'],
  ['GrantCopies', 'grantCopies'],
  ['GrantCopyBytes', 'grantCopyBytes'],
  ['GrantTransfers', 'grantTransfers'],
  ['IommuMaps', 'iommuMaps'],
  ['IommuUnmaps', 'iommuUnmaps'],
  ['IotlbFlushes', 'iotlbFlushes'],
] as const;
export const C = indexObject('counters', COUNTERS);
export type C = (typeof C)[keyof typeof C];
/** Names of the results' `counters` fields, by index. */
export const COUNTER_NAMES = publicNames(COUNTERS);

/** Hypercalls by op: [identifier, Xen's name (xen/include/public/xen.h) in `hypercalls.byOp`]. */
const HYPERCALLS = [
  ['MmuUpdate', 'mmu_update'],
  ['UpdateVaMapping', 'update_va_mapping'],
  ['MmuextOp', 'mmuext_op'],
  ['Multicall', 'multicall'],
  ['Iret', 'iret'],
  ['SetTrapTable', 'set_trap_table'],
  ['StackSwitch', 'stack_switch'],
  ['EventChannelOp', 'event_channel_op'],
  ['GrantTableOp', 'grant_table_op'],
  ['MemoryOp', 'memory_op'],
] as const;
export const Hc = indexObject('hypercalls', HYPERCALLS);
export type Hc = (typeof Hc)[keyof typeof Hc];
export const HYPERCALL_OPS = publicNames(HYPERCALLS);
export type HypercallOp = (typeof HYPERCALL_OPS)[number];

/**
 * VM exits by basic reason: [identifier, Intel SDM Vol. 3D Appendix C name in
 * `vmexits.byReason`].
 */
const VMEXITS = [
  ['ExceptionNmi', 'EXCEPTION_NMI'],
  ['CrAccess', 'CR_ACCESS'],
  ['Invlpg', 'INVLPG'],
  ['EptViolation', 'EPT_VIOLATION'],
  ['Vmcall', 'VMCALL'],
  ['IoInstruction', 'IO_INSTRUCTION'],
  ['ExternalInterrupt', 'EXTERNAL_INTERRUPT'],
] as const;
export const Vx = indexObject('vmexits', VMEXITS);
export type Vx = (typeof Vx)[keyof typeof Vx];
export const VMEXIT_REASONS = publicNames(VMEXITS);
export type VmExitReason = (typeof VMEXIT_REASONS)[number];

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
