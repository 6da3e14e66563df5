/**
 * The counter, hypercall and VM-exit names are public: they are the keys of a results document's
 * `counters`, `hypercalls.byOp` and `vmexits.byReason` (DESIGN.md §6, core/api/results.ts), and
 * their order is the order of those keys in `lab run --json`. The expected lists here are written
 * out from that contract (Xen's hypercall names, the SDM's exit reasons), not read back from
 * counters.ts, so renaming, dropping or reordering one there fails here.
 */
import { describe, expect, it } from 'vitest';
import { C, COUNTER_NAMES, Counters, Hc, HYPERCALL_OPS, Vx, VMEXIT_REASONS } from '../../core/machine/counters.js';

/** [identifier in code, name in results `counters`], in index order. */
const EXPECTED_COUNTERS: [string, string][] = [
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
];

/** Xen's hypercall names (xen/include/public/xen.h: __HYPERVISOR_mmu_update …). */
const EXPECTED_HYPERCALLS: [string, string][] = [
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
];

/** Intel SDM Vol. 3D Appendix C basic exit reason names. */
const EXPECTED_VMEXITS: [string, string][] = [
  ['ExceptionNmi', 'EXCEPTION_NMI'],
  ['CrAccess', 'CR_ACCESS'],
  ['Invlpg', 'INVLPG'],
  ['EptViolation', 'EPT_VIOLATION'],
  ['Vmcall', 'VMCALL'],
  ['IoInstruction', 'IO_INSTRUCTION'],
  ['ExternalInterrupt', 'EXTERNAL_INTERRUPT'],
];

const cases = [
  ['counters', C, COUNTER_NAMES, EXPECTED_COUNTERS],
  ['hypercalls.byOp', Hc, HYPERCALL_OPS, EXPECTED_HYPERCALLS],
  ['vmexits.byReason', Vx, VMEXIT_REASONS, EXPECTED_VMEXITS],
] as const;

describe.each(cases)('%s', (_what, index, names, expected) => {
  const idx = index as unknown as Record<string, number>;

  it('has exactly the public names, in order', () => {
    expect([...names]).toEqual(expected.map(([, name]) => name));
  });

  it.each(expected.map(([id, name], i) => [id, i, name] as const))('%s is index %i, named %s', (id, i, name) => {
    expect(idx[id]).toBe(i);
    expect(names[i]).toBe(name);
  });

  it('has no other indices, and Count is the number of names', () => {
    expect(Object.keys(idx)).toEqual([...expected.map(([id]) => id), 'Count']);
    expect(idx.Count).toBe(expected.length);
  });

  it('is frozen, so code cannot renumber it', () => {
    expect(Object.isFrozen(index)).toBe(true);
    expect(Object.isFrozen(names)).toBe(true);
  });
});

describe('Counters.snapshot', () => {
  it('reports each counter under its public name', () => {
    const k = new Counters();
    expect(k.c).toHaveLength(EXPECTED_COUNTERS.length);
    expect(k.hypercalls).toHaveLength(EXPECTED_HYPERCALLS.length);
    expect(k.vmexits).toHaveLength(EXPECTED_VMEXITS.length);
    // A distinct value per index, so a name attached to the wrong slot shows.
    EXPECTED_COUNTERS.forEach((_, i) => (k.c[i] = 100 + i));
    expect(k.snapshot()).toEqual(Object.fromEntries(EXPECTED_COUNTERS.map(([, name], i) => [name, 100 + i])));
    expect(Object.keys(k.snapshot())).toEqual(EXPECTED_COUNTERS.map(([, name]) => name));
  });
});
