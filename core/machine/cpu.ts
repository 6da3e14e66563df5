/**
 * CPU generations (`machine.cpu`): the clock, every cost that differs between generations, the TLB
 * and cache sizes, and the features that change mechanisms (EPT, VPID, PCID, 1 GiB pages, the PV
 * ABI). Explicit `machine.costs` and `machine.mmu` still override a profile's values.
 *
 * Where the numbers come from (each value below names its source; docs/research/issue11-sources.md
 * quotes them):
 *  [SOSP03] Barham et al., "Xen and the Art of Virtualization", SOSP 2003: a 2.4 GHz Xeon (NetBurst),
 *           Linux 2.4.21; lmbench Tables 3–5 (L-UP = native uniprocessor kernel).
 *  [AA06]   Adams & Agesen, "A Comparison of Software and Hardware Techniques for x86
 *           Virtualization", ASPLOS 2006: Table 1 (VM entry and #PF exit, P4 672 and Core 2 Duo),
 *           §6.3 nanobenchmarks on the P4 (native #PF 1,093 cycles; pgfault and ptemod under the
 *           hardware VMM), §6.2 forkwait (native 6.02 s on the P4 at 3.8 GHz, 2.62 s on the Core 2 at
 *           2.66 GHz, for 40,000 forks).
 *  [IOM]    Intel 64 and IA-32 Architectures Optimization Reference Manual (cache latencies by core).
 *  [LEV09]  D. Levinthal, "Performance Analysis Guide for Intel Core i7 and Xeon 5500" (Nehalem
 *           latencies: L1 4, L2 10, L3 ~40 cycles; local DRAM ~60 ns; 64-entry DTLB, 512-entry STLB).
 *  [ANAND09] AnandTech, Xeon X5570 review (2009): Nehalem's VM round trip ~40 % quicker than Penryn's.
 *  [WANG11] Wang et al., "Selective Hardware/Software Memory Virtualization", VEE 2011 (Core i7-860).
 *
 * Software paths (kernel and hypervisor handlers) are given on the P4 and scaled to Core 2 and
 * Nehalem by KERNEL_PATH_CORE2: the same native kernel path (forkwait's fork + exit + wait) took
 * 6.02 s / 40,000 × 3.8 GHz = 571,900 cycles on the P4 and 2.62 s / 40,000 × 2.66 GHz = 174,230
 * cycles on the Core 2 [AA06 §6.2], a ratio of 0.305. This is a property of the core running
 * kernel code, the same for every paging mode.
 */
import { DEFAULT_COSTS, type CostTable } from './cost.js';
import { DEFAULT_MMU_CONFIG, type MmuConfig } from './mmu/types.js';

export const CPU_PROFILES = ['p4-2003', 'core2-2008', 'nehalem-2009', 'modern'] as const;
export type CpuProfileId = (typeof CPU_PROFILES)[number];
export const DEFAULT_CPU: CpuProfileId = 'modern';

export interface CpuFeatures {
  /** EPT (Intel) / NPT: nested paging, the lab's `hap` mode. First shipped with Nehalem (2008/09). */
  ept: boolean;
  /**
   * VPID: TLB entries tagged by virtual processor. Without it every VM entry and VM exit
   * invalidates all linear and combined mappings (Intel SDM Vol. 3 §28.3.3.3), so each exit costs
   * its TLB refill misses too.
   */
  vpid: boolean;
  /** PCID: TLB entries tagged by address space; without it a CR3 load flushes the non-global entries. */
  pcid: boolean;
  /** 1 GiB pages (CPUID PDPE1GB; Westmere and later). */
  page1g: boolean;
  /**
   * The PV ABI of this era's Xen. `x86_32`: the guest kernel runs in ring 1, so system calls trap
   * straight to it and it returns to user mode with iret, with no hypercall (Xen 1.0/2.0, the
   * SOSP 2003 machine). `x86_64`: kernel and user both run in ring 3, so the return to user mode is
   * HYPERVISOR_iret and a system call enters Xen first, which bounces it to the guest kernel.
   */
  pvAbi: 'x86_32' | 'x86_64';
}

export interface CpuProfile {
  id: CpuProfileId;
  label: string;
  /** The machine class the profile stands for, and the papers measured on it. */
  describes: string;
  clockGHz: number;
  /**
   * Cycles per user-mode instruction relative to the Nehalem core the programs' base CPIs were
   * measured on (core/workloads/user.ts): the same program needs more cycles per instruction on
   * NetBurst. Estimate from SPECint2000 base per GHz (P4 ≈ 450, Core 2 ≈ 1,000, Nehalem ≈ 1,100,
   * Skylake-class ≈ 1,400 per GHz), not a paging-mode factor: every mode runs the same program.
   */
  userCpiScale: number;
  costs: Readonly<CostTable>;
  mmu: Readonly<MmuConfig>;
  features: Readonly<CpuFeatures>;
  /** Where each cost, the clock and the TLB sizes come from (key: a CostTable key, `clock`, `mmu`). */
  sources: Readonly<Record<string, string>>;
}

/** Native kernel-path cycles on the Core 2 relative to the P4 (forkwait, see the header). */
export const KERNEL_PATH_CORE2 = 174_230 / 571_900;

const P4_CLOCK = 2.4;
/** Microseconds of a [SOSP03] row to cycles of its 2.4 GHz machine. */
const us = (x: number) => Math.round(x * P4_CLOCK * 1000);

// The P4 (the SOSP 2003 machine class). Native kernel paths from the paper's own native rows,
// minus the hardware part measured separately by [AA06]; VT-x costs from [AA06]'s P4 672 (VT-x
// first shipped in 2005; the profile borrows its costs for shadow runs, as the 2003 Xeon had none).
const P4_FAULT_TRAP = 1093; // [AA06 §6.3] native #PF delivery + iret, P4 672
const P4_VMEXIT = 1931 + 2409; // [AA06 Table 1] #PF VM exit + VM entry, P4 672
const P4: Record<keyof CostTable, [number, string]> = {
  access: [2, '[IOM Table 1-1] NetBurst (Northwood/Prestonia) L1D integer load, 2 cycles'],
  walkRefCached: [7, '[IOM Table 1-1] L2 hit, 7 cycles (256/512 KiB L2)'],
  walkRefMemory: [230, '[IOM] "~12 processor cycles to the bus and back + 6–12 bus cycles" at 133 MHz ×4 FSB, plus DRAM: ~100 ns'],
  walkCacheLookup: [1, 'a small fully associative lookup (no paging-structure caches on this CPU: unused)'],
  pteWrite: [2, 'a store that hits L1'],
  vmexit: [P4_VMEXIT, '[AA06 Table 1] P4 672: page-fault VM exit 1,931 + VM entry 2,409 cycles'],
  hypercall: [us(0.45), 'an int 0x82 into Xen and back: the same path as Linux 2.4’s int 0x80 null syscall, 0.45 µs [SOSP03 Table 3]'],
  pvTrapBounce: [us(1.4 - 1.06), '[SOSP03 Table 5] prot fault Xen 1.40 µs − L-UP 1.06 µs: the only difference is the bounce through Xen'],
  validateEntry: [250, 'estimate: get_page_from_l1e’s two locked cmpxchg (count and type) at ~100 cycles each on NetBurst, plus loads'],
  emulateWrite: [12733 - P4_VMEXIT, '[AA06 §6.3] ptemod under the hardware VMM, 12,733 cycles, minus the exit round trip'],
  shadowPropagate: [120, 'estimate: 3× the modern 40 (a read, check and write of one entry on NetBurst)'],
  shadowFault: [11242 - P4_VMEXIT - P4_FAULT_TRAP, '[AA06 §6.3] pgfault under the hardware VMM 11,242, minus exit and the guest’s own delivery'],
  shadowResyncEntry: [24, 'estimate: 3× the modern 8 (a compare per entry)'],
  eptViolation: [1800, 'no EPT on this CPU (hap is refused); kept for a complete table'],
  hostPageFault: [2 * (us(1.42) - P4_FAULT_TRAP), 'estimate: twice faultHandler ([SOSP03 Table 5] native page fault minus delivery): handle_mm_fault plus get_user_pages’ slow path'],
  faultTrap: [P4_FAULT_TRAP, '[AA06 §6.3] native page fault (delivery and iret), 1,093 cycles on the P4'],
  faultHandler: [us(1.42) - P4_FAULT_TRAP, '[SOSP03 Table 5] native page fault 1.42 µs, minus the delivery [AA06]'],
  faultCheck: [us(1.06) - P4_FAULT_TRAP, '[SOSP03 Table 5] native prot fault 1.06 µs, minus the delivery [AA06]'],
  pageRef: [100, 'estimate: one locked inc/dec of the page count (~100 cycles on NetBurst) per page copied or zapped'],
  zeroPage: [1024, 'estimate: 4096 bytes at ~4 bytes per cycle into L2 (NetBurst: one 16-byte store per clock at best, misses)'],
  copyPage: [2048, 'twice zeroPage: read and write'],
  syscall: [us(0.45), '[SOSP03 Table 3] null call (getppid) L-UP 0.45 µs'],
  contextSwitch: [us(0.77) - 200, '[SOSP03 Table 4] ctxsw 2p/0K L-UP 0.77 µs, minus the CR3 load'],
  cr3Write: [200, 'estimate: a serializing CR3 load that also flushes the untagged TLB'],
  invlpg: [300, 'estimate: one INVLPG, a serializing TLB operation (slow on NetBurst, as cr3Write)'],
  tlbFlush: [200, 'a CR3 reload (as cr3Write)'],
  execBase: [0, 'none beyond what the lab models: exec’s own page faults and a fork already make [SOSP03] exec proc’s native 530 µs (the lab: ~630 µs)'],
  // [SOSP03 Table 3] fork proc L-UP 110 µs, less the native fork + exit + wait of a 1 MiB process
  // the lab models without it (copying and zapping 256 PTEs, two faults, the switches: 31 µs).
  forkBase: [us(110 - 31), '[SOSP03 Table 3] fork proc L-UP 110 µs, less what the lab models separately (page-table copy and zap, faults, switches: 31 µs)'],
  // Event channels and grant tables: no per-operation cycle counts are published for these paths
  // that the lab could cite (the I/O papers report whole-packet profiles), so each is an estimate
  // built from the steps xen/common/event_channel.c and grant_table.c take, at NetBurst's ~100
  // cycles per locked operation (as validateEntry) and 3× the modern figure for plain code.
  evtchnSend: [750, 'estimate: evtchn_send’s channel lock, evtchn_2l_set_pending’s three locked bit operations (~100 cycles each on NetBurst) and vcpu_kick; 3× the modern 250'],
  upcall: [us(1.4 - 1.06) + 600, 'the bounce into the guest’s event callback, as pvTrapBounce ([SOSP03 Table 5] 0.34 µs), plus an estimated 600 for the 2-level scan (xchg of pending_sel, pending & ~mask) and the irq dispatch'],
  grantMap: [1800, 'estimate: map_grant_ref’s maptrack handle, active-entry pin, cmpxchg on the shared entry, get_page/get_page_type and a validated PTE write: ~8 locked operations at ~100 cycles plus lookups; 3× the modern 600'],
  grantUnmap: [1400, 'estimate: unmap_common and unmap_common_complete’s reverse bookkeeping (~1,200 on NetBurst, 3× the modern 400) plus gnttab_flush_tlb’s local flush (tlbFlush, 200)'],
  grantCopyBase: [2400, 'estimate: two acquire_grant_for_copy (pin, cmpxchg, page reference), two map_domain_page and the release; 3× the modern 800'],
  grantCopyPerKiB: [512, 'copyPage / 4: 1 KiB read and written at ~4 bytes per cycle (NetBurst)'],
  iommuMap: [900, 'no VT-d on this CPU (it came with 2008 chipsets); kept for a complete table: 3× the modern 300 estimate'],
  iommuUnmap: [900, 'no VT-d on this CPU; kept for a complete table: 3× the modern 300 estimate'],
  iotlbFlush: [3000, 'no VT-d on this CPU; kept for a complete table: the modern estimate (a device-side wait, not a CPU path)'],
};

/** Software paths, given on the P4, scaled to Core 2 and Nehalem by KERNEL_PATH_CORE2. */
const SOFTWARE_KEYS = new Set<keyof CostTable>([
  'hypercall',
  'pvTrapBounce',
  'validateEntry',
  'emulateWrite',
  'shadowPropagate',
  'shadowFault',
  'shadowResyncEntry',
  'faultTrap',
  'faultHandler',
  'hostPageFault',
  'faultCheck',
  'pageRef',
  'syscall',
  'contextSwitch',
  'execBase',
  'forkBase',
  'evtchnSend',
  'upcall',
  'grantMap',
  'grantUnmap',
  'grantCopyBase',
]);

const SCALED = '× 0.305: native kernel paths take 0.305 of the P4’s cycles on a Core 2 (forkwait, [AA06 §6.2])';

/** A later core: software paths scaled from the P4, then `over` (value and source) on top. */
function laterCore(over: Partial<Record<keyof CostTable, [number, string]>>): Record<keyof CostTable, [number, string]> {
  const out = {} as Record<keyof CostTable, [number, string]>;
  for (const k of Object.keys(P4) as (keyof CostTable)[]) {
    const [v, src] = P4[k];
    out[k] = SOFTWARE_KEYS.has(k) ? [Math.round(v * KERNEL_PATH_CORE2), `P4 ${v} ${SCALED}; P4: ${src}`] : [v, `as the P4: ${src}`];
  }
  return { ...out, ...over };
}

const CORE2_VMEXIT = 1186 + 937;
const CORE2 = laterCore({
  access: [3, '[IOM] Core microarchitecture L1D load, 3 cycles'],
  walkRefCached: [14, '[IOM] Core 2 shared L2, 14 cycles'],
  walkRefMemory: [200, 'estimate: ~75 ns DRAM through the front-side bus at 2.66 GHz'],
  vmexit: [CORE2_VMEXIT, '[AA06 Table 1] Core 2 Duo: page-fault VM exit 1,186 + VM entry 937 cycles'],
  eptViolation: [600, 'no EPT on this CPU (hap is refused); kept for a complete table'],
  iommuMap: [300, 'estimate, as the modern core’s: VT-d (chipset) is the same unit; intel_iommu_map_page’s walk and one entry write'],
  iommuUnmap: [300, 'estimate, as the modern core’s: dma_pte_clear_one’s walk and one entry write'],
  iotlbFlush: [3000, 'estimate, as the modern core’s: a register write and IOMMU_WAIT_OP’s poll, ~1 µs'],
});

const NEHALEM = laterCore({
  access: [4, '[LEV09] L1D load, 4 cycles'],
  walkRefCached: [10, '[LEV09] L2 hit, 10 cycles'],
  walkRefMemory: [40, '[LEV09] L3 hit, ~40 cycles: the page-table lines of a working set of a few GiB fit the 8 MiB L3'],
  vmexit: [Math.round(CORE2_VMEXIT * 0.6), '[ANAND09] a VM round trip ~40 % quicker than the previous generation: Core 2’s 2,123 [AA06] × 0.6'],
  eptViolation: [700, 'estimate: Xen’s p2m lookup and ept_set_entry, software like the shadow handlers'],
  iommuMap: [300, 'estimate, as the modern core’s: VT-d (chipset) is the same unit; intel_iommu_map_page’s walk and one entry write'],
  iommuUnmap: [300, 'estimate, as the modern core’s: dma_pte_clear_one’s walk and one entry write'],
  iotlbFlush: [3000, 'estimate, as the modern core’s: a register write and IOMMU_WAIT_OP’s poll, ~1 µs'],
});

function valuesOf(t: Record<keyof CostTable, [number, string]>): CostTable {
  const out = {} as CostTable;
  for (const k of Object.keys(t) as (keyof CostTable)[]) out[k] = t[k][0];
  return out;
}

function sourcesOf(t: Record<keyof CostTable, [number, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of Object.keys(t) as (keyof CostTable)[]) out[k] = t[k][1];
  return out;
}

export const CPU_PROFILE_TABLE: Readonly<Record<CpuProfileId, CpuProfile>> = {
  'p4-2003': {
    id: 'p4-2003',
    label: 'Pentium 4 / Xeon (NetBurst), 2.4 GHz',
    describes: 'the SOSP 2003 Xen machine (Dell 2650, 2.4 GHz Xeon), with the first-generation VT-x of the P4 672 (Adams & Agesen 2006) for shadow runs',
    clockGHz: P4_CLOCK,
    userCpiScale: 2.4,
    costs: valuesOf(P4),
    mmu: {
      ...DEFAULT_MMU_CONFIG,
      tlb4k: { entries: 64, ways: 64 }, // NetBurst DTLB: 64 entries, fully associative [IOM]
      tlb2m: { entries: 64, ways: 64 }, // the same 64 entries hold large pages in hardware; modelled apart
      tlb1g: { entries: 1, ways: 1 }, // no 1 GiB pages on this CPU
      psc: { enabled: false, pml4e: 4, pdpte: 16, pde: 32 }, // walks go through the data cache only
      nestedTlb: { enabled: false, entries: 64, ways: 4 },
      dataCache: { sizeKiB: 512, ways: 8 }, // 512 KiB L2 (Prestonia Xeon)
    },
    features: { ept: false, vpid: false, pcid: false, page1g: false, pvAbi: 'x86_32' },
    sources: { ...sourcesOf(P4), clock: '[SOSP03 §4] 2.4 GHz Xeon', mmu: '[IOM] NetBurst: 64-entry DTLB; 512 KiB L2' },
  },
  'core2-2008': {
    id: 'core2-2008',
    label: 'Core 2 (Merom/Penryn), 2.66 GHz',
    describes: 'VT-x without EPT or VPID: the Core 2 of Adams & Agesen (2006) and of Xen’s out-of-sync shadow measurements (2008)',
    clockGHz: 2.66,
    userCpiScale: 1.1,
    costs: valuesOf(CORE2),
    mmu: {
      ...DEFAULT_MMU_CONFIG,
      tlb4k: { entries: 256, ways: 4 }, // DTLB1: 256 entries, 4-way [IOM §2.1.4]
      tlb2m: { entries: 32, ways: 4 }, // DTLB1 large pages: 32 entries [IOM §2.1.4]
      tlb1g: { entries: 1, ways: 1 },
      nestedTlb: { enabled: false, entries: 64, ways: 4 },
      dataCache: { sizeKiB: 4096, ways: 16 }, // 4 MiB shared L2
    },
    features: { ept: false, vpid: false, pcid: false, page1g: false, pvAbi: 'x86_64' },
    sources: { ...sourcesOf(CORE2), clock: '[AA06 Table 1] 2.66 GHz Core 2 Duo', mmu: '[IOM §2.1.4] DTLB1 256 entries (32 large), 4 MiB L2' },
  },
  'nehalem-2009': {
    id: 'nehalem-2009',
    label: 'Nehalem (Core i7 / Xeon 5500), 2.8 GHz',
    describes: 'the first EPT and VPID machines: the Core i7-860 of Wang et al. (2011) and the Xeon 5500 of VMware’s EPT study (2009)',
    clockGHz: 2.8,
    userCpiScale: 1.0,
    costs: valuesOf(NEHALEM),
    mmu: {
      ...DEFAULT_MMU_CONFIG,
      tlb4k: { entries: 512, ways: 4 }, // STLB: 512 entries, 4 KiB only [LEV09]
      tlb2m: { entries: 32, ways: 4 }, // L1 DTLB large pages: 32 entries [LEV09]
      tlb1g: { entries: 1, ways: 1 },
      dataCache: { sizeKiB: 256, ways: 8 }, // 256 KiB L2 per core [LEV09]
    },
    features: { ept: true, vpid: true, pcid: false, page1g: false, pvAbi: 'x86_64' },
    sources: { ...sourcesOf(NEHALEM), clock: '[WANG11] Core i7-860, 2.8 GHz', mmu: '[LEV09] 512-entry STLB (4 KiB), 32 large-page DTLB entries, 256 KiB L2' },
  },
  modern: {
    id: 'modern',
    label: 'Modern x86-64 (Skylake and later), 3.0 GHz',
    describes: 'a current server core: EPT, VPID, PCID and 1 GiB pages; the lab’s default costs',
    clockGHz: 3.0,
    userCpiScale: 0.8,
    costs: DEFAULT_COSTS,
    mmu: DEFAULT_MMU_CONFIG,
    features: { ept: true, vpid: true, pcid: true, page1g: true, pvAbi: 'x86_64' },
    sources: { clock: 'a 3 GHz server core (the lab’s reference clock)', mmu: 'Golden Cove-class STLB (DEFAULT_MMU_CONFIG)' },
  },
};

export function cpuProfile(id: CpuProfileId | undefined): CpuProfile {
  return CPU_PROFILE_TABLE[id ?? DEFAULT_CPU];
}
