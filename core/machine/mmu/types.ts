/**
 * Records shared by the walker, the TLBs and their callers (QEMU's habit: typed records for a
 * translation's input, result and fault, and a fault that says whether it happened on the final
 * guest-physical address or while walking the guest's tables — the EPT-violation vocabulary).
 */
import type { Counters } from '../counters.js';

/** 64-byte cache lines per 4 KiB frame: a line holds 8 page-table entries. */
export const LINES_PER_FRAME = 64;

/** How the hardware translates for the running vCPU. */
export const enum PagingKind {
  /** One dimension: CR3 holds the machine frame of an L4 that the hardware walks (native, PV, shadow). */
  OneD = 0,
  /** Two dimensions: CR3 holds the gfn of the guest's L4; every guest-physical address goes through EPT. */
  Nested = 1,
}

/**
 * The state of one vCPU that translation depends on. The hypervisor sets it when it schedules a
 * vCPU or when the vCPU loads CR3; the MMU only reads it.
 */
export interface TranslationContext {
  kind: PagingKind;
  /** OneD: mfn of the root table walked. Nested: gfn of the guest's root table. */
  cr3: number;
  /** Nested only: mfn of the EPT PML4. */
  eptRoot: number;
  /** VPID tag (0 for the host, native and PV, which run without VPID). */
  vpid: number;
  /** PCID tag (address space within a VPID). */
  pcid: number;
  /** Counters the walk charges (the running domain's). */
  counters: Counters;
  /**
   * Log-dirty on 1D tables (Xen's shadow log-dirty mode, for a PV or shadowed HVM domain during
   * live migration): frames whose `wp[mfn]` is 1 are mapped read-only by the shadows until their
   * first write, which faults into Xen (`fault`), is logged, and goes on. Absent: no log-dirty.
   */
  logDirty?: LogDirtyHook;
}

/** See TranslationContext.logDirty (core/hv/mm/logDirty.ts sets it). */
export interface LogDirtyHook {
  /** 1: the frame has not been written since the bitmap was last cleaned (its mappings are read-only). */
  readonly wp: Uint8Array;
  /** A write reached a write-protected frame: Xen logs it and makes the mapping writable. */
  fault(mfn: number): void;
}

export const enum FaultKind {
  None = 0,
  /** #PF from the walked (guest or shadow) tables. */
  PageFault = 1,
  /** EPT violation: a guest-physical address had no (or insufficient) EPT mapping. */
  EptViolation = 2,
}

/** x86 #PF error code bits (Intel SDM Vol. 3A §4.7). */
export const PFEC_PRESENT = 1 << 0;
export const PFEC_WRITE = 1 << 1;
export const PFEC_USER = 1 << 2;
export const PFEC_RSVD = 1 << 3;
export const PFEC_INSN = 1 << 4;

/** Filled by a failed translation; preallocated and reused (faults are returned, not thrown). */
export class Fault {
  kind: FaultKind = FaultKind.None;
  /** Faulting linear address. */
  va = 0;
  /** #PF error code (PFEC_*). */
  errorCode = 0;
  /** Level (4..1) of the table whose entry caused a #PF, or of the EPT entry for a violation. */
  level = 0;
  /** EPT violation: the guest-physical address that failed. */
  gpa = 0;
  /** EPT violation: true if it happened translating a guest page-table address, false for the final gpa. */
  duringGuestWalk = false;

  clear(): void {
    this.kind = FaultKind.None;
    this.va = 0;
    this.errorCode = 0;
    this.level = 0;
    this.gpa = 0;
    this.duringGuestWalk = false;
  }
}

/** What served one reference of a traced walk. */
export type RefSource = 'memory' | 'data-cache' | 'psc' | 'nested-tlb';

/** One reference of a traced (reference, side-effect-free) walk: a cell of the 2D grid. */
export interface WalkRef {
  /** 1-based order in the walk. */
  n: number;
  /** Guest level 4..1 whose entry is being located, or 0 for the final guest-physical address (the data). OneD walks use the table level here. */
  guestLevel: number;
  /** Host (EPT) level 4..1 of the entry read, or 0 for the read of the guest entry itself. OneD walks: 0. */
  hostLevel: number;
  /** Machine address read. */
  maddr: number;
  /** Entry read (64-bit, hex). */
  entry: string;
  /** What would serve this reference in the current cache state. */
  source: RefSource;
}

/** Result of a reference translation. */
export interface ReferenceResult {
  ok: boolean;
  /** Machine address of the translated byte (when ok). */
  maddr: number;
  /** Size of the translation in bytes (4 KiB, 2 MiB or 1 GiB; for nested, the smaller of guest and host). */
  pageSize: number;
  writable: boolean;
  user: boolean;
  nx: boolean;
  /** References the walk made (the architectural count, no caches). */
  refs: number;
  faultKind: FaultKind;
  faultLevel: number;
  faultGpa: number;
  faultDuringGuestWalk: boolean;
  /** #PF error code (PFEC_*) of a page fault; for an EPT violation, the access's PFEC_WRITE/USER/INSN bits. */
  faultErrorCode: number;
  trace: WalkRef[];
}

/** Sizes of the modelled TLBs and caches (defaults close to a recent x86 core). */
export interface MmuConfig {
  tlb4k: { entries: number; ways: number };
  tlb2m: { entries: number; ways: number };
  tlb1g: { entries: number; ways: number };
  /** Paging-structure caches (Intel SDM §4.10.3): entries per level, fully associative, LRU. */
  psc: { enabled: boolean; pml4e: number; pdpte: number; pde: number };
  /** Nested TLB: gPA→hPA for the walker (Bhargava et al. 2008). */
  nestedTlb: { enabled: boolean; entries: number; ways: number };
  /** Data cache through which every page-walk reference goes; 64-byte lines. */
  dataCache: { sizeKiB: number; ways: number };
}

export const DEFAULT_MMU_CONFIG: Readonly<MmuConfig> = Object.freeze({
  // Golden Cove-class STLB: ~2048 4K/2M entries, 16-way; 1G entries few.
  tlb4k: { entries: 1536, ways: 12 },
  tlb2m: { entries: 1024, ways: 8 },
  tlb1g: { entries: 16, ways: 4 },
  psc: { enabled: true, pml4e: 4, pdpte: 16, pde: 32 },
  nestedTlb: { enabled: true, entries: 64, ways: 4 },
  dataCache: { sizeKiB: 256, ways: 8 },
});
